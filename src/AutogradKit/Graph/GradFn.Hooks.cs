using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>PyTorch's <c>grad_fn.register_prehook</c> and <c>grad_fn.register_hook</c>.</summary>
public sealed partial class GradFn
{
    /// <summary>
    /// <c>h = fn.register_hook(lambda grad_inputs, grad_outputs: …)</c>: calls <paramref name="hook"/> each time a
    /// backward pass has run this node, with the gradients it computed for its inputs (<c>gradInputs</c>, one a
    /// <see cref="NextFunctions"/> edge, null where an input needs none) and the gradients it received
    /// (<c>gradOutputs</c>, after pre-hooks). A non-null return replaces <c>gradInputs</c>: same length, null entries
    /// stay null, each tensor of the same dtype, device and shape — else the pass fails with PyTorch's
    /// <see cref="AutogradException"/> (<c>hook '&lt;lambda&gt;' has returned an incorrect number of values (got 1, but
    /// expected 2)</c>, <c>can't replace a None gradient with a non-None value</c>, <c>… has changed the size of value</c>).
    /// A returned null entry drops that gradient. Hooks run in registration order, each seeing the previous one's result.
    /// </summary>
    /// <remarks>
    /// <para>Order at a node, as in PyTorch: tensor hooks of the node's outputs (<c>RegisterHook</c> on the tensor),
    /// then pre-hooks (<see cref="RegisterPrehook"/>), the node, then these hooks. On an <c>AccumulateGrad</c>
    /// (reached through <see cref="NextFunctions"/>), <c>gradInputs</c> is empty.</para>
    /// <para>The tensors passed in are fresh wrappers disposed when the hook returns (keep a <c>clone()</c>). The hook
    /// runs on libtorch's autograd thread, outside the caller's dispose scopes. An exception it throws reaches the
    /// caller of AutogradKit's <c>Backward</c>/<c>Autograd.Grad</c> as itself when the pass ends; libtorch has no way
    /// to stop a pass from a node hook, so the pass goes on with undefined gradients out of this node (nothing flows
    /// from it to the nodes after it), where PyTorch stops the pass.</para>
    /// <para>Lifetime and threads: the hook lives until the handle is disposed or libtorch frees the node. Disposing
    /// is safe at any time, also while a pass runs the node on another thread (that pass calls the hook or not; later
    /// ones do not); a removed hook stays in libtorch's list as a pass-through until the node is freed. Registration
    /// waits for AutogradKit passes on other threads to end; registering while TorchSharp's own <c>backward()</c> runs
    /// through the node on another thread is not safe (libtorch does not lock the list).</para>
    /// </remarks>
    /// <param name="hook">Receives (gradInputs, gradOutputs); returns gradInputs' replacement or null.</param>
    /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook (<c>h.remove()</c>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hook"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The tensor this GradFn came from was disposed.</exception>
    /// <exception cref="NotSupportedException">Node hooks were not verified with this libtorch or platform.</exception>
    /// <example>
    /// <code>
    /// using (y.GradFn!.RegisterHook((gradInputs, gradOutputs) => [.. gradInputs.Select(g => g is null ? null : g * 2)]))
    /// {
    ///     y.sum().Backward();   // x.grad doubled
    /// }
    /// </code>
    /// </example>
    public IDisposable RegisterHook(Func<Tensor?[], Tensor?[], Tensor?[]?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        string name = NodeHookResults.NameOf(hook);
        return Register(NodeHookKind.Post, (gradInputs, gradOutputs) =>
            hook(gradInputs, gradOutputs) is { } result ? NodeHookResults.Check(gradInputs, result, name) : null);
    }

    /// <summary>
    /// <c>h = fn.register_prehook(lambda grad_outputs: …)</c>: calls <paramref name="hook"/> with the gradients this node
    /// receives (one per output of the forward function, null where none flowed) before the node runs; a non-null return
    /// replaces them, with the same checks as <see cref="RegisterHook"/>.
    /// </summary>
    /// <remarks>
    /// Runs after the tensor hooks of the node's outputs and before the node; everything else (threads, lifetime,
    /// exceptions, removal) as <see cref="RegisterHook"/>.
    /// </remarks>
    /// <param name="hook">Receives gradOutputs; returns their replacement or null.</param>
    /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hook"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The tensor this GradFn came from was disposed.</exception>
    /// <exception cref="NotSupportedException">Node hooks were not verified with this libtorch or platform.</exception>
    public IDisposable RegisterPrehook(Func<Tensor?[], Tensor?[]?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        string name = NodeHookResults.NameOf(hook);
        return Register(NodeHookKind.Pre, (gradOutputs, _) =>
            hook(gradOutputs) is { } result ? NodeHookResults.Check(gradOutputs, result, name) : null);
    }

    private HookHandle Register(NodeHookKind kind, NodeHookBody body)
    {
        ThrowIfRootDisposed();
        NodeHookAbi.EnsureVerified();
        long id = HookGate.Register(() =>
        {
            // Checked again inside the gate: the root may have been disposed while this waited.
            ThrowIfRootDisposed();
            return NativeNodeHooks.Add(_node, _pin, kind, body);
        });
        return new HookHandle(() => NativeNodeHooks.Disable(id));
    }
}
