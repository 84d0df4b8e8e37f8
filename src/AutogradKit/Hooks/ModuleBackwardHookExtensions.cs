using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>Module.register_full_backward_hook</c> and <c>register_full_backward_pre_hook</c> on TorchSharp modules.
/// </summary>
/// <remarks>
/// <para>Where they fire: TorchSharp runs a module's forward hooks only when the module is invoked through
/// <c>call(x)</c> (PyTorch's <c>module(x)</c>), not through <c>forward(x)</c>, and these hooks are built on forward hooks
/// as PyTorch's are. So they fire for a module run by <c>module.call(x)</c>, and for every child of a
/// <c>Sequential</c> (its <c>forward</c> and <c>call</c> both run each child through <c>call</c>); they do
/// not fire when the hooked module itself is run by <c>module.forward(x)</c>, nor for a child a custom module's
/// <c>forward</c> runs with <c>child.forward(x)</c> (write <c>child.call(x)</c> there). Only modules with one tensor
/// input and one tensor output (<see cref="nn.Module{T, TResult}"/> of <see cref="Tensor"/>) are supported.</para>
/// <para>Thread-safe: hooks may be added and removed on any thread and a module may run on several threads at once. A
/// module keeps its hooks while it is reachable; dispose the handles to remove them.</para>
/// </remarks>
public static class ModuleBackwardHookExtensions
{
    /// <summary>PyTorch's full backward hooks on a module.</summary>
    /// <param name="module">A <c>torch.nn.Module&lt;Tensor, Tensor&gt;</c> (one tensor in, one out).</param>
    extension(nn.Module module)
    {
        /// <summary>
        /// <c>h = module.register_full_backward_hook(hook)</c>: calls <paramref name="hook"/>(module, gradInput, gradOutput)
        /// each time the gradients with respect to the module's input have been computed in a backward pass: gradInput
        /// holds the gradient of the input (null when the input does not require grad), gradOutput that of the output.
        /// A non-null return replaces gradInput (same length, PyTorch's checks of each tensor); several hooks run in
        /// registration order. Parameter gradients are not affected.
        /// </summary>
        /// <remarks>
        /// Where the hook fires and where not: see <see cref="ModuleBackwardHookExtensions"/> (through <c>call</c>, and
        /// for <c>Sequential</c>'s children; not through <c>forward</c>). The hook wraps the module's input and output in
        /// identity functions (<c>BackwardHookFunctionBackward</c> nodes), as PyTorch does. The tensors passed in are
        /// disposed after the backward step (keep <c>clone()</c>s). An exception the hook throws reaches the caller of
        /// <c>Backward</c> as itself; a wrong count is PyTorch's <c>Backward hook returned an invalid number of
        /// grad_input, got 2, but expected 1</c>.
        /// </remarks>
        /// <param name="hook">Receives (module, gradInput, gradOutput); returns gradInput's replacement or null.</param>
        /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="hook"/> is null.</exception>
        /// <exception cref="ArgumentException">The module is not a <c>Module&lt;Tensor, Tensor&gt;</c>.</exception>
        /// <example>
        /// <code>
        /// Tensor? activationGrad = null;
        /// using (conv.RegisterFullBackwardHook((m, gradInput, gradOutput) => { activationGrad = gradOutput[0]!.clone(); return null; }))
        ///     model.call(image)[0, target].Backward();
        /// </code>
        /// </example>
        public IDisposable RegisterFullBackwardHook(Func<nn.Module, Tensor?[], Tensor?[], Tensor?[]?> hook)
        {
            ArgumentNullException.ThrowIfNull(hook);
            return ModuleBackwardHooks.Add(Hookable(module), hook, null);
        }

        /// <summary>
        /// <c>h = module.register_full_backward_pre_hook(hook)</c> (PyTorch 2.x): calls <paramref name="hook"/>(module,
        /// gradOutput) when the gradient with respect to the module's output reaches it, before the module's own
        /// gradients are computed; a non-null return replaces gradOutput (same length) for the module's backward,
        /// its parameters' gradients and its backward hooks.
        /// </summary>
        /// <remarks>Fires where <see cref="RegisterFullBackwardHook"/> fires; pre-hooks run before the backward hooks of
        /// the same module. A wrong count is <c>Backward pre hook returned an invalid number of grad_output, got 2, but
        /// expected 1</c>.</remarks>
        /// <param name="hook">Receives (module, gradOutput); returns its replacement or null.</param>
        /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="hook"/> is null.</exception>
        /// <exception cref="ArgumentException">The module is not a <c>Module&lt;Tensor, Tensor&gt;</c>.</exception>
        public IDisposable RegisterFullBackwardPreHook(Func<nn.Module, Tensor?[], Tensor?[]?> hook)
        {
            ArgumentNullException.ThrowIfNull(hook);
            return ModuleBackwardHooks.Add(Hookable(module), null, hook);
        }
    }

    private static nn.Module<Tensor, Tensor> Hookable(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module as nn.Module<Tensor, Tensor> ?? throw new ArgumentException(
            $"Full backward hooks support modules with one tensor input and one tensor output (torch.nn.Module<Tensor, Tensor>); {module.GetType().Name} is not one.",
            nameof(module));
    }
}
