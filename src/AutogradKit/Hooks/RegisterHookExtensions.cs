using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>PyTorch's <c>Tensor.register_hook</c> on TorchSharp's <see cref="Tensor"/>.</summary>
/// <remarks>Thread-safe: hooks may be registered and removed on any thread; see <c>RegisterHook</c> for where they run.</remarks>
public static class RegisterHookExtensions
{
    /// <summary>PyTorch's <c>Tensor.register_hook</c>.</summary>
    /// <param name="t">The tensor whose gradient the hook sees; it must require grad (leaf or not).</param>
    extension(Tensor t)
    {
        /// <summary>
        /// <c>h = t.register_hook(fn)</c>: calls <paramref name="hook"/> with the gradient flowing into
        /// <paramref name="t"/> each time a backward pass computes it. Returning a tensor replaces that gradient (it
        /// must have the same shape, dtype and device, or libtorch fails the pass); returning null keeps it. Several
        /// hooks run in registration order, each seeing the previous one's result. Dispose the returned handle
        /// (<c>h.remove()</c>) to remove the hook; a second Dispose does nothing.
        /// </summary>
        /// <remarks>
        /// The gradient passed to the hook is a fresh tensor that is disposed when the hook returns: keep a
        /// <c>clone()</c> to use it later. The hook runs on libtorch's autograd thread (the calling thread for the
        /// CPU, a device thread for CUDA), outside any of the caller's dispose scopes. An exception it throws fails
        /// the backward pass and reaches the caller of AutogradKit's backward functions as itself. Hooks are not
        /// called for a gradient that is undefined (an output no path of the pass uses).
        /// </remarks>
        /// <param name="hook">Receives the gradient; returns its replacement or null.</param>
        /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="hook"/> is null.</exception>
        /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
        /// <exception cref="AutogradException">The tensor does not require grad.</exception>
        /// <exception cref="PlatformNotSupportedException">Not Linux x64 (the hook ABI is libstdc++'s).</exception>
        public IDisposable RegisterHook(Func<Tensor, Tensor?> hook)
        {
            ArgumentNullException.ThrowIfNull(t);
            ArgumentNullException.ThrowIfNull(hook);
            LibTorchLoader.EnsureLoaded();
            ObjectDisposedException.ThrowIf(t.IsInvalid, t);
            if (!t.requires_grad)
            {
                throw new AutogradException("cannot register a hook on a tensor that doesn't require gradient");
            }
            HookAbi.EnsureVerified();
            return Register(t, hook);
        }
    }

    /// <summary>Registers without the checks of the public member (they were made, or this is the ABI check).</summary>
    internal static unsafe TensorHookHandle Register(Tensor t, Func<Tensor, Tensor?> hook)
    {
        IntPtr handle = t.Handle;
        long id = HookTable.Add(hook);
        StdFunction function = StdFunctionHooks.Create(id);
        uint index;
        try
        {
            // Non-throwing: the only TORCH_CHECK is requires_grad, checked by the caller.
            index = NativeMethods.TensorBase_register_hook(handle, &function);
        }
        finally
        {
            // libtorch 2.10 moves from it (null manager), but the caller owns the temporary either way.
            StdFunctionHooks.Destroy(&function);
        }
        return new TensorHookHandle(t, *(IntPtr*)handle, NativeMethods.Autograd_grad_fn_unsafe(handle), index, id);
    }

    /// <summary>
    /// <c>remove_hook(index)</c> when it is safe: libtorch replaces a tensor's hook list (so indices restart and
    /// <c>remove_hook</c> would throw or remove another hook) when its grad_fn changes, e.g. after an in-place op.
    /// Otherwise the disabled copy simply stays until libtorch frees the list.
    /// </summary>
    internal static void RemoveNative(WeakReference<Tensor> tensor, IntPtr tensorImpl, IntPtr gradFn, uint index, long id)
    {
        if (!HookTable.Contains(id) || !tensor.TryGetTarget(out Tensor? t) || t.IsInvalid)
        {
            return;
        }
        unsafe
        {
            IntPtr handle = t.Handle;
            if (*(IntPtr*)handle == tensorImpl && NativeMethods.Autograd_grad_fn_unsafe(handle) == gradFn)
            {
                NativeMethods.TensorBase_remove_hook(handle, index);
            }
        }
    }
}
