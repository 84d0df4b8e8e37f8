using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>PyTorch's <c>torch.autograd.graph</c>: hooks over several tensors (and, elsewhere, saved tensors).</summary>
    /// <remarks>Thread-safe: each member states its own rules.</remarks>
    public static partial class Graph
    {
        /// <summary>
        /// <c>torch.autograd.graph.register_multi_grad_hook(tensors, fn)</c> (PyTorch 2.x, <c>mode="all"</c>): calls
        /// <paramref name="fn"/> once a backward pass has computed the gradients of every tensor of
        /// <paramref name="tensors"/> that it computes at all, with those gradients in order — null for a tensor the pass
        /// does not reach or does not need (an unused input, one outside <c>Backward(inputs:)</c>).
        /// </summary>
        /// <remarks>
        /// <para>Which tensors a pass waits for is decided as PyTorch decides it: at the first of the hooks' calls in a
        /// pass, by asking the engine which of the tensors' nodes it will execute (<c>_will_engine_execute_node</c>). As in
        /// PyTorch, the grad_fn of a pass's single root is not among them: a multi-grad hook over the tensor
        /// <c>Backward</c> starts from never fires for it.</para>
        /// <para>The gradients passed to <paramref name="fn"/> are disposed when it returns (keep <c>clone()</c>s); it runs
        /// on the autograd thread inside the pass, and an exception it throws fails the pass and reaches the caller of
        /// <c>Backward</c>/<c>Autograd.Grad</c> as itself. Works for AutogradKit's <c>Backward</c> and <c>Autograd.Grad</c>
        /// (and TorchSharp's own <c>backward()</c>). Dispose the handle to remove the hook; registration follows
        /// <c>RegisterHook</c>'s thread rules. The handle keeps a node reference a tensor (an <c>expand_as</c> view a leaf,
        /// as PyTorch's grad accumulator lookup does) until it is disposed.</para>
        /// </remarks>
        /// <param name="tensors">The tensors, each requiring grad.</param>
        /// <param name="fn">Receives the gradients, one a tensor, null where none was computed.</param>
        /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="tensors"/>, an element of it or <paramref name="fn"/> is null.</exception>
        /// <exception cref="ObjectDisposedException">A tensor was disposed.</exception>
        /// <exception cref="AutogradException">A tensor does not require grad (<c>cannot register a hook on a tensor that doesn't require gradient</c>).</exception>
        /// <exception cref="NotSupportedException">The engine's state cannot be read with this libtorch or platform.</exception>
        /// <example>
        /// <code>
        /// using IDisposable h = Autograd.Graph.RegisterMultiGradHook([a, b, c, d], grads =>
        ///     Console.WriteLine(string.Join(", ", grads.Select(g => g is not null))));
        /// c.sum().Backward(retainGraph: true);                    // True, True, True, False
        /// c.sum().Backward(retainGraph: true, inputs: [a]);       // True, False, True, False
        /// </code>
        /// </example>
        public static IDisposable RegisterMultiGradHook(IReadOnlyList<Tensor> tensors, Action<Tensor?[]> fn)
        {
            ArgumentNullException.ThrowIfNull(tensors);
            ArgumentNullException.ThrowIfNull(fn);
            LibTorchLoader.EnsureLoaded();
            foreach (Tensor t in tensors)
            {
                ArgumentNullException.ThrowIfNull(t, nameof(tensors));
                ObjectDisposedException.ThrowIf(t.IsInvalid, t);
                if (!t.requires_grad)
                {
                    throw new AutogradException("cannot register a hook on a tensor that doesn't require gradient");
                }
            }
            HookAbi.EnsureVerified(); // the gradients are collected by tensor hooks
            GraphTaskAbi.EnsureVerified();
            return MultiGradHook.Register(tensors, fn);
        }
    }
}
