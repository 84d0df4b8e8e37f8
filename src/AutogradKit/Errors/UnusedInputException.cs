namespace AutogradKit;

/// <summary>
/// <c>One of the differentiated Tensors appears to not have been used in the graph …</c>: pass
/// <c>allowUnused: true</c> to get null for such inputs instead.
/// </summary>
public sealed class UnusedInputException : AutogradException
{
    /// <inheritdoc cref="AutogradException(string, string?, Exception?)" />
    public UnusedInputException(string message, string? nativeMessage = null, Exception? innerException = null)
        : base(message, nativeMessage, innerException)
    {
    }
}
