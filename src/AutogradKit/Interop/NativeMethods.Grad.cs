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

    // THSTensor_grad, THSTensor_set_grad, THSTensor_dispose, THSTorch_get_and_reset_last_err and
    // ThrowIfNativeError are declared once, in NativeMethods.Tensors.cs (merge of the parallel branches).
}
