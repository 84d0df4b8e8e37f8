using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>torch.nn.modules._functions.BackwardHookFunction</c>: an identity whose node
/// (<c>BackwardHookFunctionBackward</c>) marks where a module's inputs or outputs enter the graph, so that module
/// backward hooks can be hung on it as node hooks.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
internal sealed class BackwardHookFunction : AutogradFunction
{
    /// <summary>The one instance (the function has no state).</summary>
    public static readonly BackwardHookFunction Instance = new();

    private BackwardHookFunction()
    {
    }

    /// <inheritdoc />
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        ctx.MarkNonDifferentiable([.. inputs.Where(t => !t.requires_grad)]);
        return inputs;
    }

    /// <inheritdoc />
    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) => gradOutputs;
}
