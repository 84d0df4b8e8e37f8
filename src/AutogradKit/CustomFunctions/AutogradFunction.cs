using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>torch.autograd.Function</c> as a C# class: override <see cref="Forward"/> and <see cref="Backward"/>
/// (and <see cref="Jvp"/> for forward-mode AD), then call <see cref="Apply"/>. Non-tensor arguments are constructor
/// parameters or fields.
/// </summary>
/// <example>
/// <code>
/// sealed class Exp : AutogradFunction
/// {
///     protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
///     { var result = inputs[0].exp(); ctx.SaveForBackward(result); return [result]; }
///     protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs)
///         => [gradOutputs[0]! * ctx.SavedTensors[0]];
/// }
/// Tensor y = new Exp().Apply(x)[0];          // y.GradFn.Name == "ExpBackward"
/// </code>
/// </example>
/// <remarks>
/// <para>The graph node of a recorded call is named as PyTorch names it: the class name followed by <c>Backward</c>.
/// <see cref="Backward"/> runs inside libtorch's engine, on the thread of the pass (under grad mode when the pass
/// creates a graph, so double backward works). An exception thrown by <see cref="Forward"/>, <see cref="Backward"/>
/// or <see cref="Jvp"/> reaches the caller of <see cref="Apply"/>, <c>Backward</c> or <c>Autograd.Grad</c> as itself.</para>
/// <para>Ownership: tensors created inside <see cref="Forward"/>, <see cref="Backward"/> and <see cref="Jvp"/> are
/// disposed when they return (a dispose scope around each), apart from what <see cref="Apply"/> returns; a tensor
/// that must outlive them must be created outside or moved out of the scope.</para>
/// <para>Thread-safety: an instance keeps no state of its own between calls; <see cref="Apply"/> may run on several
/// threads at once when the overrides allow it.</para>
/// </remarks>
public abstract class AutogradFunction
{
    private const string NoBackward =
        "You must implement either the backward or vjp method for your custom autograd.Function to use it with backward mode AD.";

    private const string NoJvp = "You must implement the jvp function for custom autograd.Function to use it with forward mode AD.";

    /// <summary>
    /// <c>forward(ctx, *inputs)</c>: computes the outputs from <paramref name="inputs"/>; runs with grad disabled.
    /// </summary>
    protected abstract Tensor[] Forward(FunctionContext ctx, Tensor[] inputs);

    /// <summary>
    /// <c>backward(ctx, *grad_outputs)</c>: one gradient per input (null for none) from one per output.
    /// </summary>
    /// <exception cref="NotImplementedException">Not overridden, when a backward pass reaches the function (PyTorch's message).</exception>
    protected virtual Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) => throw new NotImplementedException(NoBackward);

    /// <summary>
    /// <c>jvp(ctx, *input_tangents)</c>: one output tangent per output (null for none) from the inputs' tangents (null
    /// where an input has none), inside <see cref="Autograd.ForwardAD.DualLevel"/>.
    /// </summary>
    /// <exception cref="NotImplementedException">Not overridden, when an input has a tangent (PyTorch's message).</exception>
    protected virtual Tensor?[] Jvp(FunctionContext ctx, Tensor?[] inputTangents) => throw new NotImplementedException(NoJvp);

    /// <summary>
    /// <c>@once_differentiable</c>: <see cref="Backward"/> runs without grad, and differentiating its result raises
    /// PyTorch's error.
    /// </summary>
    protected virtual bool OnceDifferentiable => false;

    /// <summary>The node's name: PyTorch's <c>&lt;class&gt;Backward</c> (a generic class without its arity suffix).</summary>
    internal virtual string NodeName => GetType().Name.Split('`')[0] + "Backward";

    /// <summary>
    /// <c>Function.apply(*inputs)</c>: runs <see cref="Forward"/> and, when grad is enabled and an input requires
    /// grad, records one graph node whose backward is <see cref="Backward"/>. Inside a dual level, when an input
    /// has a tangent, the outputs carry the tangents <see cref="Jvp"/> computes.
    /// </summary>
    /// <returns>The outputs, new tensors the caller owns (an input marked dirty comes back as a new handle of itself).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> or an element is null.</exception>
    /// <exception cref="ObjectDisposedException">An input was disposed.</exception>
    /// <exception cref="AutogradException">libtorch refused the outputs (PyTorch's message).</exception>
    public Tensor[] Apply(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null)
            {
                throw new ArgumentNullException(nameof(inputs), $"inputs[{i}] is null.");
            }
            TensorArguments.Live(inputs[i], $"inputs[{i}]");
        }
        LibTorchLoader.EnsureLoaded();
        if (Autograd.ForwardAD.CurrentLevel < 0)
        {
            return Run(inputs, null);
        }
        var primals = new Tensor[inputs.Length];
        var tangents = new Tensor?[inputs.Length];
        try
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                (primals[i], tangents[i]) = Autograd.ForwardAD.UnpackDual(inputs[i]);
            }
            return tangents.Any(t => t is not null) ? Run(primals, tangents) : Run(inputs, null);
        }
        finally
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                if (!ReferenceEquals(primals[i], inputs[i]))
                {
                    primals[i]?.Dispose();
                }
                tangents[i]?.Dispose();
            }
        }
    }

    private Tensor[] Run(Tensor[] inputs, Tensor?[]? tangents)
    {
        bool recorded = torch.is_grad_enabled() && inputs.Any(t => t.requires_grad);
        var ctx = new FunctionContext([.. inputs.Select(t => t.requires_grad)]);
        CustomNode? node = recorded ? CustomNode.Create(NodeName, inputs.Length, grads => RunBackward(ctx, grads)) : null;
        ctx.Node = node;
        try
        {
            node?.SetNextEdges(inputs);
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor[] outputs;
            using (torch.no_grad())
            {
                outputs = Forward(ctx, [.. inputs]) ?? throw new InvalidOperationException($"{GetType().Name}.Forward returned null.");
            }
            for (int i = 0; i < outputs.Length; i++)
            {
                if (outputs[i] is null)
                {
                    throw new InvalidOperationException($"{GetType().Name}.Forward returned null as output {i}.");
                }
                TensorArguments.Live(outputs[i], $"output {i}");
            }
            Tensor[] results = CustomNode.WrapOutputs(node, inputs, outputs, ctx.NonDifferentiable, ctx.Dirty);
            if (node is not null)
            {
                node.Save(ctx.ToSave);
                ctx.Outputs = [.. results.Select(r => (r.shape, r.dtype, r.device))];
            }
            if (tangents is not null)
            {
                results = WithTangents(ctx, results, tangents);
            }
            foreach (Tensor r in results)
            {
                r.MoveToOuterDisposeScope();
            }
            return results;
        }
        finally
        {
            // From here the outputs' grad_fn links own the node; with no differentiable output it goes now.
            node?.ReleaseOwnership();
        }
    }

    private Tensor[] WithTangents(FunctionContext ctx, Tensor[] outputs, Tensor?[] tangents)
    {
        Tensor?[] outputTangents;
        ctx.EnterJvp();
        try
        {
            using (torch.no_grad())
            {
                outputTangents = Jvp(ctx, [.. tangents]) ?? throw new InvalidOperationException($"{GetType().Name}.Jvp returned null.");
            }
        }
        finally
        {
            FunctionContext.Exit();
        }
        if (outputTangents.Length != outputs.Length)
        {
            throw new AutogradException($"jvp() returned an incorrect number of tangents (expected {outputs.Length}, got {outputTangents.Length})");
        }
        var duals = new Tensor[outputs.Length];
        for (int i = 0; i < outputs.Length; i++)
        {
            duals[i] = outputTangents[i] is { } t ? Autograd.ForwardAD.MakeDual(outputs[i], t) : outputs[i];
        }
        return duals;
    }

    // The node's backward: null after recording the failure for the pass (see CustomNode).
    private Tensor?[]? RunBackward(FunctionContext ctx, Tensor?[] gradOutputs)
    {
        try
        {
            if (ctx.MaterializeGrads)
            {
                for (int i = 0; i < gradOutputs.Length && i < ctx.Outputs.Length; i++)
                {
                    if (gradOutputs[i] is null)
                    {
                        (long[] shape, ScalarType dtype, Device device) = ctx.Outputs[i];
                        gradOutputs[i] = torch.zeros(shape, dtype, device);
                    }
                }
            }
            Tensor?[] result;
            ctx.EnterBackward();
            try
            {
                if (OnceDifferentiable)
                {
                    using (torch.no_grad())
                    {
                        result = Backward(ctx, gradOutputs) ?? throw NullGradients();
                    }
                    result = DelayedError.Wrap(result, gradOutputs);
                }
                else
                {
                    result = Backward(ctx, gradOutputs);
                }
            }
            finally
            {
                FunctionContext.Exit();
            }
            return CheckGradientCount(result, ctx.NeedsInputGrad.Count);
        }
        catch (Exception e)
        {
            HookErrors.Record(e);
            return null;
        }
    }

    // PyTorch allows extra gradients only when they are all None.
    private InvalidOperationException NullGradients() => new($"{GetType().Name}.Backward returned null.");

    private Tensor?[] CheckGradientCount(Tensor?[]? result, int inputs)
    {
        if (result is null)
        {
            throw NullGradients();
        }
        if (result.Length > inputs && result.Skip(inputs).All(g => g is null))
        {
            result = result[..inputs];
        }
        if (result.Length != inputs)
        {
            throw new AutogradException($"function {NodeName} returned an incorrect number of gradients (expected {inputs}, got {result.Length})");
        }
        return result;
    }
}
