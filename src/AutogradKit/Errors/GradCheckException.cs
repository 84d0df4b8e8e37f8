namespace AutogradKit;

/// <summary>
/// <c>Autograd.GradCheck</c> or <c>Autograd.GradGradCheck</c> failed: an analytical gradient that differs from the finite-difference one
/// PyTorch's <c>Jacobian mismatch for output 0 with respect to input …</c> text, then the first element that differs.
/// </summary>
/// <remarks>Instances are immutable and safe to share between threads.</remarks>
public sealed class GradCheckException : AutogradException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full mismatch report.</param>
    /// <param name="inputIndex">Which input's Jacobian differs.</param>
    /// <param name="inputElement">The flat index of the first differing element in that input.</param>
    /// <param name="outputElement">The flat index of the output element.</param>
    /// <param name="numerical">The finite-difference derivative.</param>
    /// <param name="analytical">The derivative autograd computed.</param>
    public GradCheckException(string message, int inputIndex, long inputElement, long outputElement, double numerical, double analytical)
        : base(message)
    {
        InputIndex = inputIndex;
        InputElement = inputElement;
        OutputElement = outputElement;
        Numerical = numerical;
        Analytical = analytical;
    }

    /// <summary>Creates the exception for a failed check that is not an element mismatch (PyTorch's other <c>GradcheckError</c>s).</summary>
    /// <param name="message">PyTorch's text.</param>
    public GradCheckException(string message)
        : this(message, -1, -1, -1, double.NaN, double.NaN)
    {
    }

    /// <summary>Which input's Jacobian differs; −1 when the failure is not an element mismatch.</summary>
    public int InputIndex { get; }

    /// <summary>The flat index of the first differing element in that input.</summary>
    public long InputElement { get; }

    /// <summary>The flat index of the output element.</summary>
    public long OutputElement { get; }

    /// <summary>The finite-difference derivative.</summary>
    public double Numerical { get; }

    /// <summary>The derivative autograd computed.</summary>
    public double Analytical { get; }
}
