using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// What <c>RegisterHook</c> returns: PyTorch's <c>RemovableHandle</c>. <see cref="Dispose"/> is <c>h.remove()</c>.
/// It holds the tensor weakly, so it never keeps a tensor (or its graph) alive.
/// </summary>
/// <remarks>Thread-safe: <see cref="Dispose"/> may race with itself and with a backward pass on another thread.</remarks>
internal sealed class TensorHookHandle : IDisposable
{
    private readonly WeakReference<Tensor> tensor;
    private readonly IntPtr tensorImpl;
    private readonly IntPtr gradFn;
    private readonly uint index;
    private readonly long id;
    private int disposed;

    /// <summary>A handle for hook <paramref name="id"/>, at <paramref name="index"/> in the C++ hook list of <paramref name="tensor"/>.</summary>
    public TensorHookHandle(Tensor tensor, IntPtr tensorImpl, IntPtr gradFn, uint index, long id)
    {
        this.tensor = new WeakReference<Tensor>(tensor);
        this.tensorImpl = tensorImpl;
        this.gradFn = gradFn;
        this.index = index;
        this.id = id;
    }

    /// <summary>The hook's id in <see cref="HookTable"/> (for tests).</summary>
    internal long Id => id;

    /// <summary>The hook's index in the tensor's C++ hook list (for the ABI check).</summary>
    internal uint Index => index;

    /// <summary>Removes the hook; later backward passes no longer call it. A second call does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        // From now on libtorch's copies keep the gradient unchanged and no longer keep the closure alive.
        HookTable.Disable(id);
        RegisterHookExtensions.RemoveNative(tensor, tensorImpl, gradFn, index, id);
    }
}
