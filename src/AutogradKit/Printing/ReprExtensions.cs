using TorchSharp;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>repr(t)</c> for TorchSharp tensors.
/// </summary>
/// <remarks>Thread-safe: printing keeps no state between calls and only reads the tensor.</remarks>
public static class ReprExtensions
{
    extension(torch.Tensor t)
    {
        /// <summary>
        /// Exactly the text PyTorch's <c>repr(t)</c> prints for the same tensor — elements (real and complex dtypes),
        /// summarisation, line wrapping and the <c>device=</c>, <c>size=</c> (meta tensors), <c>dtype=</c>,
        /// <c>grad_fn=</c> / <c>requires_grad=True</c> suffixes.
        /// </summary>
        /// <remarks>
        /// Never fails for platform reasons: where the graph's node names cannot be read (AutogradKit reads them
        /// through libtorch's C++ layout, verified on Linux x64), a tensor with a grad_fn prints
        /// <c>grad_fn=&lt;Unknown&gt;</c> and the rest of PyTorch's text. A view made in no-grad or inference mode
        /// whose base was then modified in place prints <c>grad_fn=&lt;Invalid&gt;</c>, as PyTorch 2.1 and later do
        /// (its <c>t.GradFn</c> throws).
        /// </remarks>
        /// <param name="options">Print options, as <c>torch.set_printoptions</c> would set them; <see cref="ReprOptions.Default"/> when null.</param>
        /// <returns>The text, with <c>\n</c> line breaks as in Python.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="t"/> is null.</exception>
        /// <exception cref="ArgumentOutOfRangeException">Zero edge items would have to summarise a tensor of two or more dimensions, which PyTorch cannot print either (the options' own ranges are checked when they are made).</exception>
        /// <exception cref="NotSupportedException">The tensor's element type is neither real nor complex64/complex128 (quantized types).</exception>
        /// <example>
        /// <code>
        /// Console.WriteLine(torch.eye(2).Repr());                                // tensor([[1., 0.], [0., 1.]]) on two lines
        /// Console.WriteLine(torch.tensor(1.0 / 3).Repr(new ReprOptions(Precision: 2)));   // tensor(0.33, dtype=torch.float64)
        /// </code>
        /// </example>
        public string Repr(ReprOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(t);
            return TensorRepr.Format(t, options ?? ReprOptions.Default);
        }
    }
}
