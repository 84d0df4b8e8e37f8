using System.Diagnostics;
using System.Globalization;
using AutogradKit.Benchmarks.Interleaved;

namespace AutogradKit.Benchmarks.Profiling;

/// <summary>
/// <c>--run-one ID kit|raw SECONDS</c>: runs one side of one interleaved pair (<see cref="InterleavedPairs"/>) in a
/// plain loop for about SECONDS after a warm-up, and prints the time a call. Nothing else runs in the process, so
/// a sampling profiler (<c>profile/profile.sh</c> runs <c>perf record</c>) sees only that work.
/// </summary>
public static class RunOneMode
{
    /// <summary>Runs the loop; returns the process exit code (2 for bad arguments).</summary>
    public static int Run(string[] args)
    {
        int at = Array.IndexOf(args, "--run-one");
        if (at < 0 || args.Length < at + 4 || args[at + 2] is not ("kit" or "raw")
            || !double.TryParse(args[at + 3], NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
        {
            Console.Error.WriteLine("usage: --run-one ID kit|raw SECONDS   (ID: " + string.Join(", ", InterleavedPairs.All.Select(p => p.Id)) + ")");
            return 2;
        }
        PairSpec? pair = InterleavedPairs.All.FirstOrDefault(p => string.Equals(p.Id, args[at + 1], StringComparison.OrdinalIgnoreCase));
        if (pair is null)
        {
            Console.Error.WriteLine($"no pair {args[at + 1]}; one of: {string.Join(", ", InterleavedPairs.All.Select(p => p.Id))}");
            return 2;
        }
        using var host = new BenchmarkHost();
        Action action = BenchmarkHost.Action(host.Instance(pair.Class), args[at + 2] == "kit" ? pair.Kit : pair.Raw);
        var warmUp = Stopwatch.StartNew();
        while (warmUp.Elapsed.TotalSeconds < Math.Min(1.0, seconds / 4))
        {
            action();
        }
        long calls = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            action();
            calls++;
        }
        double perCallUs = clock.Elapsed.TotalMicroseconds / calls;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{pair.Id} {args[at + 2]}: {perCallUs:F3} us/call over {calls} calls"));
        return 0;
    }
}
