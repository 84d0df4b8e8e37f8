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
            ZeroGradOf(TensorArguments.LiveHandle(t, nameof(t)));
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
                    throw new ArgumentNullException(nameof(tensors), $"The tensor at index {index} is null.");
                }
                if (setToNone)
                {
                    LibTorchLoader.EnsureLoaded();
                    NativeMethods.THSTensor_set_grad(TensorArguments.LiveHandle(p, nameof(tensors)), IntPtr.Zero);
                    Ensure.NoPendingError();
                }
                else
                {
                    ZeroGradOf(TensorArguments.LiveHandle(p, nameof(tensors)));
                }
                index++;
            }
        }
    }

    private static void ZeroGradOf(IntPtr tensor)
    {
        LibTorchLoader.EnsureLoaded();
        // THSTensor_grad returns a new handle to the gradient (or null); the TensorImpl is shared, so filling
        // it fills t.grad, and the handle alone is freed afterwards.
        IntPtr grad = NativeMethods.THSTensor_grad(tensor);
        if (grad == IntPtr.Zero)
        {
            Ensure.NoPendingError();
            return;
        }
        try
        {
            // fill_(0), not TorchSharp's zeros_out: an out= op refuses a gradient that requires grad (made
            // with createGraph: true), where Python's t.grad.zero_() works.
            NativeMethods.THSTensor_fill_(grad, ZeroScalar.Handle);
            Ensure.NoPendingError();
        }
        finally
        {
            NativeMethods.THSTensor_dispose(grad);
        }
    }

    /// <summary>One native <c>at::Scalar(0)</c> for the process, made on first use and never freed.</summary>
    private static class ZeroScalar
    {
        internal static readonly IntPtr Handle = Create();

        private static IntPtr Create()
        {
            LibTorchLoader.EnsureLoaded();
            return NativeMethods.THSTorch_int32_to_scalar(0);
        }
    }
}
