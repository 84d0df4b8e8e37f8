using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>PyTorch's <c>detach()</c>, <c>requires_grad_()</c> and <c>retain_grad()</c> on TorchSharp tensors.</summary>
/// <remarks>
/// Thread-safety: safe to call from any thread, but not concurrently with other writes to the same tensor's
/// autograd fields, as in PyTorch.
/// </remarks>
public static class RequiresGradExtensions
{
    /// <summary>PyTorch's text (python_variable_methods.cpp) for <c>requires_grad_(False)</c> on a non-leaf.</summary>
    internal const string NonLeafMessage =
        "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().";

    extension(Tensor t)
    {
        /// <summary>
        /// <c>t.detach()</c>: a new tensor sharing <c>t</c>'s storage, outside any graph (<c>requires_grad</c> false,
        /// no grad_fn). Writes through either are seen by both.
        /// </summary>
        /// <returns>A new tensor the caller owns and disposes.</returns>
        /// <exception cref="ArgumentNullException"><c>t</c> is null.</exception>
        /// <exception cref="ObjectDisposedException"><c>t</c> was disposed.</exception>
        public Tensor Detach()
        {
            ArgumentNullException.ThrowIfNull(t);
            LibTorchLoader.EnsureLoaded();
            TensorArguments.Live(t, nameof(t));
            return Ensure.Run(t.detach);
        }

        /// <summary>
        /// <c>t.requires_grad_(requiresGrad)</c>: sets whether autograd records operations on the leaf <c>t</c>, in place.
        /// </summary>
        /// <param name="requiresGrad">Whether <c>t</c> requires grad.</param>
        /// <returns><c>t</c> itself.</returns>
        /// <exception cref="ArgumentNullException"><c>t</c> is null.</exception>
        /// <exception cref="ObjectDisposedException"><c>t</c> was disposed.</exception>
        /// <exception cref="AutogradException">
        /// <paramref name="requiresGrad"/> is false and <c>t</c> is not a leaf (<c>you can only change requires_grad
        /// flags of leaf variables. …</c>; use <c>Detach()</c>), or it is true and <c>t</c>'s dtype is not floating
        /// point or complex.
        /// </exception>
        public Tensor RequiresGrad(bool requiresGrad = true)
        {
            ArgumentNullException.ThrowIfNull(t);
            LibTorchLoader.EnsureLoaded();
            TensorArguments.Live(t, nameof(t));
            // libtorch silently keeps a non-leaf's grad_fn (so requires_grad stays true); PyTorch refuses in Python.
            if (!requiresGrad && !NativeTensors.IsLeaf(t))
            {
                throw new AutogradException(NonLeafMessage);
            }
            Ensure.Run(() => t.requires_grad = requiresGrad);
            return t;
        }

        /// <summary>
        /// <c>t.retain_grad()</c>: makes backward fill <c>.grad</c> of the non-leaf <c>t</c> too; nothing for a leaf.
        /// </summary>
        /// <exception cref="ArgumentNullException"><c>t</c> is null.</exception>
        /// <exception cref="ObjectDisposedException"><c>t</c> was disposed.</exception>
        /// <exception cref="AutogradException"><c>t</c> does not require grad (<c>can't retain_grad on Tensor that has requires_grad=False</c>).</exception>
        public void RetainGrad()
        {
            ArgumentNullException.ThrowIfNull(t);
            LibTorchLoader.EnsureLoaded();
            TensorArguments.Live(t, nameof(t));
            Ensure.Run(t.retain_grad);
        }
    }
}
