using static TorchSharp.torch;

namespace AutogradKit;

public static partial class TorchFunc
{
    /// <summary>
    /// <c>torch.func.functional_call(module, parameters_and_buffers, (input,))</c>: runs <paramref name="module"/> on
    /// <paramref name="input"/> with the given tensors in place of its parameters and buffers of the same names (the
    /// others stay), so a network can be differentiated or vmapped with respect to its weights:
    /// <c>Vmap(Grad(p =&gt; loss(FunctionalCall(model, p, x))))</c>.
    /// </summary>
    /// <param name="module">The module; its own parameters are restored after the call, also when it throws.</param>
    /// <param name="parametersAndBuffers">Tensors by the names of <c>named_parameters()</c> / <c>named_buffers()</c>.</param>
    /// <param name="input">The module's input.</param>
    /// <returns>The module's output.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">A name is not a parameter or buffer of the module (PyTorch's "Unexpected key(s)").</exception>
    /// <exception cref="NotSupportedException">A parameter is not kept in a field of its module (a custom module that
    /// stores it elsewhere).</exception>
    /// <remarks>Not thread-safe for one module: the module is changed during the call, as PyTorch's is.</remarks>
    public static Tensor FunctionalCall(nn.Module<Tensor, Tensor> module, IReadOnlyDictionary<string, Tensor> parametersAndBuffers, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(parametersAndBuffers);
        ArgumentNullException.ThrowIfNull(input);
        using ModuleTensorSwap swap = ModuleTensorSwap.Apply(module, parametersAndBuffers);
        return module.call(input);
    }
}
