using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>TorchSharp bridge exports used by <see cref="Autograd.Grad"/> and <see cref="Autograd.Functional"/>.</summary>
internal static partial class NativeMethods
{
    /// <summary>
    /// <c>torch::autograd::backward(tensors, grad_tensors, retain_graph, create_graph, inputs)</c>, inside
    /// TorchSharp's CATCH: a libtorch error is left for <see cref="THSTorch_get_and_reset_last_err"/>, never thrown
    /// across the boundary (unlike <c>THSAutograd_grad</c>, which aborts the process).
    /// </summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSAutograd_backward")]
    internal static extern unsafe void THSAutograd_backward(
        IntPtr* tensors, long tLength,
        IntPtr* gradTensors, long gtLength,
        [MarshalAs(UnmanagedType.U1)] bool retainGraph,
        [MarshalAs(UnmanagedType.U1)] bool createGraph,
        IntPtr* inputs, long iLength);

    /// <summary>A new owning handle to <c>t.grad()</c>, or zero when it is undefined.</summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_grad")]
    internal static extern IntPtr THSTensor_grad(IntPtr tensor);

    /// <summary><c>t.mutable_grad() = *grad</c>, or reset when <paramref name="grad"/> is zero.</summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_set_grad")]
    internal static extern void THSTensor_set_grad(IntPtr tensor, IntPtr grad);

    /// <summary>Frees a handle (not the tensor, when other handles share it).</summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_dispose")]
    internal static extern void THSTensor_dispose(IntPtr tensor);

    /// <summary>The last error a bridge call caught on this thread, cleared; zero when none.</summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSTorch_get_and_reset_last_err")]
    internal static extern IntPtr THSTorch_get_and_reset_last_err();

    /// <summary>Throws the typed exception for an error the last bridge call caught, if any.</summary>
    internal static void ThrowIfNativeError()
    {
        IntPtr error = THSTorch_get_and_reset_last_err();
        if (error != IntPtr.Zero)
        {
            throw NativeErrors.FromNativeText(Marshal.PtrToStringAnsi(error) ?? string.Empty);
        }
    }
}
