namespace AutogradKit;

/// <summary>The scope <see cref="Autograd.ForwardAD.DualLevel"/> returns: closes its level once.</summary>
/// <remarks>Thread-safe: may be disposed on any thread; only the first dispose closes the level.</remarks>
internal sealed class DualLevelScope(long level) : IDisposable
{
    private int _disposed;

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Autograd.ForwardAD.Exit(level);
        }
    }
}
