using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>PyTorch's <c>Tensor.register_hook</c> on TorchSharp's <see cref="Tensor"/>.</summary>
/// <remarks>
/// Thread-safe: hooks may be registered and removed on any thread, also while AutogradKit's <c>Backward</c> or
/// <c>Autograd.Grad</c> runs through the tensor on another thread (a registration waits for such passes to end, and
/// a hook may itself register hooks). Registering while TorchSharp's own <c>backward()</c> runs through the tensor on
/// another thread is not safe: libtorch does not lock a tensor's hook list.
/// </remarks>
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
        /// (<c>h.remove()</c>) to remove the hook; a second Dispose does nothing. Dispose may race with a backward
        /// pass on another thread: that pass calls the hook or keeps the gradient unchanged, never anything else, and
        /// later passes keep it unchanged. It works whatever happened to the tensor since (an in-place op, <c>detach_()</c>).
        /// </summary>
        /// <remarks>
        /// The gradient passed to the hook is a fresh tensor that is disposed when the hook returns: keep a
        /// <c>clone()</c> to use it later. The hook runs on libtorch's autograd thread (the calling thread for the
        /// CPU, a device thread for CUDA), outside any of the caller's dispose scopes. An exception it throws fails
        /// the backward pass and reaches the caller of AutogradKit's backward functions (<c>Backward</c>,
        /// <c>Autograd.Grad</c>) as itself, and no other call: run by TorchSharp's own <c>backward()</c>, the pass fails
        /// with libtorch's <c>hook 'N' has changed the size of value</c> and the exception is dropped. Hooks are not
        /// called for a gradient that is undefined (an output no path of the pass uses).
        /// <para>Threads: registration may happen on any thread; it waits for the AutogradKit passes running on other
        /// threads to end (and a hook may register hooks without deadlock). libtorch does not lock a tensor's hook
        /// list, so registering while TorchSharp's own <c>backward()</c> runs through the tensor on another thread is
        /// not safe; removing is safe always.</para>
        /// <para>Lifetime: the hook (and what it captures) lives until the handle is disposed, or until nothing can call
        /// it any more: the tensor is disposed, or collected, and no graph holds it. A hook that captures its own
        /// tensor does not keep it alive: once the tensor is unreachable and no graph holds it, both are collected (as
        /// PyTorch's garbage collector collects that cycle); while a graph holds it, both are kept, so the hook still
        /// runs when that graph is backpropagated. A removed hook stays
        /// in libtorch's list as a pass-through until the list is freed or the next hook registered on the tensor
        /// takes its place (when only removed hooks follow it), so registering and removing a hook every step keeps
        /// one pass-through, not one a step.</para>
        /// </remarks>
        /// <param name="hook">Receives the gradient; returns its replacement or null.</param>
        /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="hook"/> is null.</exception>
        /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
        /// <exception cref="AutogradException">The tensor does not require grad.</exception>
        /// <exception cref="PlatformNotSupportedException">Not Linux x64 (the hook ABI is libstdc++'s).</exception>
        /// <example>
        /// <code>
        /// using (IDisposable hook = x.RegisterHook(g => g * 2))   // doubles the gradient flowing into x
        /// {
        ///     (x * x).sum().Backward();                         // x.grad == 4 * x
        /// }
        /// </code>
        /// </example>
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
            TensorOwners.EnsureChecked();
            return Register(t, hook);
        }
    }

    /// <summary>
    /// Registers without the checks of the public member (they were made, or this is the ABI check). Only a tensor
    /// no other thread can reach (the ABI check's own) may skip the <see cref="HookGate"/> (<paramref name="gated"/>
    /// false): the check must not wait for the passes of a caller that waits for it.
    /// </summary>
    internal static TensorHookHandle Register(Tensor t, Func<Tensor, Tensor?> hook, bool gated = true)
    {
        // libtorch does not lock the tensor's hook list: one registration at a time, and none while a pass of
        // another thread may be iterating it.
        (long id, uint index) = gated ? HookGate.Register(() => NativeHooks.Add(t, hook)) : NativeHooks.Add(t, hook);
        return new TensorHookHandle(index, id, HookClosures.Keep(t, id, hook));
    }
}
