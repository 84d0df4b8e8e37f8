namespace AutogradKit;

/// <summary>
/// How <c>Repr</c> prints a tensor: what <c>torch.set_printoptions</c> sets in PyTorch, passed per call instead of
/// held in global state.
/// </summary>
/// <param name="Precision">Digits after the decimal point of floating-point elements (PyTorch's <c>precision</c>).</param>
/// <param name="Threshold">Element count above which the text is summarised with <c>...</c> (PyTorch's <c>threshold</c>);
/// <see cref="int.MaxValue"/> never summarises, like PyTorch's <c>profile='full'</c>.</param>
/// <param name="EdgeItems">Items kept at the start and the end of each summarised dimension (PyTorch's <c>edgeitems</c>).</param>
/// <param name="LineWidth">Characters per line before a row of elements wraps (PyTorch's <c>linewidth</c>).</param>
/// <param name="SciMode"><see langword="true"/> or <see langword="false"/> forces scientific notation on or off;
/// <see langword="null"/> lets the formatter decide from the values, as PyTorch does.</param>
/// <remarks>Immutable, so thread-safe.</remarks>
public sealed record ReprOptions(int Precision = 4, int Threshold = 1000, int EdgeItems = 3, int LineWidth = 80, bool? SciMode = null)
{
    /// <summary>PyTorch's default print options: precision 4, threshold 1000, 3 edge items, 80 columns, automatic notation.</summary>
    public static ReprOptions Default { get; } = new();
}
