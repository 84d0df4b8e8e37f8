namespace AutogradKit;

/// <summary>
/// An error found by backward while <see cref="Autograd.DetectAnomaly"/> is on — NaN in a gradient
/// (<c>Function 'SqrtBackward0' returned nan values in its 0th output.</c>) or any other failure of a backward
/// function — with the C# stack of the forward call that made the failing node, where PyTorch prints the Python one.
/// </summary>
/// <remarks>Instances are immutable and safe to share between threads.</remarks>
public sealed class AnomalyException : AutogradException
{
    /// <summary>Creates an exception with PyTorch's message and the forward trace.</summary>
    /// <param name="message">The first line PyTorch prints for this error.</param>
    /// <param name="nativeMessage">libtorch's whole text.</param>
    /// <param name="forwardStackTrace">The C# stack of the forward call that made the failing node, or null.</param>
    /// <param name="nodeName">The failing node's name (<c>SqrtBackward0</c>), or null.</param>
    /// <param name="innerException">The exception TorchSharp raised, if any.</param>
    public AnomalyException(string message, string? nativeMessage, string? forwardStackTrace, string? nodeName = null, Exception? innerException = null)
        : base(message, nativeMessage, innerException)
    {
        ForwardStackTrace = forwardStackTrace;
        NodeName = nodeName;
    }

    /// <summary>
    /// The C# stack (user frames: AutogradKit's and TorchSharp's own are left out) of the forward call that made the
    /// failing node, as <see cref="System.Diagnostics.StackTrace"/> prints it, innermost first; PyTorch's "Traceback of
    /// forward call that caused the error". Null when the node was made while anomaly mode was off.
    /// </summary>
    public string? ForwardStackTrace { get; }

    /// <summary>The name of the backward node that failed (<c>SqrtBackward0</c>), as PyTorch's warning names it ("Error detected in …"), or null.</summary>
    public string? NodeName { get; }
}
