using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace AutogradKit.Benchmarks.Interleaved;

/// <summary>
/// The child process <c>pytorch/serve.py</c> (one intra-op thread, <c>OMP_NUM_THREADS=1</c>): asked for
/// <c>CASE SECONDS</c>, it times one block of that PyTorch case and answers its per-call time. Any failure
/// (Python missing, a module that does not import, a missing case, the process gone) becomes a message, never
/// an exception out of the runner: the .NET pairs still run and their PyTorch column stays empty.
/// Not thread-safe.
/// </summary>
public sealed class PyTorchServer : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180);
    private readonly Process _process;
    private readonly Queue<string> _stderrTail;
    private readonly HashSet<string> _cases;

    private PyTorchServer(Process process, Queue<string> stderrTail, HashSet<string> cases, string version)
    {
        this._process = process;
        this._stderrTail = stderrTail;
        this._cases = cases;
        Version = version;
    }

    /// <summary>PyTorch's and Python's versions as the server reports them.</summary>
    public string Version { get; }

    /// <summary>Starts the server and waits for its ready line; null and a <paramref name="error"/> when it cannot.</summary>
    public static PyTorchServer? Start(string python, string? pytorchDir, out string? error)
    {
        if (pytorchDir is null)
        {
            error = "pytorch/serve.py not found above " + AppContext.BaseDirectory;
            return null;
        }
        var info = new ProcessStartInfo(python)
        {
            WorkingDirectory = pytorchDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("serve.py");
        info.Environment["OMP_NUM_THREADS"] = "1";
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            error = $"could not start {python}: {e.Message}";
            return null;
        }
        var tail = new Queue<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (tail)
            {
                tail.Enqueue(e.Data);
                while (tail.Count > 20)
                {
                    tail.Dequeue();
                }
            }
        };
        process.BeginErrorReadLine();
        process.StandardInput.AutoFlush = true;
        JsonElement? ready = ReadJson(process, StartTimeout);
        if (ready is not { } r || !r.TryGetProperty("ready", out _))
        {
            error = $"{python} serve.py did not start{Exited(process)}{Tail(tail)}";
            Kill(process);
            return null;
        }
        var names = r.GetProperty("cases").EnumerateArray().Select(c => c.GetString()!).ToHashSet();
        var moduleErrors = r.GetProperty("errors").EnumerateObject().Select(p => $"{p.Name}: {p.Value.GetString()}").ToList();
        error = moduleErrors.Count == 0 ? null : "serve.py could not load " + string.Join("; ", moduleErrors);
        return new PyTorchServer(process, tail, names, $"PyTorch {r.GetProperty("torch").GetString()}, Python {r.GetProperty("python").GetString()}");
    }

    /// <summary>Whether the server has the case <paramref name="name"/>.</summary>
    public bool Has(string name) => _cases.Contains(name);

    /// <summary>
    /// One timed block of the case <paramref name="name"/> of about <paramref name="seconds"/>: its per-call
    /// time in µs and loop count, or null and an <paramref name="error"/>.
    /// </summary>
    public (double PerCallUs, long Loops)? RunBlock(string name, double seconds, out string? error)
    {
        if (_process.HasExited)
        {
            error = $"the PyTorch server has exited{Exited(_process)}";
            return null;
        }
        _process.StandardInput.WriteLine($"{name} {seconds.ToString("R", CultureInfo.InvariantCulture)}");
        // Calibration at a case's first block runs several blocks; a generous bound, only against a hung child.
        JsonElement? answer = ReadJson(_process, TimeSpan.FromSeconds(Math.Max(120, seconds * 200)));
        if (answer is not { } a)
        {
            // A timed-out read may still be pending on the pipe: the server cannot be used again.
            Kill(_process);
            error = $"no answer from the PyTorch server for {name}{Exited(_process)}{Tail(_stderrTail)}";
            return null;
        }
        if (a.TryGetProperty("error", out JsonElement e))
        {
            error = e.GetString();
            return null;
        }
        error = null;
        return (a.GetProperty("per_call_us").GetDouble(), a.GetProperty("loops").GetInt64());
    }

    /// <summary>Asks the server to quit, then ends it if it does not.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("quit");
                if (!_process.WaitForExit(5000))
                {
                    Kill(_process);
                }
            }
        }
        catch (IOException)
        {
            // the pipe is gone with the process
        }
        _process.Dispose();
    }

    // The next JSON line on stdout (other lines are skipped); null at end of stream or after the timeout.
    private static JsonElement? ReadJson(Process process, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            TimeSpan left = timeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }
            string? line;
            try
            {
                line = process.StandardOutput.ReadLineAsync().WaitAsync(left).GetAwaiter().GetResult();
            }
            catch (TimeoutException)
            {
                return null;
            }
            if (line is null)
            {
                return null;
            }
            if (line.StartsWith('{'))
            {
                try
                {
                    return JsonDocument.Parse(line).RootElement.Clone();
                }
                catch (JsonException)
                {
                    // not one of ours: skip it
                }
            }
        }
    }

    private static string Exited(Process process)
        => process.WaitForExit(200) ? $" (exit code {process.ExitCode})" : "";

    private static string Tail(Queue<string> tail)
    {
        Thread.Sleep(100); // let the last stderr lines arrive
        lock (tail)
        {
            return tail.Count == 0 ? "" : ":\n    " + string.Join("\n    ", tail);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }
}
