namespace AutogradKit;

/// <summary><c>element 0 of tensors does not require grad and does not have a grad_fn</c>.</summary>
public sealed class NoGradFnException : AutogradException
{
    /// <inheritdoc cref="AutogradException(string, string?, Exception?)" />
    public NoGradFnException(string message, string? nativeMessage = null, Exception? innerException = null)
        : base(message, nativeMessage, innerException)
    {
    }
}
