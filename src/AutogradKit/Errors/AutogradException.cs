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

/// <summary><c>grad can be implicitly created only for scalar outputs</c>: a non-scalar output needs a gradient argument.</summary>
public sealed class NonScalarOutputException : AutogradException
{
    /// <inheritdoc cref="AutogradException(string, string?, Exception?)" />
    public NonScalarOutputException(string message, string? nativeMessage = null, Exception? innerException = null)
        : base(message, nativeMessage, innerException)
    {
    }
}

/// <summary><c>element 0 of tensors does not require grad and does not have a grad_fn</c>.</summary>
public sealed class NoGradFnException : AutogradException
{
    /// <inheritdoc cref="AutogradException(string, string?, Exception?)" />
    public NoGradFnException(string message, string? nativeMessage = null, Exception? innerException = null)
        : base(message, nativeMessage, innerException)
    {
    }
}

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
