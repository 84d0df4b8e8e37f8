using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>PyTorch 2.x's <c>Tensor.register_post_accumulate_grad_hook</c> on TorchSharp's <see cref="Tensor"/>.</summary>
/// <remarks>
/// Thread-safe: hooks may be registered and removed on any thread, also while AutogradKit's <c>Backward</c> runs on
/// another thread (a registration waits for such passes, removal never waits).
/// </remarks>
public static class PostAccumulateGradHookExtensions
{
    /// <summary>PyTorch's <c>Tensor.register_post_accumulate_grad_hook</c>.</summary>
    /// <param name="t">A leaf tensor that requires grad.</param>
    extension(Tensor t)
    {
        /// <summary>
        /// <c>h = t.register_post_accumulate_grad_hook(fn)</c>: calls <paramref name="fn"/> with the tensor itself each time
        /// a backward pass has accumulated its gradient into <c>t.grad</c> — the place for an optimizer step fused into
        /// backward (<c>p => p.add_(p.grad, alpha: -lr)</c>). Several hooks run in registration order. <c>Autograd.Grad</c>
        /// never fires it (it accumulates nothing).
        /// </summary>
        /// <remarks>
        /// The tensor passed in is a fresh handle of <paramref name="t"/>, disposed when the hook returns; in-place changes
        /// through it change <paramref name="t"/>. The hook runs inside the backward pass, in its grad mode (grad off
        /// unless <c>createGraph</c>), on libtorch's autograd thread. An exception it throws reaches the caller of
        /// AutogradKit's <c>Backward</c> as itself when the pass ends (libtorch cannot stop a pass from this hook; the
        /// other hooks of the tensor are skipped for that pass). The hooks live until their handles are disposed or the
        /// tensor's autograd metadata is freed; disposing is safe at any time. PyTorch 1.13 has no such hook: this
        /// follows PyTorch 2.x.
        /// </remarks>
        /// <param name="fn">Receives the tensor after its <c>.grad</c> was accumulated.</param>
        /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook (<c>h.remove()</c>).</returns>
        /// <exception cref="ArgumentNullException"><paramref name="fn"/> is null.</exception>
        /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
        /// <exception cref="AutogradException">The tensor does not require grad (<c>cannot register a hook on a tensor that
        /// doesn't require gradient</c>) or is not a leaf (<c>post accumulate grad hooks cannot be registered on non-leaf
        /// tensors</c>).</exception>
        /// <exception cref="NotSupportedException">Hooks were not verified with this libtorch or platform.</exception>
        /// <example>
        /// <code>
        /// using IDisposable h = w.RegisterPostAccumulateGradHook(p => { using (Autograd.NoGrad()) p.sub_(p.grad! * 0.01); });
        /// loss.Backward();   // w is updated as its gradient arrives
        /// </code>
        /// </example>
        public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> fn)
        {
            ArgumentNullException.ThrowIfNull(t);
            ArgumentNullException.ThrowIfNull(fn);
            LibTorchLoader.EnsureLoaded();
            ObjectDisposedException.ThrowIf(t.IsInvalid, t);
            if (!t.requires_grad)
            {
                throw new AutogradException("cannot register a hook on a tensor that doesn't require gradient");
            }
            if (!NativeGraph.IsLeaf(t))
            {
                throw new AutogradException("post accumulate grad hooks cannot be registered on non-leaf tensors");
            }
            NodeHookAbi.EnsureVerified();
            (PostAccumulateGradList list, long key) = HookGate.Register(() =>
            {
                PostAccumulateGradList hooks = NativeNodeHooks.PostAccumulateGradHooks(t);
                return (hooks, hooks.Add(fn));
            });
            return new HookHandle(() => list.Remove(key));
        }
    }
}
