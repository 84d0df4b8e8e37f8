using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;

namespace AutogradKit.Benchmarks.Interleaved;

/// <summary>
/// <c>--interleaved [--rounds N] [--block-ms M] [--filter SUBSTRING] [--out PATH] [--python PATH] [--no-pytorch]</c>:
/// drift-proof ratios. This machine's speed drifts by up to 1.8× over minutes, so BenchmarkDotNet's sequential
/// A/B (one benchmark, then the other, then PyTorch minutes later) can split a pair by the drift. Here each
/// round runs one block of about M ms of each contender — AutogradKit, raw TorchSharp and PyTorch (in the
/// <c>pytorch/serve.py</c> child) — back to back, in an order rotated every round, and takes the round's
/// ratios: blocks milliseconds apart see the same machine speed, so the drift cancels in each ratio. Reported
/// per pair: median per-call time of each contender, median and interquartile range of the per-round ratios.
/// Not thread-safe (runs on the calling thread).
/// </summary>
public static class InterleavedMode
{
    private const string DefaultOut = "BenchmarkDotNet.Artifacts/interleaved/interleaved.json";

    /// <summary>Runs the mode with the command line <paramref name="args"/>; the process exit code.</summary>
    public static int Run(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture; // numbers in the console and the file alike
        int rounds = 24;
        int blockMs = 60;
        string? filter = null;
        string output = DefaultOut;
        string python = Environment.GetEnvironmentVariable("PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        bool withPyTorch = true;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--interleaved":
                    break;
                case "--rounds":
                    rounds = PositiveInt(Value(), "--rounds");
                    break;
                case "--block-ms":
                    blockMs = PositiveInt(Value(), "--block-ms");
                    break;
                case "--filter":
                    filter = Value();
                    break;
                case "--out":
                    output = Value();
                    break;
                case "--python":
                    python = Value();
                    break;
                case "--no-pytorch":
                    withPyTorch = false;
                    break;
                default:
                    Console.Error.WriteLine($"--interleaved: unknown option {args[i]}");
                    Console.Error.WriteLine("usage: --interleaved [--rounds N (24, a multiple of 6 keeps the orders balanced)] [--block-ms M (60)] [--filter SUBSTRING] [--out PATH] [--python PATH] [--no-pytorch]");
                    return 2;
            }
        }

        List<PairSpec> pairs = InterleavedPairs.All.Where(pair => Matches(pair, filter)).ToList();
        if (pairs.Count == 0)
        {
            Console.Error.WriteLine($"--interleaved: no pair matches --filter {filter}; pairs: {string.Join(", ", InterleavedPairs.All.Select(x => x.Id))}");
            return 2;
        }
        return Measure(pairs, new RunSettings(rounds, blockMs, filter), output, withPyTorch ? python : null);
    }

    private static int Measure(List<PairSpec> pairs, RunSettings settings, string output, string? python)
    {
        DateTimeOffset started = DateTimeOffset.UtcNow;
        string? loadStart = LoadAverage();
        double seconds = settings.BlockMs / 1000.0;
        Fixtures.OneThread();

        string? pytorchError = null;
        PyTorchServer? server = null;
        if (python is null)
        {
            pytorchError = "--no-pytorch";
        }
        else if (pairs.Any(pair => pair.PyTorch is not null))
        {
            Console.WriteLine($"Starting the PyTorch server ({python} serve.py) …");
            server = PyTorchServer.Start(python, FindPyTorchDir(), out pytorchError);
            if (pytorchError is not null)
            {
                Console.Error.WriteLine($"PyTorch: {pytorchError}");
                Console.Error.WriteLine(server is null ? "The .NET pairs still run; the PyTorch column is —." : "Cases of the other modules still run.");
            }
        }

        var results = new List<PairResult>();
        using (var host = new BenchmarkHost())
        {
            foreach (PairSpec pair in pairs)
            {
                results.Add(MeasurePair(pair, host, server, pytorchError, settings.Rounds, seconds));
            }
        }
        string? pytorchVersion = server?.Version;
        server?.Dispose();

        var report = new InterleavedReport(
            InterleavedReport.SchemaName,
            started,
            DateTimeOffset.UtcNow,
            new MachineInfo(Environment.MachineName, RuntimeInformation.OSDescription, CpuModel(), Environment.ProcessorCount,
                RuntimeInformation.FrameworkDescription, typeof(torch).Assembly.GetName().Version?.ToString() ?? "?",
                pytorchVersion, loadStart, LoadAverage()),
            settings,
            pytorchError,
            results);
        Console.WriteLine();
        Console.WriteLine($"Interleaved: {settings.Rounds} rounds of ~{settings.BlockMs} ms blocks, {report.StartedUtc:yyyy-MM-dd HH:mm}–{report.FinishedUtc:HH:mm} UTC, {Environment.MachineName}");
        Console.WriteLine();
        Console.Write(report.ToMarkdown());
        report.Save(output);
        Console.WriteLine();
        Console.WriteLine($"Written: {Path.GetFullPath(output)}");
        return 0;
    }

    /// <summary>The <paramref name="index"/>-th permutation (mod n!) of <paramref name="items"/>, in lexicographic order.</summary>
    internal static T[] Permutation<T>(IReadOnlyList<T> items, int index)
    {
        var pool = items.ToList();
        int count = 1;
        for (int i = 2; i <= pool.Count; i++)
        {
            count *= i;
        }
        index %= count;
        var result = new T[pool.Count];
        for (int i = 0; i < result.Length; i++)
        {
            count /= pool.Count;
            result[i] = pool[index / count];
            pool.RemoveAt(index / count);
            index %= count;
        }
        return result;
    }

    private static PairResult MeasurePair(PairSpec pair, BenchmarkHost host, PyTorchServer? server, string? serverError, int rounds, double seconds)
    {
        object instance = host.Instance(pair.Class);
        var contenders = new List<Contender>
        {
            new DotNetContender("kit", BenchmarkHost.Action(instance, pair.Kit)),
            new DotNetContender("raw", BenchmarkHost.Action(instance, pair.Raw)),
        };
        string? pytorchError = server is null && pair.PyTorch is not null ? serverError : null;
        if (pair.PyTorch is { } name && server is not null)
        {
            if (server.Has(name))
            {
                contenders.Add(new PyTorchContender(server, name));
            }
            else
            {
                pytorchError = $"no PyTorch case '{name}' in pytorch/bench_*.py";
            }
        }
        foreach (Contender c in contenders.ToList())
        {
            Collect();
            if (!c.Prepare(seconds, out string? error))
            {
                pytorchError = error;
                contenders.Remove(c); // only the PyTorch contender can fail
            }
        }

        var results = new List<RoundResult>();
        for (int round = 0; round < rounds; round++)
        {
            // Every permutation in turn (6 for three contenders), so that each contender runs first, and right
            // after each other one, equally often: a plain rotation put AutogradKit right after PyTorch's block
            // twice as often as raw TorchSharp, and the block after the Python process's ran measurably slower.
            Contender[] order = Permutation(contenders, round);
            var times = new Dictionary<string, double>();
            foreach (Contender c in order)
            {
                Collect();
                if (c.RunBlock(out string? error) is { } us)
                {
                    times[c.Label] = us;
                }
                else
                {
                    pytorchError = error;
                    contenders.Remove(c);
                }
            }
            results.Add(new RoundResult(order.Select(c => c.Label).ToArray(), times["kit"], times["raw"], times.TryGetValue("pytorch", out double py) ? py : null));
        }
        if (pytorchError is not null && pair.PyTorch is not null && server is not null)
        {
            Console.Error.WriteLine($"{pair.Id}: PyTorch column —: {pytorchError}");
        }

        long? pytorchLoops = contenders.OfType<PyTorchContender>().FirstOrDefault()?.Loops;
        var withPyTorch = results.Where(r => r.PytorchUs is not null).ToList();
        var result = new PairResult(
            pair.Id,
            pair.Name,
            $"{pair.Class.Name}.{pair.Kit}",
            $"{pair.Class.Name}.{pair.Raw}",
            pair.RawIsEquivalent,
            pair.PyTorch,
            pytorchError,
            pair.MaxKitRaw,
            pair.MaxKitPyTorch,
            new ContenderValues<long>(contenders[0].Loops, contenders[1].Loops, pytorchLoops),
            new ContenderValues<double>(
                RatioStats.Of(results.Select(r => r.KitUs))!.Median,
                RatioStats.Of(results.Select(r => r.RawUs))!.Median,
                RatioStats.Of(withPyTorch.Select(r => r.PytorchUs!.Value))?.Median),
            RatioStats.Of(results.Select(r => r.KitUs / r.RawUs)),
            RatioStats.Of(withPyTorch.Select(r => r.KitUs / r.PytorchUs!.Value)),
            results);
        Console.WriteLine(
            $"{pair.Id,-18} kit {InterleavedReport.Time(result.MedianUs.Kit),11} raw {InterleavedReport.Time(result.MedianUs.Raw),11} "
            + $"pytorch {InterleavedReport.Time(result.MedianUs.Pytorch),11}   kit/raw {result.KitRaw!.Median:0.000}"
            + (result.KitPytorch is { } kp ? $"  kit/pytorch {kp.Median:0.000}" : "")
            + $"   (loops {result.Loops.Kit}/{result.Loops.Raw}/{(pytorchLoops?.ToString(CultureInfo.InvariantCulture) ?? "—")})");
        return result;
    }

    // Between blocks only, never inside one: each block starts with an empty GC budget and no finalizer backlog
    // (TorchSharp frees native tensors in finalizers).
    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static bool Matches(PairSpec pair, string? filter)
        => filter is null or "*" or ""
            || pair.Id.Contains(filter, StringComparison.OrdinalIgnoreCase)
            || pair.Name.Contains(filter, StringComparison.OrdinalIgnoreCase);

    private static int PositiveInt(string text, string option)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new ArgumentException($"{option} needs a positive integer, not '{text}'");

    // The exe runs from bin/<config>/<tfm>/ under the project; dotnet run may also start it from the repository root.
    private static string? FindPyTorchDir()
    {
        foreach (string start in (string[])[AppContext.BaseDirectory, Environment.CurrentDirectory])
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                foreach (string candidate in (string[])[Path.Combine(d.FullName, "pytorch"), Path.Combine(d.FullName, "tests", "AutogradKit.Benchmarks", "pytorch")])
                {
                    if (File.Exists(Path.Combine(candidate, "serve.py")))
                    {
                        return candidate;
                    }
                }
            }
        }
        return null;
    }

    private static string? CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
