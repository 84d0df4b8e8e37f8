using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>
    /// <c>torch.autograd.functional</c>: Jacobians, Hessians and vector products of a function of tensors, with
    /// PyTorch's shapes, <c>create_graph</c> and <c>strict</c> semantics and error texts.
    /// </summary>
    /// <remarks>
    /// <para>The given inputs are never modified: the function runs on detached copies that require grad (on
    /// views of them when <c>createGraph</c> is set and they require grad, so the results stay differentiable
    /// with respect to them), no <c>.grad</c> is left behind, and every result is a fresh tensor the caller owns.
    /// Tensors the function creates and does not return are disposed when the call ends.</para>
    /// <para>Every gradient is libtorch's <c>torch::autograd::grad</c>, as in functional.py (see
    /// <see cref="Grad"/>): no <c>.grad</c> is read or written, and under <c>createGraph</c> the results hang from the
    /// nodes PyTorch's do. The rows of a Jacobian (and of a Hessian's outer Jacobian) are computed by one native
    /// call that runs one <c>grad</c> pass a row, which pays the call's own cost once instead of once a row.</para>
    /// <para>Errors PyTorch raises as <c>RuntimeError</c> from autograd (strict mode) are
    /// <see cref="AutogradException"/>s; invalid arguments (wrong <c>v</c> shape, a function returning several
    /// elements where one is needed) are <see cref="ArgumentException"/>s with PyTorch's text.</para>
    /// <para>Thread-safety: every method is safe to call from several threads; grad mode is per thread.</para>
    /// </remarks>
    public static class Functional
    {
        /// <summary>
        /// <c>torch.autograd.functional.jacobian(f, input)</c>: the Jacobian of <paramref name="f"/> at
        /// <paramref name="input"/>, shaped <c>output.shape + input.shape</c> (m×n for f: Rⁿ→Rᵐ).
        /// </summary>
        /// <param name="f">The function.</param>
        /// <param name="input">The point; not modified.</param>
        /// <param name="createGraph">Make the result differentiable (with respect to <paramref name="input"/> when it requires grad).</param>
        /// <param name="strict">Throw when the output is independent of the input instead of returning zeros.</param>
        /// <param name="vectorize">
        /// As PyTorch: f runs once, and ONE backward pass vmapped over the standard basis of its output replaces
        /// the m backward passes of the loop (<c>Grad(…, isGradsBatched: true)</c>); equal to the loop for every f.
        /// Not allowed
        /// with <paramref name="strict"/>, as in PyTorch.
        /// </param>
        /// <param name="strategy">PyTorch's <c>strategy</c>: <see cref="JacobianStrategy.ForwardMode"/> needs <paramref name="vectorize"/>, as in PyTorch.</param>
        /// <example>
        /// <code>
        /// Tensor j = Autograd.Functional.Jacobian(x => x.pow(2), torch.tensor(new[] { 1.0, 2.0 }));   // [[2, 0], [0, 4]]
        /// </code>
        /// </example>
        public static Tensor Jacobian(Func<Tensor, Tensor> f, Tensor input, bool createGraph = false, bool strict = false, bool vectorize = false, JacobianStrategy strategy = JacobianStrategy.ReverseMode)
        {
            ArgumentNullException.ThrowIfNull(f);
            return JacobianCore(Single(f), [CheckInput(input, nameof(input))], createGraph, strict, vectorize, strategy, "jacobian", f)[0][0];
        }

        /// <summary>
        /// <c>torch.autograd.functional.jacobian(f, (x0, x1, …))</c>: one Jacobian per input, each shaped
        /// <c>output.shape + inputs[i].shape</c>.
        /// </summary>
        /// <param name="f">The function.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when a result is independent of the inputs instead of returning zeros.</param>
        /// <param name="vectorize">As for the single-input overload: one backward pass vmapped over the output's standard basis.</param>
        /// <param name="inputs">The point, one tensor per argument of <paramref name="f"/>; not modified.</param>
        /// <param name="strategy">PyTorch's <c>strategy</c>: <see cref="JacobianStrategy.ForwardMode"/> needs <paramref name="vectorize"/>, as in PyTorch.</param>
        public static Tensor[] Jacobian(Func<Tensor[], Tensor> f, Tensor[] inputs, bool createGraph = false, bool strict = false, bool vectorize = false, JacobianStrategy strategy = JacobianStrategy.ReverseMode)
        {
            ArgumentNullException.ThrowIfNull(f);
            return JacobianCore(Multi(f), CheckInputs(inputs), createGraph, strict, vectorize, strategy, "jacobian", f)[0];
        }

        /// <summary>
        /// <c>torch.autograd.functional.jacobian(f, (x0, x1, …))</c> of a function returning a tuple: the blocks
        /// <c>J[i][j]</c> indexed <c>[output][input]</c>, each shaped <c>outputs[i].shape + inputs[j].shape</c>.
        /// </summary>
        /// <param name="f">The function; every element of its result must be a live tensor.</param>
        /// <param name="inputs">The point, one tensor per argument of <paramref name="f"/>; not modified.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when an output is independent of an input instead of returning zeros.</param>
        /// <param name="vectorize">PyTorch's <c>vectorize</c> (see the single-input overload).</param>
        /// <param name="strategy">PyTorch's <c>strategy</c>: <see cref="JacobianStrategy.ForwardMode"/> needs <paramref name="vectorize"/>, as in PyTorch.</param>
        public static Tensor[][] Jacobian(Func<Tensor[], Tensor[]> f, Tensor[] inputs, bool createGraph = false, bool strict = false, bool vectorize = false, JacobianStrategy strategy = JacobianStrategy.ReverseMode)
        {
            ArgumentNullException.ThrowIfNull(f);
            return JacobianCore(Checked(f), CheckInputs(inputs), createGraph, strict, vectorize, strategy, "jacobian", f);
        }

        /// <summary>
        /// <c>torch.autograd.functional.hessian(f, input)</c>: the Hessian of a function returning one element,
        /// shaped <c>input.shape + input.shape</c>.
        /// </summary>
        /// <param name="f">The function; its result must have exactly one element.</param>
        /// <param name="input">The point; not modified.</param>
        /// <param name="createGraph">Make the result differentiable.</param>
        /// <param name="strict">Throw when the Jacobian or Hessian is independent of the input instead of returning zeros.</param>
        /// <param name="vectorize">PyTorch's <c>vectorize</c> for the outer Jacobian.</param>
        /// <param name="outerJacobianStrategy">PyTorch's <c>outer_jacobian_strategy</c>; <see cref="JacobianStrategy.ForwardMode"/> needs <paramref name="vectorize"/>.</param>
        public static Tensor Hessian(Func<Tensor, Tensor> f, Tensor input, bool createGraph = false, bool strict = false, bool vectorize = false, JacobianStrategy outerJacobianStrategy = JacobianStrategy.ReverseMode)
        {
            ArgumentNullException.ThrowIfNull(f);
            return HessianCore(Single(f), [CheckInput(input, nameof(input))], createGraph, strict, vectorize, outerJacobianStrategy)[0][0];
        }

        /// <summary>
        /// <c>torch.autograd.functional.hessian(f, (x0, x1, …))</c>: the blocks <c>H[i][j]</c>, shaped
        /// <c>inputs[i].shape + inputs[j].shape</c>.
        /// </summary>
        /// <param name="f">The function.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when a result is independent of the inputs instead of returning zeros.</param>
        /// <param name="inputs">The point, one tensor per argument of <paramref name="f"/>; not modified.</param>
        /// <param name="vectorize">PyTorch's <c>vectorize</c> for the outer Jacobian.</param>
        /// <param name="outerJacobianStrategy">PyTorch's <c>outer_jacobian_strategy</c>; <see cref="JacobianStrategy.ForwardMode"/> needs <paramref name="vectorize"/>.</param>
        public static Tensor[][] Hessian(Func<Tensor[], Tensor> f, Tensor[] inputs, bool createGraph = false, bool strict = false, bool vectorize = false, JacobianStrategy outerJacobianStrategy = JacobianStrategy.ReverseMode)
        {
            ArgumentNullException.ThrowIfNull(f);
            return HessianCore(Multi(f), CheckInputs(inputs), createGraph, strict, vectorize, outerJacobianStrategy);
        }

        /// <summary>
        /// <c>torch.autograd.functional.vjp(f, input, v)</c>: <c>f(input)</c> and the vector-Jacobian product
        /// <c>vᵀ·J</c>, shaped like the input.
        /// </summary>
        /// <param name="f">The function.</param>
        /// <param name="input">The point; not modified.</param>
        /// <param name="v">Shaped like the output; may be null only when the output has one element.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when the output is independent of the input instead of returning zeros.</param>
        public static (Tensor Output, Tensor Vjp) Vjp(Func<Tensor, Tensor> f, Tensor input, Tensor? v = null, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            var (output, vjp) = VjpCore(Single(f), [CheckInput(input, nameof(input))], v is null ? null : [v], false, createGraph, strict);
            return (output[0], vjp[0]);
        }

        /// <summary><c>torch.autograd.functional.vjp(f, (x0, x1, …), v)</c>: one product per input.</summary>
        /// <param name="f">The function.</param>
        /// <param name="v">Shaped like the output; may be null only when the output has one element.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when a result is independent of the inputs instead of returning zeros.</param>
        /// <param name="inputs">The point, one tensor per argument of <paramref name="f"/>; not modified.</param>
        public static (Tensor Output, Tensor[] Vjp) Vjp(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor? v = null, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            var (output, vjp) = VjpCore(Multi(f), CheckInputs(inputs), v is null ? null : [v], false, createGraph, strict);
            return (output[0], vjp);
        }

        /// <summary><c>torch.autograd.functional.vjp(f, (x0, x1, …), (v0, v1, …))</c> of a function returning a tuple: its outputs and one product per input.</summary>
        /// <param name="f">The function; every element of its result must be a live tensor.</param>
        /// <param name="inputs">The point, one tensor per argument of <paramref name="f"/>; not modified.</param>
        /// <param name="v">One tensor per output, shaped like it; may be null only when f returns one single-element tensor.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when a result is independent of the inputs instead of returning zeros.</param>
        public static (Tensor[] Output, Tensor[] Vjp) Vjp(Func<Tensor[], Tensor[]> f, Tensor[] inputs, Tensor[]? v = null, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            return VjpCore(Checked(f), CheckInputs(inputs), v, true, createGraph, strict);
        }

        /// <summary>
        /// <c>torch.autograd.functional.jvp(f, input, v)</c>: <c>f(input)</c> and the Jacobian-vector product
        /// <c>J·v</c>, shaped like the output: PyTorch's values, computed in one forward-mode pass where it can be (see
        /// remarks), else by the double-backward trick as PyTorch does.
        /// </summary>
        /// <remarks>
        /// Without <paramref name="createGraph"/> and <paramref name="strict"/>, and with <paramref name="v"/> given,
        /// the product is computed with forward-mode AD (<see cref="ForwardAD"/>) while no dual level is open in the
        /// process: one pass instead of a forward and two backward passes. That briefly holds the process-wide dual
        /// level (another <see cref="ForwardAD.DualLevel"/> opened meanwhile is refused as nested). When an operation of
        /// f has no forward derivative, or a level is already open, f runs again the double-backward way, so it may be
        /// called twice.
        /// </remarks>
        /// <param name="f">The function.</param>
        /// <param name="input">The point; not modified.</param>
        /// <param name="v">Shaped like the input; may be null only when the input has one element.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when the output is independent of the input instead of returning zeros.</param>
        public static (Tensor Output, Tensor Jvp) Jvp(Func<Tensor, Tensor> f, Tensor input, Tensor? v = null, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            var (output, jvp) = JvpCore(Single(f), [CheckInput(input, nameof(input))], v is null ? null : [v], false, createGraph, strict);
            return (output[0], jvp[0]);
        }

        /// <summary><c>torch.autograd.functional.jvp(f, (x0, x1, …), (v0, v1, …))</c>.</summary>
        /// <param name="f">The function.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when a result is independent of the inputs instead of returning zeros.</param>
        /// <param name="inputs">The point, one tensor per argument of <paramref name="f"/>; not modified.</param>
        /// <param name="v">One tensor per input, shaped like it; may be null only for one single-element input.</param>
        public static (Tensor Output, Tensor Jvp) Jvp(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor[]? v = null, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            var (output, jvp) = JvpCore(Multi(f), CheckInputs(inputs), v, true, createGraph, strict);
            return (output[0], jvp[0]);
        }

        /// <summary><c>torch.autograd.functional.jvp(f, (x0, x1, …), (v0, v1, …))</c> of a function returning a tuple: its outputs and one product per output.</summary>
        /// <param name="f">The function; every element of its result must be a live tensor.</param>
        /// <param name="inputs">The point, one tensor per argument of <paramref name="f"/>; not modified.</param>
        /// <param name="v">One tensor per input, shaped like it; may be null only for one single-element input.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when a result is independent of the inputs instead of returning zeros.</param>
        public static (Tensor[] Output, Tensor[] Jvp) Jvp(Func<Tensor[], Tensor[]> f, Tensor[] inputs, Tensor[]? v = null, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            return JvpCore(Checked(f), CheckInputs(inputs), v, true, createGraph, strict);
        }

        /// <summary>
        /// <c>torch.autograd.functional.hvp(f, input, v)</c>: <c>f(input)</c> (one element) and the
        /// Hessian-vector product <c>H·v</c>, shaped like the input, by the double-backward trick.
        /// </summary>
        /// <param name="f">The function; its result must have exactly one element.</param>
        /// <param name="input">The point; not modified.</param>
        /// <param name="v">Shaped like the input.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when the Jacobian or Hessian is independent of the input instead of returning zeros.</param>
        public static (Tensor Output, Tensor Hvp) Hvp(Func<Tensor, Tensor> f, Tensor input, Tensor v, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            ArgumentNullException.ThrowIfNull(v);
            var (output, hvp) = HessianProduct(Single(f), [CheckInput(input, nameof(input))], [v], false, createGraph, strict, "hvp");
            return (output, hvp[0]);
        }

        /// <summary><c>torch.autograd.functional.hvp(f, (x0, x1, …), (v0, v1, …))</c>.</summary>
        /// <param name="f">The function.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when a result is independent of the inputs instead of returning zeros.</param>
        /// <param name="inputs">The point, one tensor per argument of <paramref name="f"/>; not modified.</param>
        /// <param name="v">One tensor per input, shaped like it.</param>
        public static (Tensor Output, Tensor[] Hvp) Hvp(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor[] v, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            ArgumentNullException.ThrowIfNull(v);
            return HessianProduct(Multi(f), CheckInputs(inputs), v, true, createGraph, strict, "hvp");
        }

        /// <summary>
        /// <c>torch.autograd.functional.vhp(f, input, v)</c>: <c>f(input)</c> (one element) and the
        /// vector-Hessian product <c>vᵀ·H</c>, shaped like the input.
        /// </summary>
        /// <param name="f">The function.</param>
        /// <param name="input">The point; not modified.</param>
        /// <param name="v">Shaped like the input.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when a result is independent of the inputs instead of returning zeros.</param>
        public static (Tensor Output, Tensor Vhp) Vhp(Func<Tensor, Tensor> f, Tensor input, Tensor v, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            ArgumentNullException.ThrowIfNull(v);
            var (output, vhp) = HessianProduct(Single(f), [CheckInput(input, nameof(input))], [v], false, createGraph, strict, "vhp");
            return (output, vhp[0]);
        }

        /// <summary><c>torch.autograd.functional.vhp(f, (x0, x1, …), (v0, v1, …))</c>.</summary>
        /// <param name="f">The function.</param>
        /// <param name="inputs">The point, one tensor per argument of <paramref name="f"/>; not modified.</param>
        /// <param name="v">One tensor per input, shaped like it.</param>
        /// <param name="createGraph">Make the results differentiable.</param>
        /// <param name="strict">Throw when a result is independent of the inputs instead of returning zeros.</param>
        public static (Tensor Output, Tensor[] Vhp) Vhp(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor[] v, bool createGraph = false, bool strict = false)
        {
            ArgumentNullException.ThrowIfNull(f);
            ArgumentNullException.ThrowIfNull(v);
            return HessianProduct(Multi(f), CheckInputs(inputs), v, true, createGraph, strict, "vhp");
        }

        // ---- the machinery, on arrays of inputs and outputs, as functional.py works on tuples ----

        private static Func<Tensor[], Tensor[]> Single(Func<Tensor, Tensor> f) => xs => [f(xs[0])];

        private static Func<Tensor[], Tensor[]> Multi(Func<Tensor[], Tensor> f) => xs => [f(xs)];

        /// <summary>A tuple-returning function, its null result refused as PyTorch refuses a non-tuple.</summary>
        private static Func<Tensor[], Tensor[]> Checked(Func<Tensor[], Tensor[]> f) =>
            xs => f(xs) ?? throw new ArgumentException("The user-provided function returned null instead of a tuple of Tensors.", nameof(f));

        private static Tensor CheckInput(Tensor input, string name)
        {
            ArgumentNullException.ThrowIfNull(input, name);
            if (input.IsInvalid)
            {
                throw new ObjectDisposedException(name, $"{name} was disposed.");
            }
            LibTorchLoader.EnsureLoaded();
            return input;
        }

        private static Tensor[] CheckInputs(Tensor[] inputs)
        {
            ArgumentNullException.ThrowIfNull(inputs);
            if (inputs.Length == 0)
            {
                throw new ArgumentException("inputs must hold at least one tensor.", nameof(inputs));
            }
            for (int i = 0; i < inputs.Length; i++)
            {
                CheckInput(inputs[i], $"inputs[{i}]");
            }
            return inputs;
        }

        /// <summary>Runs the user's function and checks what it returned.</summary>
        private static Tensor[] Call(Func<Tensor[], Tensor[]> f, Tensor[] inputs, string fnName)
        {
            Tensor[] outputs = f(inputs);
            for (int i = 0; i < outputs.Length; i++)
            {
                if (outputs[i] is null)
                {
                    throw new ArgumentException($"The outputs of the user-provided function given to {fnName} must be either a Tensor or a tuple of Tensors but the value at index {i} is null.", nameof(f));
                }
                if (outputs[i].IsInvalid)
                {
                    throw new ObjectDisposedException("f", $"The output {i} of the user-provided function given to {fnName} was disposed.");
                }
            }
            for (int i = 0; i < inputs.Length; i++)
            {
                // The inputs are the functional API's own copies: f must not dispose them (TorchSharp would only say
                // "Tensor invalid -- empty handle." on their next use).
                TensorArguments.Live(inputs[i], $"the input {i} given to f by {fnName}");
            }
            return outputs;
        }

        /// <summary>functional.py's <c>_grad_preprocess</c>.</summary>
        private static Tensor[] Preprocess(Tensor[] inputs, bool createGraph, bool needGraph)
        {
            var result = new Tensor[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                result[i] = createGraph && inputs[i].requires_grad
                    ? inputs[i].view_as(inputs[i])
                    // An integer input fails here in libtorch ("Only Tensors of floating point and complex dtype
                    // can require gradients"): raised as AutogradException, as PyTorch raises it.
                    : Ensure.Run(() => inputs[i].detach().requires_grad_(needGraph));
            }
            return result;
        }

        /// <summary>functional.py's <c>_grad_postprocess</c>, plus moving the results out of the call's scope.</summary>
        private static Tensor Postprocess(Tensor t, bool createGraph) =>
            (createGraph ? t.alias() : t.detach()).MoveToOuterDisposeScope();

        /// <summary>
        /// <see cref="Postprocess"/> for a tensor this call made itself (a stacked or batched Jacobian, never one the
        /// user's function returned): without createGraph, one that does not require grad has no graph to cut and
        /// nothing else holds it, so it is returned as it is instead of as a detached alias.
        /// </summary>
        private static Tensor PostprocessOwn(Tensor t, bool createGraph) =>
            !createGraph && !t.requires_grad ? t.MoveToOuterDisposeScope() : Postprocess(t, createGraph);

        /// <summary>functional.py's <c>_check_requires_grad</c>.</summary>
        private static void CheckRequiresGrad(Tensor?[] tensors, string inputType, bool strict)
        {
            if (!strict)
            {
                return;
            }
            for (int i = 0; i < tensors.Length; i++)
            {
                if (tensors[i] is null)
                {
                    throw new AutogradException($"The output of the user-provided function is independent of input {i}. This is not allowed in strict mode.");
                }
                if (!tensors[i]!.requires_grad)
                {
                    throw new AutogradException(inputType switch
                    {
                        "hessian" => $"The hessian of the user-provided function with respect to input {i} is independent of the input. This is not allowed in strict mode. You should ensure that your function is thrice differentiable and that the hessian depends on the inputs.",
                        "jacobian" => $"While computing the hessian, found that the jacobian of the user-provided function with respect to input {i} is independent of the input. This is not allowed in strict mode. You should ensure that your function is twice differentiable and that the jacobian depends on the inputs (this would be violated by a linear function for example).",
                        "grad_inputs" => $"The gradient with respect to input {i} is independent of the inputs of the user-provided function. This is not allowed in strict mode.",
                        _ => $"Output {i} of the user-provided function does not require gradients. The outputs must be computed in a differentiable manner from the input when running in strict mode.",
                    });
                }
            }
        }

        /// <summary>functional.py's <c>_validate_v</c>.</summary>
        private static void ValidateV(Tensor[] v, Tensor[] other, bool isOtherTuple)
        {
            if (v.Length != other.Length)
            {
                throw new ArgumentException(isOtherTuple
                    ? $"v is a tuple of invalid length: should be {other.Length} but got {v.Length}."
                    : "The given v should contain a single Tensor.", nameof(v));
            }
            for (int i = 0; i < v.Length; i++)
            {
                if (!TensorShape.Same(v[i], other[i]))
                {
                    string prepend = isOtherTuple ? $"Entry {i} in " : "";
                    throw new ArgumentException($"{prepend}v has invalid size: should be {PythonText.Size(TensorShape.Of(other[i]))} but got {PythonText.Size(TensorShape.Of(v[i]))}.", nameof(v));
                }
            }
        }

        private static Tensor[] CheckV(Tensor[] v)
        {
            for (int i = 0; i < v.Length; i++)
            {
                CheckInput(v[i], v.Length == 1 ? "v" : $"v[{i}]");
            }
            return v;
        }

        /// <summary>
        /// functional.py's <c>_autograd_grad</c>: gradients of the outputs that require grad (null when none does),
        /// unused inputs as null.
        /// </summary>
        private static Tensor?[] AutogradGrad(Tensor?[] outputs, Tensor[] inputs, Tensor?[]? gradOutputs, bool createGraph, bool? retainGraph = null)
        {
            var kept = new List<Tensor>();
            var keptGrads = new List<Tensor>();
            bool anyNullGrad = false;
            for (int i = 0; i < outputs.Length; i++)
            {
                if (outputs[i] is { requires_grad: true } output)
                {
                    kept.Add(output);
                    Tensor? g = gradOutputs?[i];
                    if (g is null)
                    {
                        anyNullGrad = true;
                    }
                    else
                    {
                        keptGrads.Add(g);
                    }
                }
            }
            if (kept.Count == 0)
            {
                return new Tensor?[inputs.Length];
            }
            // Python passes None for each missing grad; ours takes all or none, so make the missing ones explicit.
            IReadOnlyList<Tensor>? grads = null;
            if (!anyNullGrad)
            {
                grads = keptGrads;
            }
            else if (keptGrads.Count > 0)
            {
                var all = new List<Tensor>();
                for (int i = 0; i < outputs.Length; i++)
                {
                    if (outputs[i] is { requires_grad: true } output)
                    {
                        all.Add(gradOutputs?[i] ?? torch.ones_like(output));
                    }
                }
                grads = all;
            }
            return Grad(kept, inputs, grads, retainGraph, createGraph, allowUnused: true);
        }

        /// <summary>functional.py's <c>_fill_in_zeros</c>.</summary>
        private static Tensor[] FillInZeros(Tensor?[] grads, Tensor[] refs, bool strict, bool createGraph, string stage)
        {
            var result = new Tensor[grads.Length];
            for (int i = 0; i < grads.Length; i++)
            {
                if (grads[i] is null)
                {
                    if (strict)
                    {
                        throw new AutogradException(stage switch
                        {
                            "back" => $"The output of the user-provided function is independent of input {i}. This is not allowed in strict mode.",
                            "back_trick" => $"The gradient with respect to the input is independent of entry {i} in the grad_outputs when using the double backward trick to compute forward mode gradients. This is not allowed in strict mode.",
                            "double_back" => $"The jacobian of the user-provided function is independent of input {i}. This is not allowed in strict mode.",
                            _ => $"The hessian of the user-provided function is independent of entry {i} in the grad_jacobian. This is not allowed in strict mode as it prevents from using the double backward trick to replace forward mode AD.",
                        });
                    }
                    result[i] = torch.zeros_like(refs[i]);
                }
                else
                {
                    if (strict && createGraph && !grads[i]!.requires_grad)
                    {
                        throw new AutogradException(stage.Contains("double", StringComparison.Ordinal)
                            ? $"The hessian of the user-provided function is independent of input {i}. This is not allowed in strict mode when create_graph=True."
                            : $"The jacobian of the user-provided function is independent of input {i}. This is not allowed in strict mode when create_graph=True.");
                    }
                    result[i] = grads[i]!;
                }
            }
            return result;
        }

        private static (Tensor[] Output, Tensor[] Vjp) VjpCore(Func<Tensor[], Tensor[]> f, Tensor[] inputs, Tensor[]? v, bool isOutputsTuple, bool createGraph, bool strict)
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor[] xs, outputs;
            Tensor[]? vs = null;
            using (torch.enable_grad())
            {
                xs = Preprocess(inputs, createGraph, needGraph: true);
                outputs = Call(f, xs, "vjp");
                CheckRequiresGrad(outputs, "outputs", strict);
                if (v is not null)
                {
                    vs = Preprocess(CheckV(v), createGraph, needGraph: false);
                    ValidateV(vs, outputs, isOutputsTuple);
                }
                else if (outputs.Length != 1 || outputs[0].numel() != 1)
                {
                    throw new ArgumentException("The vector v can only be None if the user-provided function returns a single Tensor with a single element.", nameof(v));
                }
            }
            Tensor[] vjp;
            using (torch.set_grad_enabled(createGraph || torch.is_grad_enabled()))
            {
                vjp = FillInZeros(AutogradGrad(outputs, xs, vs, createGraph), xs, strict, createGraph, "back");
            }
            return (outputs.Select(t => Postprocess(t, createGraph)).ToArray(), vjp.Select(t => Postprocess(t, createGraph)).ToArray());
        }

        /// <summary>
        /// The Jacobian-vector product in one forward-mode pass, or null when it cannot be had that way (a dual level is
        /// already open, or an operation of f has no forward derivative): the caller then runs the double-backward trick.
        /// </summary>
        private static (Tensor[] Output, Tensor[] Jvp)? ForwardModeJvp(Func<Tensor[], Tensor[]> f, Tensor[] inputs, Tensor[] v, bool isInputsTuple)
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor[] xs = Preprocess(inputs, createGraph: false, needGraph: false);
            Tensor[] vs = Preprocess(CheckV(v), createGraph: false, needGraph: false);
            ValidateV(vs, xs, isInputsTuple);
            if (!xs.All(TensorArguments.HasDifferentiableDtype) || !vs.All(TensorArguments.HasDifferentiableDtype))
            {
                return null;
            }
            using IDisposable? level = ForwardAD.TryDualLevel();
            if (level is null)
            {
                return null;
            }
            Tensor[] output, tangent;
            try
            {
                using (torch.no_grad())
                {
                    Tensor[] duals = new Tensor[xs.Length];
                    for (int i = 0; i < xs.Length; i++)
                    {
                        duals[i] = ForwardAD.MakeDual(xs[i], vs[i]);
                    }
                    Tensor[] results = Call(f, duals, "jvp");
                    output = new Tensor[results.Length];
                    tangent = new Tensor[results.Length];
                    for (int i = 0; i < results.Length; i++)
                    {
                        UnpackedDual unpacked = ForwardAD.UnpackDual(results[i]);
                        output[i] = unpacked.Primal.detach();
                        tangent[i] = unpacked.Tangent is { } t ? t.detach() : torch.zeros_like(output[i]);
                    }
                }
            }
            // Our own calls raise AutogradException, TorchSharp's ops ExternalException, with libtorch's one message.
            catch (Exception e) when (e is AutogradException or System.Runtime.InteropServices.ExternalException
                && e.Message.StartsWith("Trying to use forward AD with", StringComparison.Ordinal))
            {
                return null;
            }
            return (output.Select(t => t.MoveToOuterDisposeScope()).ToArray(), tangent.Select(t => t.MoveToOuterDisposeScope()).ToArray());
        }

        private static (Tensor[] Output, Tensor[] Jvp) JvpCore(Func<Tensor[], Tensor[]> f, Tensor[] inputs, Tensor[]? v, bool isInputsTuple, bool createGraph, bool strict)
        {
            if (!createGraph && !strict && v is not null && ForwardModeJvp(f, inputs, v, isInputsTuple) is { } forward)
            {
                return forward;
            }
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor[] xs, outputs, gradOutputs;
            Tensor?[] gradInputs;
            Tensor[]? vs = null;
            using (torch.enable_grad())
            {
                xs = Preprocess(inputs, createGraph, needGraph: true);
                if (v is not null)
                {
                    vs = Preprocess(CheckV(v), createGraph, needGraph: false);
                    ValidateV(vs, xs, isInputsTuple);
                }
                else if (xs.Length != 1 || xs[0].numel() != 1)
                {
                    throw new ArgumentException("The vector v can only be None if the input to the user-provided function is a single Tensor with a single element.", nameof(v));
                }
                outputs = Call(f, xs, "jvp");
                CheckRequiresGrad(outputs, "outputs", strict);
                gradOutputs = outputs.Select(o => torch.zeros_like(o, requires_grad: true)).ToArray();
                gradInputs = AutogradGrad(outputs, xs, gradOutputs, createGraph: true);
                CheckRequiresGrad(gradInputs, "grad_inputs", strict);
            }
            Tensor[] jvp;
            using (torch.set_grad_enabled(createGraph || torch.is_grad_enabled()))
            {
                jvp = FillInZeros(AutogradGrad(gradInputs, gradOutputs, vs, createGraph), outputs, strict, createGraph, "back_trick");
            }
            return (outputs.Select(t => Postprocess(t, createGraph)).ToArray(), jvp.Select(t => Postprocess(t, createGraph)).ToArray());
        }

        private static (Tensor Output, Tensor[] Product) HessianProduct(Func<Tensor[], Tensor[]> f, Tensor[] inputs, Tensor[] v, bool isInputsTuple, bool createGraph, bool strict, string fnName)
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor[] xs, outputs, vs;
            Tensor?[] jac;
            Tensor?[] gradJac = [];
            Tensor?[] doubleBack = [];
            using (torch.enable_grad())
            {
                xs = Preprocess(inputs, createGraph, needGraph: true);
                vs = Preprocess(CheckV(v), createGraph, needGraph: false);
                ValidateV(vs, xs, isInputsTuple);
                outputs = Call(f, xs, fnName);
                CheckRequiresGrad(outputs, "outputs", strict);
                if (outputs[0].numel() != 1)
                {
                    throw new ArgumentException($"The Tensor returned by the function given to {fnName} should contain a single element", nameof(f));
                }
                jac = AutogradGrad(outputs, xs, null, createGraph: true);
                CheckRequiresGrad(jac, "jacobian", strict);
                if (fnName == "hvp")
                {
                    gradJac = xs.Select(x => torch.zeros_like(x, requires_grad: true)).ToArray();
                    doubleBack = AutogradGrad(jac, xs, gradJac, createGraph: true);
                }
            }
            Tensor[] product;
            using (torch.set_grad_enabled(createGraph || torch.is_grad_enabled()))
            {
                product = fnName == "hvp"
                    ? FillInZeros(AutogradGrad(doubleBack, gradJac!, vs, createGraph), xs, strict, createGraph, "double_back_trick")
                    : FillInZeros(AutogradGrad(jac, xs, vs, createGraph), xs, strict, createGraph, "double_back");
            }
            return (Postprocess(outputs[0], createGraph), product.Select(t => Postprocess(t, createGraph)).ToArray());
        }

        private static Tensor[][] HessianCore(Func<Tensor[], Tensor[]> f, Tensor[] inputs, bool createGraph, bool strict, bool vectorize, JacobianStrategy outerJacobianStrategy)
        {
            // functional.py's hessian is jacobian(jac_func), where jac_func is an inner
            // jacobian(ensure_single_output_function, create_graph=True). The inner one is written out here: its
            // inputs are always the outer Jacobian's own tensors (fresh leaves, or views of the caller's inputs
            // when createGraph is set), so the inner _grad_preprocess view and the stack/view/alias of a one-row
            // Jacobian only add nodes that each of the outer loop's n backward passes would run through (measured
            // 1.27x the raw loop with them, when those passes also copied into the view's .grad). The values are
            // the same, and so is the node each result hangs from; PyTorch's texts and strict checks stay.
            Tensor[] JacFunc(Tensor[] xs)
            {
                Tensor[] outputs = Call(f, xs, "hessian");
                CheckRequiresGrad(outputs, "outputs", strict);
                Tensor output = outputs[0];
                if (output.numel() != 1)
                {
                    throw new ArgumentException("The Tensor returned by the function given to hessian should contain a single element", nameof(f));
                }
                if (output.dim() != 0)
                {
                    output = output.squeeze();
                }
                var jac = new Tensor[xs.Length];
                if (output.requires_grad)
                {
                    Tensor?[] grads = GradCore([output], xs, [torch.ones_like(output)], retainGraph: true, createGraph: true);
                    for (int k = 0; k < xs.Length; k++)
                    {
                        jac[k] = grads[k] ?? torch.zeros_like(xs[k]);
                    }
                }
                else
                {
                    for (int k = 0; k < xs.Length; k++)
                    {
                        jac[k] = torch.zeros_like(xs[k]);
                    }
                }
                CheckRequiresGrad(jac, "jacobian", strict);
                return jac;
            }

            return JacobianCore(JacFunc, inputs, createGraph, strict, vectorize, outerJacobianStrategy, "hessian");
        }

        /// <summary>The Jacobian blocks <c>[output][input]</c>, each shaped <c>output.shape + input.shape</c>.</summary>
        /// <remarks>
        /// <paramref name="userFunction"/> is the caller's own delegate, by which the vectorized path remembers
        /// output sizes; null when <paramref name="f"/> is internal.
        /// </remarks>
        private static Tensor[][] JacobianCore(Func<Tensor[], Tensor[]> f, Tensor[] inputs, bool createGraph, bool strict, bool vectorize, JacobianStrategy strategy, string fnName, Delegate? userFunction = null)
        {
            if (strategy == JacobianStrategy.ForwardMode)
            {
                // functional.py's order: create_graph first, then _jacfwd's strict, then its vectorize.
                if (createGraph)
                {
                    throw new NotSupportedException("torch.autograd.functional.jacobian: `create_graph=True` and `strategy=\"forward-mode\"` are not supported together (yet). Please either set `create_graph=False` or `strategy=\"reverse-mode\"`.");
                }
                if (strict)
                {
                    throw new ArgumentException("torch.autograd.functional.jacobian: `strict=True` and `strategy=\"forward-mode\"` are not supported together (yet). Please either set `strict=False` or `strategy=\"reverse-mode\"`.", nameof(strict));
                }
                if (!vectorize)
                {
                    throw new NotSupportedException("Computing Jacobian using forward-AD or forward-over-reverse Hessian isonly implemented for `vectorize=True`.");
                }
                return JacobianForwardVectorized(f, inputs);
            }
            if (vectorize && strict)
            {
                throw new ArgumentException("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not supported together. Please either set `strict=False` or `vectorize=False`.", nameof(strict));
            }
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor[][] result = vectorize
                ? JacobianVectorized(f, userFunction ?? f, inputs, createGraph)
                : JacobianLoop(f, inputs, createGraph, strict, fnName);
            foreach (Tensor[] row in result)
            {
                for (int j = 0; j < row.Length; j++)
                {
                    row[j] = PostprocessOwn(row[j], createGraph);
                }
            }
            return result;
        }

        /// <summary>How many elements the one-hot seeds of one chunk of Jacobian rows may hold (8 MB of float64).</summary>
        private const long SeedChunkElements = 1L << 20;

        private static Tensor[][] JacobianLoop(Func<Tensor[], Tensor[]> f, Tensor[] inputs, bool createGraph, bool strict, string fnName)
        {
            // Everything, stacking included, under grad mode as functional.py's jacobian does: with createGraph the
            // result must keep its graph even when the caller runs this inside NoGrad.
            using IDisposable gradMode = torch.enable_grad();
            Tensor[] xs = Preprocess(inputs, createGraph, needGraph: true);
            Tensor[] outputs = Call(f, xs, fnName);
            CheckRequiresGrad(outputs, "outputs", strict);
            var result = new Tensor[outputs.Length][];
            for (int i = 0; i < outputs.Length; i++)
            {
                Tensor output = outputs[i];
                long m = output.numel();
                result[i] = new Tensor[xs.Length];
                if (!output.requires_grad || m == 0)
                {
                    if (strict && m > 0)
                    {
                        throw new AutogradException($"Output {i} of the user-provided function is independent of input 0. This is not allowed in strict mode.");
                    }
                    for (int k = 0; k < xs.Length; k++)
                    {
                        result[i][k] = torch.zeros([.. TensorShape.Of(output), .. TensorShape.Of(xs[k])], dtype: xs[k].dtype, device: xs[k].device);
                    }
                    continue;
                }
                // Without createGraph each chunk's rows are copied into the result made up front; with it, each chunk
                // is stacked (keeping its graph) and the chunks concatenated at the end. Small tensors kept alive
                // between the rows' large temporaries fragment the native heap: a block kept a chunk peaked at
                // 3.8 GB for m = 80000, a tensor kept a row at 7 GB for m = 30000.
                var blocks = new List<Tensor>[xs.Length];
                var filled = new Tensor?[xs.Length];
                for (int k = 0; k < xs.Length; k++)
                {
                    blocks[k] = [];
                    filled[k] = createGraph ? null : torch.empty([m, .. TensorShape.Of(xs[k])], dtype: xs[k].dtype, device: xs[k].device);
                }
                // The rows a chunk at a time (PyTorch takes them one at a time): an m×m identity of seeds made up
                // front took 7 GB for m = 30000 and could not be allocated for m = 80000.
                long chunk = Math.Max(1, SeedChunkElements / m);
                for (long start = 0; start < m; start += chunk)
                {
                    long count = Math.Min(chunk, m - start);
                    using DisposeScope chunkScope = torch.NewDisposeScope();
                    Tensor seedBlock = torch.zeros([count, m], dtype: output.dtype, device: output.device);
                    seedBlock.diagonal(offset: start).fill_(1);
                    // One-hot seeds replace PyTorch's out.reshape(-1)[j], which adds a select node a row; the rows of
                    // the chunk run in one native call, the graph retained after the last, as PyTorch's loop does.
                    Tensor[] seeds = seedBlock.view([count, .. TensorShape.Of(output)]).unbind(0);
                    Tensor?[] grads = GradPasses([output], xs, seeds, checked((int)count), retainGraph: true, createGraph);
                    var rows = new Tensor[count];
                    for (int k = 0; k < xs.Length; k++)
                    {
                        for (long r = 0; r < count; r++)
                        {
                            if (grads[r * xs.Length + k] is not { } g)
                            {
                                if (strict)
                                {
                                    throw new AutogradException($"Output {i} of the user-provided function is independent of input {k}. This is not allowed in strict mode.");
                                }
                                rows[r] = torch.zeros_like(xs[k]);
                                continue;
                            }
                            if (strict && createGraph && !g.requires_grad)
                            {
                                // PyTorch formats this message with the output's index, not the input's.
                                throw new AutogradException($"The jacobian of the user-provided function is independent of input {i}. This is not allowed in strict mode when create_graph=True.");
                            }
                            rows[r] = g;
                        }
                        if (filled[k] is { } target)
                        {
                            using (torch.no_grad())
                            {
                                target.narrow(0, start, count).copy_(torch.stack(rows, 0));
                            }
                        }
                        else
                        {
                            blocks[k].Add(torch.stack(rows, 0).MoveToOuterDisposeScope());
                        }
                    }
                }
                for (int k = 0; k < xs.Length; k++)
                {
                    Tensor all = filled[k] ?? (blocks[k].Count == 1 ? blocks[k][0] : torch.cat(blocks[k], 0));
                    result[i][k] = all.view([.. TensorShape.Of(output), .. TensorShape.Of(xs[k])]);
                }
            }
            return result;
        }

        /// <summary>
        /// The forward-mode vectorized Jacobian: PyTorch vmaps a forward-mode jvp over the identity, which needs the
        /// vmap of <c>TorchFunc</c>; until that is wired here this is refused rather than computed some other way.
        /// </summary>
        private static Tensor[][] JacobianForwardVectorized(Func<Tensor[], Tensor[]> f, Tensor[] inputs)
        {
            // functional.py's _jacfwd: the standard basis of all inputs pushed forward by forward-mode passes; row k of
            // output i's result is the tangent of output i for basis vector k, so each input's block is moved last.
            // PyTorch vmaps the passes with its legacy vmap; libtorch 2.10's functorch vmap has no batching rule for
            // _make_dual, so the basis goes through one pass a vector (the values are the same).
            using DisposeScope scope = torch.NewDisposeScope();
            long[] numels = [.. inputs.Select(x => x.numel())];
            long total = numels.Sum();
            var basis = new Tensor[inputs.Length];
            long offset = 0;
            for (int j = 0; j < inputs.Length; j++)
            {
                Tensor block = torch.zeros([total, numels[j]], dtype: inputs[j].dtype, device: inputs[j].device);
                block.narrow(0, offset, numels[j]).copy_(torch.eye(numels[j], dtype: inputs[j].dtype, device: inputs[j].device));
                basis[j] = block.reshape([total, .. inputs[j].shape]);
                offset += numels[j];
            }
            Tensor[] primals = [.. inputs.Select(x => x.detach())];
            Tensor[] Pushforward(Tensor[] tangents)
            {
                using (Autograd.ForwardAD.DualLevel())
                {
                    Tensor[] duals = [.. primals.Select((x, j) => Autograd.ForwardAD.MakeDual(x, tangents[j]))];
                    Tensor[] outputs = Call(f, duals, "jacobian");
                    return [.. outputs.Select(o => Autograd.ForwardAD.UnpackDual(o) is var (primal, tangent) ? tangent ?? torch.zeros_like(primal) : null!)];
                }
            }
            Tensor[][] rows = [.. Enumerable.Range(0, (int)total).Select(k => Pushforward([.. basis.Select(b => b[k])]))];
            Tensor[] stacked = [.. Enumerable.Range(0, rows[0].Length).Select(i => torch.stack([.. rows.Select(r => r[i])]))];
            var result = new Tensor[stacked.Length][];
            for (int i = 0; i < stacked.Length; i++)
            {
                Tensor[] blocks = stacked[i].split(numels, 0);
                result[i] = new Tensor[inputs.Length];
                for (int j = 0; j < inputs.Length; j++)
                {
                    Tensor block = blocks[j];
                    long[] order = [.. Enumerable.Range(1, (int)block.ndim - 1).Select(d => (long)d), 0];
                    result[i][j] = block.permute(order).reshape([.. stacked[i].shape[1..], .. inputs[j].shape]).contiguous().MoveToOuterDisposeScope();
                }
            }
            return result;
        }

        private static Tensor[][] JacobianVectorized(Func<Tensor[], Tensor[]> f, Delegate userFunction, Tensor[] inputs, bool createGraph)
        {
            // PyTorch's vectorize: f once, unbatched; the backward pass vmapped over the standard basis of its outputs.
            _ = userFunction;
            Tensor[] xs, outputs;
            using (torch.enable_grad())
            {
                xs = Preprocess(inputs, createGraph, needGraph: true);
                outputs = Call(f, xs, "jacobian");
            }
            return VectorizedJacobian.Jacobian(outputs, xs, createGraph);
        }
    }
}
