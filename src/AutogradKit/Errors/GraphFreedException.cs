namespace AutogradKit;

/// <summary>
/// <c>Trying to backward through the graph a second time …</c>: the graph's saved tensors were freed by an
/// earlier backward pass without <c>retainGraph: true</c>.
/// </summary>
public sealed class GraphFreedException : AutogradException
{
    /// <inheritdoc cref="AutogradException(string, string?, Exception?)" />
    public GraphFreedException(string message, string? nativeMessage = null, Exception? innerException = null)
        : base(message, nativeMessage, innerException)
    {
    }
}
