using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>
    /// <c>torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
    /// is_grads_batched, materialize_grads)</c>: the gradients of <paramref name="outputs"/> with respect to
    /// <paramref name="inputs"/>, computed by libtorch's <c>torch::autograd::grad</c>, without reading, writing or
    /// keeping any <c>.grad</c>.
    /// </summary>
    /// <param name="outputs">The tensors to differentiate; each must require grad.</param>
    /// <param name="inputs">The tensors to differentiate with respect to; each must require grad; at least one.</param>
    /// <param name="gradOutputs">The vector of the vector-Jacobian product, one per output, each shaped like its
    /// output (with a leading batch dimension when <paramref name="isGradsBatched"/>); null for ones, allowed only
    /// for single-element outputs.</param>
    /// <param name="retainGraph">Keep the graph for another backward pass; null means <paramref name="createGraph"/>.</param>
    /// <param name="createGraph">Record the gradient computation so the results can be differentiated again.</param>
    /// <param name="allowUnused">Return null for an input the outputs do not depend on, instead of throwing.</param>
    /// <param name="isGradsBatched">The first dimension of each of <paramref name="gradOutputs"/> is a batch: the
    /// result holds one vector-Jacobian product per batch entry, stacked along a new first dimension.</param>
    /// <param name="materializeGrads">Return zeros (<c>torch.zeros_like(input, requires_grad=True)</c>, as
    /// PyTorch 2.x does) instead of null for an unused input; implies <paramref name="allowUnused"/>.</param>
    /// <returns>One fresh tensor per input (the caller owns it), or null for an unused input.</returns>
    /// <exception cref="ArgumentNullException">A list or one of its elements is null.</exception>
    /// <exception cref="ObjectDisposedException">A tensor was disposed.</exception>
    /// <exception cref="ArgumentException"><paramref name="inputs"/> is empty, <paramref name="gradOutputs"/>
    /// does not have one tensor per output, or (batched) a gradient has no batch dimension, an empty one, or one
    /// of another size than the others.</exception>
    /// <exception cref="NoGradFnException">An output does not require grad.</exception>
    /// <exception cref="NonScalarOutputException">An output has more than one element and no gradient was given.</exception>
    /// <exception cref="GradientShapeException">A gradient's shape differs from its output's.</exception>
    /// <exception cref="UnusedInputException">An input is unused and neither <paramref name="allowUnused"/> nor
    /// <paramref name="materializeGrads"/> is set.</exception>
    /// <exception cref="GraphFreedException">The graph was freed by an earlier backward pass.</exception>
    /// <exception cref="AutogradException">An input does not require grad, or libtorch raised another autograd error.</exception>
    /// <remarks>
    /// <para>The pass is libtorch's <c>torch::autograd::grad</c> itself, the function PyTorch's engine runs for
    /// <c>torch.autograd.grad</c>: no <c>.grad</c> is read, written or kept, <c>retain_grad</c> is never turned on,
    /// no post-accumulate hook fires, and under <paramref name="createGraph"/> the results carry the graph PyTorch
    /// returns (e.g. <c>SigmoidBackwardBackward0</c>). Tensor hooks on the graph run; a hook's exception reaches
    /// the caller as itself. Checks PyTorch makes in Python before its engine (<c>_make_grads</c>: gradient shapes,
    /// implicit gradients only for one-element outputs) come first, with PyTorch's texts.</para>
    /// <para><paramref name="isGradsBatched"/>: as PyTorch, one backward pass vmapped over the batch
    /// (<see cref="TorchFunc.Vmap(Func{Tensor[], Tensor[]}, int?[], int[], Randomness, int?)"/>); libtorch's vmap falls
    /// back to a loop for an operator with no batching rule. Tensor hooks run once, on the batched gradient.</para>
    /// <para><paramref name="materializeGrads"/> with an explicit <c>allow_unused=False</c> is an error in PyTorch;
    /// <paramref name="allowUnused"/> cannot tell "false" from "not given", so here it is never one.</para>
    /// <para>Thread-safety: safe to call from several threads at once, also on graphs that share inputs, outputs
    /// or nodes, as PyTorch's is (a freed graph is reported as <see cref="GraphFreedException"/>).</para>
    /// </remarks>
    /// <example>
    /// <code>
    /// var x = torch.tensor(new[] { 1.0, 2.0 }).RequiresGrad();
    /// var y = (x * x).sum();
    /// Tensor?[] dx = Autograd.Grad([y], [x], createGraph: true);      // [2, 4], itself differentiable
    /// Tensor?[] d2 = Autograd.Grad([dx[0]!.sum()], [x]);              // [2, 2]
    /// </code>
    /// </example>
    public static Tensor?[] Grad(
        IReadOnlyList<Tensor> outputs,
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor>? gradOutputs = null,
        bool? retainGraph = null,
        bool createGraph = false,
        bool allowUnused = false,
        bool isGradsBatched = false,
        bool materializeGrads = false)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(inputs);
        CheckElements(outputs, nameof(outputs));
        CheckElements(inputs, nameof(inputs));
        if (gradOutputs is not null)
        {
            CheckElements(gradOutputs, nameof(gradOutputs));
        }
        LibTorchLoader.EnsureLoaded();
        if (inputs.Count == 0)
        {
            throw new ArgumentException("grad requires non-empty inputs.", nameof(inputs));
        }
        if (gradOutputs is not null && gradOutputs.Count != outputs.Count)
        {
            throw new ArgumentException($"got {outputs.Count} tensors and {gradOutputs.Count} gradients", nameof(gradOutputs));
        }

        // Python's _make_grads runs before libtorch's checks, so its errors come first.
        var implicitGrads = new Tensor?[outputs.Count];
        try
        {
            for (int i = 0; i < outputs.Count; i++)
            {
                Tensor output = outputs[i];
                if (gradOutputs is not null)
                {
                    if (isGradsBatched)
                    {
                        CheckBatchedGradientShape(output, gradOutputs[i], i, nameof(gradOutputs));
                    }
                    else
                    {
                        BackwardExtensions.CheckGradientShape(output, gradOutputs[i], i);
                    }
                }
                else if (output.requires_grad)
                {
                    if (output.numel() != 1)
                    {
                        throw new NonScalarOutputException("grad can be implicitly created only for scalar outputs");
                    }
                    implicitGrads[i] = torch.ones_like(output);
                }
            }
            IReadOnlyList<Tensor> seeds = gradOutputs ?? implicitGrads!;
            long batch = isGradsBatched ? BatchSize(seeds, nameof(gradOutputs)) : 0;
            for (int i = 0; i < outputs.Count; i++)
            {
                if (!outputs[i].requires_grad)
                {
                    throw new NoGradFnException($"element {i} of tensors does not require grad and does not have a grad_fn");
                }
            }
            foreach (Tensor input in inputs)
            {
                if (!input.requires_grad)
                {
                    throw new AutogradException("One of the differentiated Tensors does not require grad");
                }
            }

            bool retain = retainGraph ?? createGraph;
            Tensor?[] grads = isGradsBatched
                ? VectorizedJacobian.BatchedGrad(outputs, inputs, seeds, retain, createGraph)
                : GradCore(outputs, inputs, seeds, retain, createGraph);
            if (materializeGrads)
            {
                for (int i = 0; i < grads.Length; i++)
                {
                    grads[i] ??= torch.zeros_like(inputs[i], requires_grad: true);
                }
            }
            else if (!allowUnused && Array.IndexOf(grads, null) >= 0)
            {
                foreach (Tensor? g in grads)
                {
                    g?.Dispose();
                }
                throw new UnusedInputException(
                    "One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.");
            }
            return grads;
        }
        finally
        {
            foreach (Tensor? g in implicitGrads)
            {
                g?.Dispose();
            }
        }
    }

    /// <summary>
    /// libtorch's <c>torch::autograd::grad</c> with <c>allow_unused</c>: one fresh tensor per input, null where an
    /// input got no gradient. Every argument must already be checked: live tensors, one seed per output shaped like
    /// it, outputs and inputs requiring grad. A hook's exception is rethrown as itself, libtorch's errors as typed
    /// <see cref="AutogradException"/>s.
    /// </summary>
    internal static Tensor?[] GradCore(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> seeds, bool retainGraph, bool createGraph) =>
        GradPasses(outputs, inputs, seeds, 1, retainGraph, createGraph);

    /// <summary>
    /// <paramref name="passes"/> times <see cref="GradCore"/>, the graph retained until the last pass:
    /// <paramref name="seeds"/> holds one seed per output for each pass, pass after pass, and the result one
    /// gradient (or null) per input for each pass, in the same order. All passes run in one native call.
    /// </summary>
    internal static Tensor?[] GradPasses(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> seeds, int passes, bool retainGraph, bool createGraph) =>
        HookErrors.Run(() => NativeGrad.Run(outputs, inputs, seeds, passes, retainGraph, createGraph));

    /// <summary>
    /// <c>_make_grads</c>' check with <c>is_grads_batched</c>: <c>gradient[0]</c> must be shaped like the output.
    /// PyTorch prints <c>gradient[0].shape[1:]</c> as the gradient's shape (its <c>_calculate_shape</c> drops the
    /// batch dimension a second time); so does this, to give its exact text.
    /// </summary>
    private static void CheckBatchedGradientShape(Tensor output, Tensor gradient, int index, string paramName)
    {
        long[] shape = TensorShape.Of(gradient);
        if (shape.Length == 0)
        {
            throw new ArgumentException("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number", paramName);
        }
        if (shape[0] == 0)
        {
            throw new ArgumentException("index 0 is out of bounds for dimension 0 with size 0", paramName);
        }
        long[] outputShape = TensorShape.Of(output);
        if (!shape.AsSpan(1).SequenceEqual(outputShape))
        {
            throw new GradientShapeException(
                "If `is_grads_batched=True`, we interpret the first dimension of each grad_output as the batch dimension. " +
                "The sizes of the remaining dimensions are expected to match the shape of corresponding output, but a mismatch " +
                $"was detected: grad_output[{index}] has a shape of {PythonText.Size(shape.AsSpan(Math.Min(2, shape.Length)))} and output[{index}] has a shape of {PythonText.Size(outputShape)}. " +
                "If you only want some tensors in `grad_output` to be considered batched, consider using vmap.");
        }
    }

    /// <summary>The common batch size of batched gradients, with the errors of PyTorch's vmap.</summary>
    private static long BatchSize(IReadOnlyList<Tensor> seeds, string paramName)
    {
        var sizes = new List<long>(seeds.Count);
        foreach (Tensor? seed in seeds)
        {
            if (seed is null)
            {
                continue; // an output that does not require grad, reported after this as in PyTorch's engine
            }
            long[] shape = TensorShape.Of(seed);
            if (shape.Length == 0)
            {
                // An implicit gradient of a one-element output: a 0-dim tensor has no batch dimension to map.
                throw new ArgumentException("vmap(vjp, in_dims=0, ...)(<inputs>): Got in_dim=0 for some input, but that input is a Tensor of dimensionality 0 so expected in_dim to satisfy 0 <= in_dim < 0.", paramName);
            }
            sizes.Add(shape[0]);
        }
        if (sizes.Count == 0)
        {
            return 0;
        }
        if (sizes.Any(s => s != sizes[0]))
        {
            throw new ArgumentException($"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes [{string.Join(", ", sizes)}] for the mapped dimension", paramName);
        }
        return sizes[0];
    }

    private static void CheckElements(IReadOnlyList<Tensor> tensors, string name)
    {
        for (int i = 0; i < tensors.Count; i++)
        {
            if (tensors[i] is null)
            {
                throw new ArgumentNullException(name, $"{name}[{i}] is null.");
            }
            if (tensors[i].IsInvalid)
            {
                throw new ObjectDisposedException($"{name}[{i}]", $"{name}[{i}] was disposed.");
            }
        }
    }
}
