using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace AutogradKit.Benchmarks.Interleaved;

/// <summary>
/// One side of a pair in the interleaved mode: warmed up and calibrated once (<see cref="Prepare"/>), then
/// timed one block at a time. Not thread-safe.
/// </summary>
public abstract class Contender(string label)
{
    /// <summary>"kit", "raw" or "pytorch": the key of this contender in results.</summary>
    public string Label { get; } = label;

    /// <summary>The loop count of every block, set by <see cref="Prepare"/>.</summary>
    public long Loops { get; protected set; }

    /// <summary>Warms up and picks the loop count for blocks of about <paramref name="seconds"/>; false (and <paramref name="failure"/>) on failure.</summary>
    public abstract bool Prepare(double seconds, out string? failure);

    /// <summary>One timed block: the mean time of one call in µs, or null (and <paramref name="failure"/>) on failure.</summary>
    public abstract double? RunBlock(out string? failure);
}

/// <summary>A benchmark method of this process, timed with <see cref="Stopwatch"/> around a plain loop.</summary>
public sealed class DotNetContender(string label, Action action) : Contender(label)
{
    // Long enough for tiered compilation to promote the hot methods before anything counts.
    private static readonly TimeSpan MinimumWarmUp = TimeSpan.FromMilliseconds(300);

    /// <inheritdoc />
    public override bool Prepare(double seconds, out string? failure)
    {
        var total = Stopwatch.StartNew();
        long n = 1;
        double elapsed;
        while ((elapsed = Time(action, n)) < seconds / 4)
        {
            n *= 2;
        }
        n = Scale(n, seconds, elapsed);
        int blocks = 0;
        do
        {
            elapsed = Time(action, n);
            blocks++;
        }
        while (blocks < 2 || total.Elapsed < MinimumWarmUp);
        Loops = Scale(n, seconds, elapsed);
        failure = null;
        return true;
    }

    /// <inheritdoc />
    public override double? RunBlock(out string? failure)
    {
        failure = null;
        // An eighth of a block, untimed: the block right after another contender's (the Python process's above
        // all) starts with cold caches, which would otherwise count against whoever comes next.
        Time(action, Math.Max(1, Loops / 8));
        return Time(action, Loops) / Loops * 1e6;
    }

    private static long Scale(long n, double seconds, double elapsed) => Math.Max(1, (long)Math.Round(n * seconds / elapsed));

    // Fully optimized from the first call, so that the loop around the benchmark never runs at tier 0.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static double Time(Action action, long n)
    {
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < n; i++)
        {
            action();
        }
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}

/// <summary>A PyTorch case, timed by <c>pytorch/serve.py</c> (which calibrates at its first block).</summary>
public sealed class PyTorchContender(PyTorchServer server, string name) : Contender("pytorch")
{
    private double _seconds;

    /// <inheritdoc />
    public override bool Prepare(double seconds, out string? failure)
    {
        this._seconds = seconds;
        return RunBlock(out failure) is not null; // the server warms up and calibrates here; this block is discarded
    }

    /// <inheritdoc />
    public override double? RunBlock(out string? failure)
    {
        var result = server.RunBlock(name, _seconds, out failure);
        if (result is { } r)
        {
            Loops = r.Loops;
            return r.PerCallUs;
        }
        return null;
    }
}
