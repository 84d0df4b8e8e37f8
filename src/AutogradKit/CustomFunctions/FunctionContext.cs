using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>ctx</c> of a <c>torch.autograd.Function</c>: what <see cref="AutogradFunction"/>'s
/// <c>Forward</c> tells autograd (tensors to save, inputs modified in place, outputs that are not differentiable) and
/// what <c>Backward</c> and <c>Jvp</c> read back.
/// </summary>
/// <remarks>
/// One context per <see cref="AutogradFunction.Apply"/> call, made by it. Thread-safety: the Save/Mark/Set members are
/// for <c>Forward</c>, on one thread; <see cref="SavedTensors"/> and <see cref="NeedsInputGrad"/> may be read by
/// backward passes through the same node on several threads at once (each thread unpacks its own tensors).
/// </remarks>
public sealed class FunctionContext
{
    private readonly bool[] _needsInputGrad;
    private Tensor?[] _toSave = [];
    private Tensor?[] _toSaveForForward = [];
    private Tensor[] _dirty = [];
    private Tensor[] _nonDifferentiable = [];

    // What SavedTensors reads, per thread: libtorch may run one node from passes on two threads at once, and each
    // backward's unpacked tensors belong to its own dispose scope. A stack, for a backward run inside a backward.
    [ThreadStatic]
    private static Frame? s_frame;

    private sealed class Frame(FunctionContext context, bool backward, IReadOnlyList<Tensor?>? saved, Frame? outer)
    {
        public FunctionContext Context { get; } = context;

        public bool Backward { get; } = backward;

        public IReadOnlyList<Tensor?>? Saved { get; set; } = saved;

        public Frame? Outer { get; } = outer;
    }

    internal FunctionContext(bool[] needsInputGrad) => _needsInputGrad = needsInputGrad;

    /// <summary>
    /// <c>ctx.needs_input_grad</c>: for each input of <see cref="AutogradFunction.Apply"/>, whether it required grad,
    /// so that <c>Backward</c> may skip the gradients nobody needs.
    /// </summary>
    public IReadOnlyList<bool> NeedsInputGrad => _needsInputGrad;

    /// <summary>Whether undefined output gradients reach <c>Backward</c> as zeros (the default) or as null.</summary>
    internal bool MaterializeGrads { get; private set; } = true;

    /// <summary>
    /// <c>ctx.saved_tensors</c>: in <c>Backward</c>, what <see cref="SaveForBackward"/> saved (new tensors, valid until
    /// <c>Backward</c> returns); in <c>Jvp</c>, what <see cref="SaveForForward"/> saved; elsewhere empty.
    /// </summary>
    /// <exception cref="GraphFreedException">A backward pass that did not retain the graph already freed them.</exception>
    /// <exception cref="AutogradException">A saved tensor was modified in place since it was saved (PyTorch's message).</exception>
    public IReadOnlyList<Tensor?> SavedTensors
    {
        get
        {
            for (Frame? f = s_frame; f is not null; f = f.Outer)
            {
                if (ReferenceEquals(f.Context, this))
                {
                    return f.Saved ??= f.Backward && Node is { } node ? node.UnpackSaved() : [];
                }
            }
            return [];
        }
    }

    /// <summary><c>ctx.save_for_backward(*tensors)</c>: call once, in <c>Forward</c>, with inputs or outputs (null allowed).</summary>
    public void SaveForBackward(params Tensor?[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _toSave = [.. tensors];
    }

    /// <summary><c>ctx.save_for_forward(*tensors)</c>: tensors <c>Jvp</c> reads as <see cref="SavedTensors"/>.</summary>
    public void SaveForForward(params Tensor?[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _toSaveForForward = [.. tensors];
    }

    /// <summary><c>ctx.mark_dirty(*tensors)</c>: these inputs were modified in place by <c>Forward</c> (and returned).</summary>
    public void MarkDirty(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _dirty = Checked(tensors, nameof(tensors));
    }

    /// <summary><c>ctx.mark_non_differentiable(*tensors)</c>: these outputs do not require grad; their gradient is zero.</summary>
    public void MarkNonDifferentiable(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _nonDifferentiable = Checked(tensors, nameof(tensors));
    }

    /// <summary><c>ctx.set_materialize_grads(value)</c>: false hands <c>Backward</c> null for an undefined output gradient.</summary>
    public void SetMaterializeGrads(bool value) => MaterializeGrads = value;

    internal IReadOnlyList<Tensor?> ToSave => _toSave;

    internal IReadOnlyList<Tensor> Dirty => _dirty;

    internal IReadOnlyList<Tensor> NonDifferentiable => _nonDifferentiable;

    /// <summary>The node of the recorded call, or null when it was not recorded.</summary>
    internal CustomNode? Node { get; set; }

    /// <summary>Shape, dtype and device of each output, for materialising undefined gradients.</summary>
    internal (long[] Shape, ScalarType DType, Device Device)[] Outputs { get; set; } = [];

    /// <summary>On this thread, until <see cref="Exit"/>, <see cref="SavedTensors"/> is what <see cref="SaveForForward"/> saved.</summary>
    internal void EnterJvp() => s_frame = new Frame(this, backward: false, _toSaveForForward, s_frame);

    /// <summary>On this thread, until <see cref="Exit"/>, <see cref="SavedTensors"/> unpacks the node's saved tensors (once).</summary>
    internal void EnterBackward() => s_frame = new Frame(this, backward: true, null, s_frame);

    /// <summary>Ends this thread's innermost <see cref="EnterJvp"/> or <see cref="EnterBackward"/>; unpacked tensors go with the backward's dispose scope.</summary>
    internal static void Exit() => s_frame = s_frame?.Outer;

    private static Tensor[] Checked(Tensor[] tensors, string name)
    {
        for (int i = 0; i < tensors.Length; i++)
        {
            if (tensors[i] is null)
            {
                throw new ArgumentNullException(name, $"{name}[{i}] is null.");
            }
        }
        return [.. tensors];
    }
}
