namespace AutogradKit;

/// <summary>
/// <c>Mismatch in shape: grad_output[0] has a shape of torch.Size([4]) and output[0] has a shape of torch.Size([3]).</c>
/// </summary>
public sealed class GradientShapeException : AutogradException
{
    /// <inheritdoc cref="AutogradException(string, string?, Exception?)" />
    public GradientShapeException(string message, string? nativeMessage = null, Exception? innerException = null)
        : base(message, nativeMessage, innerException)
    {
    }
}
