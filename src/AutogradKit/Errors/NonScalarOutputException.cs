namespace AutogradKit;

/// <summary><c>grad can be implicitly created only for scalar outputs</c>: a non-scalar output needs a gradient argument.</summary>
public sealed class NonScalarOutputException : AutogradException
{
    /// <inheritdoc cref="AutogradException(string, string?, Exception?)" />
    public NonScalarOutputException(string message, string? nativeMessage = null, Exception? innerException = null)
        : base(message, nativeMessage, innerException)
    {
    }
}
