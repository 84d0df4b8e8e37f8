using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The bridge's backward entry points for <c>Tensor.Backward</c>, called directly over <see cref="Tensor"/>: the
/// training loop's hot path, where TorchSharp's managed wrappers allocate arrays and pins per call.
/// </summary>
/// <remarks>
/// Both catch libtorch's errors and leave them in TorchSharp's error slot for <see cref="Ensure.NoPendingError"/>
/// (<c>torch::autograd::backward</c> keeps the graph when asked to; <c>Tensor.backward(create_graph: true)</c> does
/// not). Thread-safe as libtorch's engine is; callers run them inside a <see cref="HookPass"/>.
/// </remarks>
internal static class NativeBackward
{
    /// <summary>
    /// <c>t.backward(gradient, retain_graph, create_graph, inputs)</c>; a libtorch error is left pending, never thrown.
    /// </summary>
    public static unsafe void Run(Tensor t, Tensor? gradient, bool retainGraph, bool createGraph, IReadOnlyList<Tensor>? inputs = null)
    {
        if (gradient is null && !retainGraph && !createGraph && inputs is null)
        {
            NativeMethods.THSTensor_backward(t.Handle);
        }
        else
        {
            IntPtr output = t.Handle;
            IntPtr seed = gradient is null ? IntPtr.Zero : gradient.Handle;
            int count = inputs?.Count ?? 0;
            IntPtr[] handles = new IntPtr[count];
            for (int i = 0; i < count; i++)
            {
                handles[i] = inputs![i].Handle;
            }
            fixed (IntPtr* inputHandles = handles)
            {
                NativeMethods.THSAutograd_backward(&output, 1, gradient is null ? null : &seed, gradient is null ? 0 : 1, retainGraph, createGraph, count == 0 ? null : inputHandles, count);
            }
            GC.KeepAlive(inputs);
        }
        GC.KeepAlive(t);
        GC.KeepAlive(gradient);
    }
}
