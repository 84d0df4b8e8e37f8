using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>PyTorch's <c>t.backward(...)</c> on TorchSharp's <see cref="Tensor"/>.</summary>
/// <remarks>
/// Thread-safety: backward may run on any thread, but not concurrently with other work on the same graph
/// or the same leaves' <c>.grad</c>, as in PyTorch. Hooks may be registered and removed on other threads meanwhile.
/// </remarks>
public static class BackwardExtensions
{
    extension(Tensor t)
    {
        /// <summary>
        /// <c>t.backward(gradient, retain_graph, create_graph, inputs)</c>: computes the gradient of <c>t</c> with respect to
        /// the graph's leaves (or only <paramref name="inputs"/>) and accumulates it into their <c>.grad</c>.
        /// </summary>
        /// <param name="gradient">
        /// The vector of the vector-Jacobian product, of <c>t</c>'s shape; null for a scalar <c>t</c> (ones).
        /// </param>
        /// <param name="retainGraph">
        /// Keep the graph's saved tensors so that backward can run through it again. As in PyTorch, the graph is
        /// also kept whenever <paramref name="createGraph"/> is true.
        /// </param>
        /// <param name="createGraph">Record a graph of the gradient computation itself, for higher-order derivatives.</param>
        /// <param name="inputs">
        /// PyTorch's <c>inputs=</c>: accumulate only into these tensors' <c>.grad</c>, leaving every other leaf's alone;
        /// null for all leaves. A non-leaf input gets <c>retain_grad</c> turned on and its <c>.grad</c> filled, as in
        /// PyTorch; an input the graph does not reach keeps its <c>.grad</c>.
        /// </param>
        /// <exception cref="ArgumentNullException"><c>t</c> or an element of <paramref name="inputs"/> is null.</exception>
        /// <exception cref="ObjectDisposedException"><c>t</c> or <paramref name="gradient"/> was disposed.</exception>
        /// <exception cref="GradientShapeException"><paramref name="gradient"/>'s shape is not <c>t</c>'s (PyTorch's Python check).</exception>
        /// <exception cref="NonScalarOutputException"><c>t</c> has more than one element and no gradient was given.</exception>
        /// <exception cref="NoGradFnException"><c>t</c> does not require grad.</exception>
        /// <exception cref="GraphFreedException">An earlier backward through the same graph freed it.</exception>
        /// <exception cref="AutogradException"><paramref name="inputs"/> is empty (<c>'inputs' argument to backward() cannot be
        /// empty.</c>) or holds a tensor that does not require grad (<c>can't retain_grad on Tensor that has
        /// requires_grad=False</c>); any other error libtorch raises during backward.</exception>
        /// <example>
        /// <code>
        /// var inp = torch.eye(5).RequiresGrad();
        /// var output = (inp + 1).pow(2);
        /// output.Backward(torch.ones_like(inp), retainGraph: true);   // inp.grad: 4 on the diagonal, 2 elsewhere
        /// output.Backward(torch.ones_like(inp));                      // accumulates: 8 and 4
        /// </code>
        /// </example>
        public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false, IReadOnlyList<Tensor>? inputs = null)
        {
            ArgumentNullException.ThrowIfNull(t);
            LibTorchLoader.EnsureLoaded();
            TensorArguments.Live(t, nameof(t));
            if (gradient is not null)
            {
                TensorArguments.Live(gradient, nameof(gradient));
                CheckGradient(t, gradient);
            }
            if (inputs is not null)
            {
                CheckInputs(inputs);
            }
            // PyTorch's retain_graph defaults to create_graph.
            bool retain = retainGraph || createGraph;
            // One AutogradKit pass: hooks are not registered under it by other threads, and a hook's exception
            // reaches this caller as itself; libtorch's errors come as typed AutogradExceptions.
            HookErrors.RunNative(() => NativeBackward.Run(t, gradient, retain, createGraph, inputs));
        }
    }

    /// <summary>
    /// PyTorch's checks of <c>inputs=</c>: Python's for an empty list, libtorch's <c>retain_grad</c> check for a tensor
    /// that does not require grad (made here, before the engine, so that nothing was accumulated when it fails).
    /// </summary>
    private static void CheckInputs(IReadOnlyList<Tensor> inputs)
    {
        if (inputs.Count == 0)
        {
            throw new AutogradException("'inputs' argument to backward() cannot be empty.");
        }
        for (int i = 0; i < inputs.Count; i++)
        {
            TensorArguments.Live(inputs[i], nameof(inputs));
            if (!inputs[i].requires_grad)
            {
                throw new AutogradException("can't retain_grad on Tensor that has requires_grad=False");
            }
        }
    }

    /// <summary>The checks PyTorch makes in Python (<c>torch.autograd._make_grads</c>) before calling the engine.</summary>
    private static void CheckGradient(Tensor output, Tensor gradient)
    {
        CheckGradientShape(output, gradient, 0);
        if (output.is_complex() != gradient.is_complex())
        {
            throw new AutogradException(
                "For complex Tensors, both grad_output and output are required to have the same dtype. Mismatch in dtype: " +
                $"grad_output[0] has a dtype of {PythonText.DType(gradient.dtype)} and output[0] has a dtype of {PythonText.DType(output.dtype)}.");
        }
    }

    /// <summary>
    /// <c>_make_grads</c>' shape check, shared with <see cref="Autograd.Grad"/>: <paramref name="gradient"/> must be
    /// shaped like <paramref name="output"/>, the <paramref name="index"/>-th output.
    /// </summary>
    /// <exception cref="GradientShapeException">The shapes differ; PyTorch's text.</exception>
    internal static void CheckGradientShape(Tensor output, Tensor gradient, int index)
    {
        if (!TensorShape.Same(gradient, output))
        {
            throw new GradientShapeException(
                $"Mismatch in shape: grad_output[{index}] has a shape of {PythonText.Size(TensorShape.Of(gradient))} and output[{index}] has a shape of {PythonText.Size(TensorShape.Of(output))}.");
        }
    }
}
