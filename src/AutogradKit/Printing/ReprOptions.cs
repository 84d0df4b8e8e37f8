namespace AutogradKit;

/// <summary>
/// How <c>Repr</c> prints a tensor: what <c>torch.set_printoptions</c> sets in PyTorch, passed per call instead of
/// held in global state.
/// </summary>
/// <param name="Precision">Digits after the decimal point of floating-point elements (PyTorch's <c>precision</c>),
/// from 0 to <see cref="MaxPrecision"/>.</param>
/// <param name="Threshold">Element count above which the text is summarised with <c>...</c> (PyTorch's <c>threshold</c>);
/// <see cref="int.MaxValue"/> never summarises, like PyTorch's <c>profile='full'</c>.</param>
/// <param name="EdgeItems">Items kept at the start and the end of each summarised dimension (PyTorch's <c>edgeitems</c>); not negative.</param>
/// <param name="LineWidth">Characters per line before a row of elements wraps (PyTorch's <c>linewidth</c>).</param>
/// <param name="SciMode"><see langword="true"/> or <see langword="false"/> forces scientific notation on or off;
/// <see langword="null"/> lets the formatter decide from the values, as PyTorch does.</param>
/// <remarks>
/// The precision and edge items are checked when the options are made (also through <c>with</c>): PyTorch accepts any
/// number and then fails or prints garbage (a precision of <see cref="int.MaxValue"/> overflows Python's formatting).
/// Immutable, so thread-safe.
/// </remarks>
/// <exception cref="ArgumentOutOfRangeException"><paramref name="Precision"/> is negative or above
/// <see cref="MaxPrecision"/>, or <paramref name="EdgeItems"/> is negative.</exception>
public sealed record ReprOptions(int Precision = 4, int Threshold = 1000, int EdgeItems = 3, int LineWidth = 80, bool? SciMode = null)
{
    /// <summary>
    /// The largest <see cref="Precision"/>: well past the 1074 decimals that the exact value of the smallest double
    /// needs, so every digit a double has can be printed.
    /// </summary>
    public const int MaxPrecision = 10_000;

    private readonly int _precision = CheckPrecision(Precision, nameof(Precision));
    private readonly int _edgeItems = CheckEdgeItems(EdgeItems, nameof(EdgeItems));

    /// <summary>PyTorch's default print options: precision 4, threshold 1000, 3 edge items, 80 columns, automatic notation.</summary>
    public static ReprOptions Default { get; } = new();

    /// <summary>Digits after the decimal point of floating-point elements (PyTorch's <c>precision</c>), 0 to <see cref="MaxPrecision"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or above <see cref="MaxPrecision"/>.</exception>
    public int Precision
    {
        get => _precision;
        init => _precision = CheckPrecision(value, nameof(Precision));
    }

    /// <summary>Items kept at the start and the end of each summarised dimension (PyTorch's <c>edgeitems</c>); not negative.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int EdgeItems
    {
        get => _edgeItems;
        init => _edgeItems = CheckEdgeItems(value, nameof(EdgeItems));
    }

    private static int CheckPrecision(int value, string paramName)
    {
        if (value is < 0 or > MaxPrecision)
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"ReprOptions.Precision must be from 0 to {MaxPrecision}.");
        }
        return value;
    }

    private static int CheckEdgeItems(int value, string paramName)
    {
        if (value < 0)
        {
            throw new ArgumentOutOfRangeException(paramName, value, "ReprOptions.EdgeItems must not be negative.");
        }
        return value;
    }
}
