using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>t.grad.zero_()</c> and <c>p.grad = None</c> on TorchSharp tensors, without creating a managed
/// wrapper for the gradient.
/// </summary>
/// <remarks>
/// Thread-safety: safe to call from any thread, but not concurrently with a backward pass or another call that
/// writes the same tensors' <c>.grad</c>, as in PyTorch.
/// </remarks>
public static class GradExtensions
{
    extension(Tensor t)
    {
        /// <summary>
        /// <c>t.grad.zero_()</c>: fills <c>t</c>'s gradient with zeros in place; does nothing when <c>t</c> has no
        /// gradient (Python's <c>t.grad is None</c>).
        /// </summary>
        /// <exception cref="ArgumentNullException"><c>t</c> is null.</exception>
        /// <exception cref="ObjectDisposedException"><c>t</c> was disposed.</exception>
        /// <exception cref="AutogradException">libtorch could not zero the gradient.</exception>
        public void ZeroGrad()
        {
            ArgumentNullException.ThrowIfNull(t);
            NativeTensors.ZeroGrad(TensorArguments.Live(t, nameof(t)));
        }
    }

    extension(IEnumerable<Tensor> tensors)
    {
        /// <summary>
        /// Resets the gradient of every tensor: <c>for p in ps: p.grad = None</c> when <paramref name="setToNone"/>
        /// is true, else <c>p.grad.zero_()</c> (tensors without a gradient are left as they are).
        /// </summary>
        /// <param name="setToNone">Drop the gradients (Python's None) instead of filling them with zeros.</param>
        /// <exception cref="ArgumentNullException"><c>tensors</c> or one of its elements is null.</exception>
        /// <exception cref="ObjectDisposedException">One of the tensors was disposed.</exception>
        /// <exception cref="AutogradException">libtorch could not reset a gradient.</exception>
        public void ZeroGrad(bool setToNone = false)
        {
            ArgumentNullException.ThrowIfNull(tensors);
            int index = 0;
            foreach (Tensor p in tensors)
            {
                if (p is null)
                {
                    throw TensorArguments.NullElement(nameof(tensors), index);
                }
                if (setToNone)
                {
                    NativeTensors.ClearGrad(TensorArguments.Live(p, nameof(tensors)));
                }
                else
                {
                    NativeTensors.ZeroGrad(TensorArguments.Live(p, nameof(tensors)));
                }
                index++;
            }
        }
    }
}
