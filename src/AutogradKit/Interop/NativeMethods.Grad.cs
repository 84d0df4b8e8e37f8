using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>TorchSharp bridge exports used by <see cref="Autograd.Grad"/>, <see cref="Autograd.Functional"/> and <c>Backward</c>.</summary>
internal static partial class NativeMethods
{
    /// <summary>
    /// <c>torch::autograd::backward(tensors, grad_tensors, retain_graph, create_graph, inputs)</c>, inside
    /// TorchSharp's CATCH: a libtorch error is left for <see cref="TakeNativeError"/>, never thrown
    /// across the boundary (unlike <c>THSAutograd_grad</c>, which aborts the process).
    /// </summary>
    [DllImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_backward")]
    internal static extern unsafe void THSAutograd_backward(
        IntPtr* tensors, long tLength,
        IntPtr* gradTensors, long gtLength,
        [MarshalAs(UnmanagedType.U1)] bool retainGraph,
        [MarshalAs(UnmanagedType.U1)] bool createGraph,
        IntPtr* inputs, long iLength);

    /// <summary><c>tensor->backward()</c> inside TorchSharp's CATCH: the scalar backward that frees the graph.</summary>
    [DllImport(Libraries.TorchSharp, EntryPoint = "THSTensor_backward")]
    internal static extern void THSTensor_backward(IntPtr tensor);
}
