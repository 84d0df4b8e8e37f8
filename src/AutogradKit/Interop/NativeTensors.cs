using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Typed calls on a tensor's autograd fields (<c>.grad</c>, <c>is_leaf</c>) through TorchSharp's bridge, without a
/// managed wrapper for the gradient. Each native call is made here once; a libtorch error becomes a typed exception
/// through <see cref="Ensure"/>.
/// </summary>
/// <remarks>Thread-safety: as libtorch's own accessors; callers must not race a backward pass that writes the same
/// <c>.grad</c>, as in PyTorch.</remarks>
internal static class NativeTensors
{
    /// <summary><c>t.grad.zero_()</c> in place; nothing when <c>t.grad</c> is undefined.</summary>
    public static void ZeroGrad(Tensor t)
    {
        LibTorchLoader.EnsureLoaded();
        // THSTensor_grad returns a new handle to the gradient (or null); the TensorImpl is shared, so filling
        // it fills t.grad, and the handle alone is freed afterwards.
        IntPtr grad = NativeMethods.THSTensor_grad(t.Handle);
        GC.KeepAlive(t);
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

    /// <summary><c>t.grad = None</c>.</summary>
    public static void ClearGrad(Tensor t)
    {
        LibTorchLoader.EnsureLoaded();
        NativeMethods.THSTensor_set_grad(t.Handle, IntPtr.Zero);
        GC.KeepAlive(t);
        Ensure.NoPendingError();
    }

    /// <summary><c>t.is_leaf</c>.</summary>
    public static bool IsLeaf(Tensor t)
    {
        LibTorchLoader.EnsureLoaded();
        bool leaf = NativeMethods.THSTensor_is_leaf(t.Handle);
        GC.KeepAlive(t);
        Ensure.NoPendingError();
        return leaf;
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
