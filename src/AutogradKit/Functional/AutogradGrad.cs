using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>
    /// <c>torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)</c>: the
    /// gradients of <paramref name="outputs"/> with respect to <paramref name="inputs"/>, without touching any
    /// <c>.grad</c>.
    /// </summary>
    /// <param name="outputs">The tensors to differentiate; each must require grad.</param>
    /// <param name="inputs">The tensors to differentiate with respect to; each must require grad; at least one.</param>
    /// <param name="gradOutputs">The vector of the vector-Jacobian product, one per output, each shaped like its
    /// output; null for ones, allowed only for single-element outputs.</param>
    /// <param name="retainGraph">Keep the graph for another backward pass; null means <paramref name="createGraph"/>.</param>
    /// <param name="createGraph">Record the gradient computation so the results can be differentiated again.</param>
    /// <param name="allowUnused">Return null for an input the outputs do not depend on, instead of throwing.</param>
    /// <returns>One fresh tensor per input (the caller owns it), or null for an unused input.</returns>
    /// <exception cref="ArgumentNullException">A list or one of its elements is null.</exception>
    /// <exception cref="ObjectDisposedException">A tensor was disposed.</exception>
    /// <exception cref="ArgumentException"><paramref name="inputs"/> is empty, or <paramref name="gradOutputs"/>
    /// does not have one tensor per output.</exception>
    /// <exception cref="NoGradFnException">An output does not require grad.</exception>
    /// <exception cref="NonScalarOutputException">An output has more than one element and no gradient was given.</exception>
    /// <exception cref="GradientShapeException">A gradient's shape differs from its output's.</exception>
    /// <exception cref="UnusedInputException">An input is unused and <paramref name="allowUnused"/> is false.</exception>
    /// <exception cref="GraphFreedException">The graph was freed by an earlier backward pass.</exception>
    /// <exception cref="AutogradException">An input does not require grad, or libtorch raised another autograd error.</exception>
    /// <remarks>
    /// <para>TorchSharp's <c>torch.autograd.grad</c> ends the process on any libtorch error, so this runs
    /// libtorch's <c>backward(…, inputs)</c> instead: each input's <c>.grad</c> is set aside, the gradients are
    /// accumulated into the emptied <c>.grad</c>s and taken from there, and the saved <c>.grad</c>s are put back,
    /// also when backward fails. Differences from PyTorch that follow: libtorch calls <c>retain_grad()</c> on
    /// every input that is not a leaf (so later backward passes fill that tensor's <c>.grad</c>; libtorch has no
    /// way back), and hooks registered to run after a leaf's gradient is accumulated run. The two warnings that
    /// route makes libtorch print on stderr ("Using backward() with create_graph=True will create a reference
    /// cycle …", once per process, and "The .grad attribute of a Tensor that is not a leaf Tensor is being
    /// accessed …") are dropped while the call runs, since PyTorch's <c>grad</c> prints neither; other warnings
    /// pass through.</para>
    /// <para>Thread-safety: safe to call from several threads on graphs that share no input tensor.</para>
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
        bool allowUnused = false)
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
                    BackwardExtensions.CheckGradientShape(output, gradOutputs[i], i);
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

            var outputHandles = new IntPtr[outputs.Count];
            var gradHandles = new IntPtr[outputs.Count];
            var inputHandles = new IntPtr[inputs.Count];
            for (int i = 0; i < outputs.Count; i++)
            {
                outputHandles[i] = outputs[i].Handle;
                gradHandles[i] = (gradOutputs is not null ? gradOutputs[i] : implicitGrads[i]!).Handle;
            }
            for (int i = 0; i < inputs.Count; i++)
            {
                inputHandles[i] = inputs[i].Handle;
            }

            IntPtr[] results = GradCore(outputHandles, gradHandles, inputHandles, retainGraph ?? createGraph, createGraph);
            GC.KeepAlive(outputs);
            GC.KeepAlive(inputs);
            GC.KeepAlive(gradOutputs);

            var grads = new Tensor?[results.Length];
            bool unused = false;
            for (int i = 0; i < results.Length; i++)
            {
                if (results[i] == IntPtr.Zero)
                {
                    unused = true;
                }
                else
                {
                    grads[i] = Tensor.UnsafeCreateTensor(results[i]);
                }
            }
            if (unused && !allowUnused)
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
    /// The gradients of <paramref name="outputs"/> (seeded with <paramref name="grads"/>) with respect to
    /// <paramref name="inputs"/>, as new owning handles, zero for an input that got no gradient. Every
    /// argument must already be checked: valid handles, one grad per output, inputs requiring grad.
    /// </summary>
    internal static unsafe IntPtr[] GradCore(IntPtr[] outputs, IntPtr[] grads, IntPtr[] inputs, bool retainGraph, bool createGraph)
    {
        var saved = new IntPtr[inputs.Length];
        var results = new IntPtr[inputs.Length];
        // PyTorch's grad prints neither libtorch's backward(create_graph) cycle warning nor the one for reading a
        // non-leaf input's .grad, which is how this takes its results.
        using EngineWarningFilter.Scope quiet = EngineWarningFilter.Install();
        for (int i = 0; i < inputs.Length; i++)
        {
            saved[i] = NativeMethods.THSTensor_grad(inputs[i]);
        }
        bool succeeded = false;
        try
        {
            bool cleared = false;
            for (int i = 0; i < inputs.Length; i++)
            {
                // Most inputs (every one of Functional's own leaves) have no .grad: nothing to set aside.
                if (saved[i] != IntPtr.Zero)
                {
                    NativeMethods.THSTensor_set_grad(inputs[i], IntPtr.Zero);
                    cleared = true;
                }
            }
            if (cleared)
            {
                Ensure.NoPendingError();
            }
            HookErrors.DiscardPendingOfThisThread();
            fixed (IntPtr* o = outputs)
            fixed (IntPtr* g = grads)
            fixed (IntPtr* x = inputs)
            {
                // libtorch's backward(inputs) calls retain_grad() on a non-leaf input: it is how the gradient
                // reaches that tensor's .grad. It cannot be undone through any exported API.
                NativeMethods.THSAutograd_backward(o, outputs.Length, g, grads.Length, retainGraph, createGraph, x, inputs.Length);
            }
            // A C# hook's exception reaches the caller as itself; libtorch's errors as typed AutogradExceptions.
            HookErrors.ThrowAfterNativePass();
            for (int i = 0; i < inputs.Length; i++)
            {
                results[i] = NativeMethods.THSTensor_grad(inputs[i]);
            }
            Ensure.NoPendingError();
            succeeded = true;
            return results;
        }
        finally
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                NativeMethods.THSTensor_set_grad(inputs[i], saved[i]);
                if (saved[i] != IntPtr.Zero)
                {
                    NativeMethods.THSTensor_dispose(saved[i]);
                }
                if (!succeeded && results[i] != IntPtr.Zero)
                {
                    NativeMethods.THSTensor_dispose(results[i]);
                }
            }
            // Restoring cannot fail for a defined tensor; clear rather than leak an error into a later call.
            NativeMethods.TakeNativeError();
        }
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
