namespace AutogradKit;

/// <summary>
/// An error raised by autograd: libtorch's own, or one PyTorch raises in Python for the same mistake.
/// <see cref="Exception.Message"/> is the first line PyTorch prints, never C++ stack frames; the full
/// native text, when there is one, is in <see cref="NativeMessage"/>.
/// </summary>
/// <remarks>Instances are immutable and safe to share between threads.</remarks>
public class AutogradException : InvalidOperationException
{
    /// <summary>Creates an exception with PyTorch's message.</summary>
    /// <param name="message">The first line PyTorch prints for this error.</param>
    /// <param name="nativeMessage">libtorch's whole text, stack frames included, if it raised the error.</param>
    /// <param name="innerException">The exception TorchSharp raised, if any.</param>
    public AutogradException(string message, string? nativeMessage = null, Exception? innerException = null)
        : base(message, innerException)
    {
        NativeMessage = nativeMessage;
    }

    /// <summary>libtorch's complete error text, or null when the error was found before calling libtorch.</summary>
    public string? NativeMessage { get; }
}
