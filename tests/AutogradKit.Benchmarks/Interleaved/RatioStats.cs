namespace AutogradKit.Benchmarks.Interleaved;

/// <summary>
/// Median and interquartile range (25th–75th percentile, linear interpolation between order statistics, as
/// numpy's default) of a set of per-round values. Immutable.
/// </summary>
/// <param name="Median">The 50th percentile.</param>
/// <param name="Q25">The 25th percentile.</param>
/// <param name="Q75">The 75th percentile.</param>
public sealed record RatioStats(double Median, double Q25, double Q75)
{
    /// <summary>The statistics of <paramref name="values"/>; null when there are none.</summary>
    public static RatioStats? Of(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length == 0 ? null : new RatioStats(Percentile(sorted, 0.5), Percentile(sorted, 0.25), Percentile(sorted, 0.75));
    }

    /// <summary>The <paramref name="p"/>-quantile (0…1) of ascending <paramref name="sorted"/> values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        double position = p * (sorted.Count - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }
}
