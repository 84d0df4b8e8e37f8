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
        /// Exactly the text PyTorch's <c>repr(t)</c> prints for the same tensor — elements, summarisation, line
        /// wrapping and the <c>device=</c>, <c>dtype=</c>, <c>grad_fn=</c> / <c>requires_grad=True</c> suffixes.
        /// </summary>
        /// <param name="options">Print options, as <c>torch.set_printoptions</c> would set them; <see cref="ReprOptions.Default"/> when null.</param>
        /// <returns>The text, with <c>\n</c> line breaks as in Python.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="t"/> is null.</exception>
        /// <exception cref="ArgumentOutOfRangeException">An option is negative (precision, edge items), or zero edge items would have to summarise a tensor of two or more dimensions, which PyTorch cannot print either.</exception>
        /// <exception cref="NotSupportedException">The tensor's element type is not a real type (complex, quantized).</exception>
        public string Repr(ReprOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(t);
            return TensorRepr.Format(t, options ?? ReprOptions.Default);
        }
    }
}
