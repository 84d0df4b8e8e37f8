using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>DelayedError</c> node, which <c>@once_differentiable</c> puts after a backward run without grad: its
/// outputs look differentiable, and differentiating them raises PyTorch's error.
/// </summary>
/// <remarks>Thread-safety: stateless.</remarks>
internal sealed class DelayedError : AutogradFunction
{
    /// <summary>PyTorch's text (torch/autograd/function.py, <c>once_differentiable</c>).</summary>
    internal const string Message = "trying to differentiate twice a function that was marked with @once_differentiable";

    private static readonly DelayedError Instance = new();

    // PyTorch 1.13 names the node's Python type `Error` (torch._C._functions.DelayedError).
    internal override string NodeName => "Error";

    /// <summary>
    /// <paramref name="gradients"/> as they are, unless grad is enabled and a gradient output requires grad: then
    /// detached copies that require grad, routed through a <c>DelayedError</c> node.
    /// </summary>
    public static Tensor?[] Wrap(Tensor?[] gradients, Tensor?[] gradOutputs)
    {
        if (!torch.is_grad_enabled() || !gradOutputs.Any(g => g is not null && g.requires_grad))
        {
            return gradients;
        }
        // Only a floating point or complex gradient can require grad; any other is left for the engine to refuse.
        int[] defined = [.. Enumerable.Range(0, gradients.Length)
            .Where(i => gradients[i] is { } g && TensorArguments.HasDifferentiableDtype(g))];
        if (defined.Length == 0)
        {
            return gradients;
        }
        Tensor[] fakes = [.. defined.Select(i => gradients[i]!.detach().requires_grad_(true))];
        Tensor[] wrapped = Instance.Apply(fakes);
        var result = (Tensor?[])gradients.Clone();
        for (int k = 0; k < defined.Length; k++)
        {
            result[defined[k]] = wrapped[k];
        }
        return result;
    }

    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs) => inputs;

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) => throw new AutogradException(Message);
}
