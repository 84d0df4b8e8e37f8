using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Reentrant checkpointing, PyTorch's <c>CheckpointFunction</c>: a custom function whose forward runs f without a graph
/// and saves the inputs, and whose backward reruns f on detached copies of them under grad mode (with the forward's
/// random state) and runs a backward pass through that new graph, inside the pass that called it.
/// </summary>
/// <remarks>Thread-safety: one instance per call; used by one pass at a time.</remarks>
internal sealed class CheckpointFunction(Func<Tensor[], Tensor> f, bool preserveRngState) : AutogradFunction
{
    internal const string NotCompatibleWithGrad =
        "Checkpointing is not compatible with .grad() or when an `inputs` parameter is passed to .backward(). Please use .backward() and do not pass its `inputs` argument.";

    internal const string NoInputRequiresGrad = "None of the inputs have requires_grad=True. Gradients will be None";

    private Tensor? _rngState;

    /// <inheritdoc />
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        if (!inputs.Any(t => t.requires_grad))
        {
            UserWarnings.Warn(NoInputRequiresGrad);
        }
        _rngState = CheckpointRng.Capture(preserveRngState);
        ctx.SaveForBackward(inputs);
        return [f(inputs)];
    }

    /// <inheritdoc />
    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs)
    {
        if (!NativeEngine.IsCheckpointValid)
        {
            throw new AutogradException(NotCompatibleWithGrad);
        }
        Tensor[] detached = [.. ctx.SavedTensors.Select(t => t!.detach().requires_grad_(t.requires_grad))];
        Tensor output = CheckpointRng.Replay(_rngState, () =>
        {
            using (Autograd.EnableGrad())
            {
                return f(detached);
            }
        });
        if (!output.requires_grad)
        {
            throw new AutogradException("none of output has requires_grad=True, this checkpoint() is not necessary");
        }
        output.Backward(gradOutputs[0]);
        return [.. detached.Select(d => d.grad)];
    }
}
