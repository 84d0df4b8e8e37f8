using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>
    /// <c>torch.autograd.gradcheck(f, inputs)</c> for a function of one output; see the several-output overload.
    /// </summary>
    /// <param name="f">The function.</param>
    /// <param name="inputs">The point; those that require grad are checked.</param>
    /// <param name="eps">The finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="raiseException">Throw <see cref="GradCheckException"/> on a failed check instead of returning false.</param>
    /// <param name="fastMode">PyTorch's <c>fast_mode</c> (not yet supported: refused).</param>
    /// <param name="checkUndefinedGrad">Also check that backward handles undefined output gradients.</param>
    /// <param name="checkBatchedGrad">PyTorch's <c>check_batched_grad</c> (needs vmap: refused until then).</param>
    /// <returns>Whether every check passed.</returns>
    public static bool GradCheck(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, bool raiseException = true, bool fastMode = false, bool checkUndefinedGrad = true, bool checkBatchedGrad = false)
    {
        ArgumentNullException.ThrowIfNull(f);
        return GradCheck(xs => [f(xs)], inputs, eps, atol, rtol, raiseException, fastMode, checkUndefinedGrad, checkBatchedGrad);
    }

    /// <summary>
    /// <c>torch.autograd.gradcheck(f, inputs)</c> (slow mode, backward AD): compares the analytical Jacobian of every
    /// output that requires grad with central finite differences, for every input that requires grad; an element
    /// passes when <c>|analytical − numerical| ≤ atol + rtol·|numerical|</c>. Then, as PyTorch does, checks that
    /// backward is multiplied by the output gradient and (with <paramref name="checkUndefinedGrad"/>) that it handles
    /// undefined output gradients.
    /// </summary>
    /// <remarks>
    /// <para>As in PyTorch, f runs under the caller's grad mode with inputs that require grad, also for the finite
    /// differences, so an f that itself calls <see cref="Grad"/> (the gradgradcheck pattern) can be checked. The
    /// check runs on copies of the inputs: they are never modified.</para>
    /// <para>An input that requires grad and is not float64 gets PyTorch's warning through
    /// <see cref="Trace.TraceWarning(string)"/> (PyTorch's <c>warnings.warn</c>), and is checked.</para>
    /// <para>Not yet: complex inputs or outputs, <paramref name="fastMode"/>, <paramref name="checkBatchedGrad"/>
    /// (they raise <see cref="NotSupportedException"/>).</para>
    /// <para>Thread-safety: safe to call from several threads.</para>
    /// </remarks>
    /// <param name="f">The function.</param>
    /// <param name="inputs">The point; those that require grad are checked.</param>
    /// <param name="eps">The finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="raiseException">Throw <see cref="GradCheckException"/> on a failed check instead of returning false.</param>
    /// <param name="fastMode">PyTorch's <c>fast_mode</c> (not yet supported: refused).</param>
    /// <param name="checkUndefinedGrad">Also check that backward handles undefined output gradients.</param>
    /// <param name="checkBatchedGrad">PyTorch's <c>check_batched_grad</c> (needs vmap: refused until then).</param>
    /// <returns>Whether every check passed.</returns>
    /// <exception cref="ArgumentException">No input requires grad, one has a stride-0 dimension, or f's outputs change shape under perturbation.</exception>
    /// <exception cref="GradCheckException">A failed check, with <paramref name="raiseException"/>.</exception>
    public static bool GradCheck(Func<Tensor[], Tensor[]> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, bool raiseException = true, bool fastMode = false, bool checkUndefinedGrad = true, bool checkBatchedGrad = false)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        CheckElements(inputs, nameof(inputs));
        LibTorchLoader.EnsureLoaded();
        if (fastMode)
        {
            throw new NotSupportedException("GradCheck with fastMode: true is not implemented yet; use the default slow mode.");
        }
        if (checkBatchedGrad)
        {
            throw new NotSupportedException("GradCheck with checkBatchedGrad: true needs TorchFunc.Vmap, which GradCheck does not use yet.");
        }
        GradCheckInputs(inputs);
        try
        {
            using DisposeScope scope = torch.NewDisposeScope();
            GradCheckCore(f, inputs, eps, atol, rtol, checkUndefinedGrad);
            return true;
        }
        catch (GradCheckException) when (!raiseException)
        {
            return false;
        }
    }

    /// <summary>
    /// <c>torch.autograd.gradgradcheck(f, inputs, grad_outputs)</c> for a function of one output; see the
    /// several-output overload.
    /// </summary>
    /// <param name="f">The function.</param>
    /// <param name="inputs">The point; those that require grad are checked.</param>
    /// <param name="gradOutputs">The output gradients; null for random ones in [−1, 1) that require grad, as PyTorch makes them.</param>
    /// <param name="eps">The finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="raiseException">Throw <see cref="GradCheckException"/> on a failed check instead of returning false.</param>
    /// <param name="fastMode">PyTorch's <c>fast_mode</c> (not yet supported: refused).</param>
    /// <param name="checkUndefinedGrad">Also check that the double backward handles undefined output gradients.</param>
    /// <param name="checkBatchedGrad">PyTorch's <c>check_batched_grad</c> (needs vmap: refused until then).</param>
    /// <param name="genNonContigGradOutputs">Make the generated output gradients non-contiguous.</param>
    /// <returns>Whether every check passed.</returns>
    public static bool GradGradCheck(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor[]? gradOutputs = null, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, bool raiseException = true, bool fastMode = false, bool checkUndefinedGrad = true, bool checkBatchedGrad = false, bool genNonContigGradOutputs = false)
    {
        ArgumentNullException.ThrowIfNull(f);
        return GradGradCheck(xs => [f(xs)], inputs, gradOutputs, eps, atol, rtol, raiseException, fastMode, checkUndefinedGrad, checkBatchedGrad, genNonContigGradOutputs);
    }

    /// <summary>
    /// <c>torch.autograd.gradgradcheck(f, inputs, grad_outputs)</c>: <see cref="GradCheck(Func{Tensor[], Tensor[]}, Tensor[], double, double, double, bool, bool, bool, bool)"/>
    /// of the function <c>(inputs, gradOutputs) ↦ Grad(f(inputs), inputs, gradOutputs, createGraph: true)</c>, so
    /// second derivatives are checked against finite differences of first ones.
    /// </summary>
    /// <remarks>Thread-safety: safe to call from several threads.</remarks>
    /// <param name="f">The function.</param>
    /// <param name="inputs">The point; those that require grad are checked.</param>
    /// <param name="gradOutputs">One per output that requires grad; null for random ones in [−1, 1) that require grad, as PyTorch makes them.</param>
    /// <param name="eps">The finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="raiseException">Throw <see cref="GradCheckException"/> on a failed check instead of returning false.</param>
    /// <param name="fastMode">PyTorch's <c>fast_mode</c> (not yet supported: refused).</param>
    /// <param name="checkUndefinedGrad">Also check that the double backward handles undefined output gradients.</param>
    /// <param name="checkBatchedGrad">PyTorch's <c>check_batched_grad</c> (needs vmap: refused until then).</param>
    /// <param name="genNonContigGradOutputs">Make the generated output gradients non-contiguous.</param>
    /// <returns>Whether every check passed.</returns>
    public static bool GradGradCheck(Func<Tensor[], Tensor[]> f, Tensor[] inputs, Tensor[]? gradOutputs = null, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, bool raiseException = true, bool fastMode = false, bool checkUndefinedGrad = true, bool checkBatchedGrad = false, bool genNonContigGradOutputs = false)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        CheckElements(inputs, nameof(inputs));
        LibTorchLoader.EnsureLoaded();
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor[] grads;
        if (gradOutputs is null)
        {
            Tensor[] outputs = DifferentiableOutputs(f(inputs));
            grads = outputs.Select(o => RandomGradOutput(o, genNonContigGradOutputs)).ToArray();
        }
        else
        {
            CheckElements(gradOutputs, nameof(gradOutputs));
            grads = gradOutputs;
        }
        int numInputs = inputs.Length, numOutputs = grads.Length;
        bool[] diffInput = inputs.Select(x => x.requires_grad).ToArray();
        Tensor[] NewFunc(Tensor[] args)
        {
            Tensor[] inputArgs = args[..numInputs];
            Tensor[] outputs = DifferentiableOutputs(f(inputArgs));
            Tensor[] gradArgs = args[numInputs..];
            Tensor[] diffInputArgs = inputArgs.Where((_, i) => diffInput[i]).ToArray();
            Tensor?[] gradInputs = Grad(outputs, diffInputArgs, gradArgs, createGraph: true, allowUnused: true);
            return gradInputs.Where(g => g is not null).Select(g => g!).ToArray();
        }
        return GradCheck(NewFunc, [.. inputs, .. grads], eps, atol, rtol, raiseException, fastMode, checkUndefinedGrad, checkBatchedGrad);
    }

    /// <summary><c>torch.testing.make_tensor(shape, low=-1, high=1, requires_grad=True, noncontiguous=…)</c> for an output.</summary>
    private static Tensor RandomGradOutput(Tensor output, bool noncontiguous)
    {
        ScalarType dtype = torch.is_floating_point(output) || torch.is_complex(output) ? output.dtype : ScalarType.Float64;
        long[] shape = TensorShape.Of(output);
        Tensor values = torch.rand(shape, dtype: dtype, device: output.device) * 2 - 1;
        if (noncontiguous && values.numel() > 1)
        {
            // make_tensor's way: every other element of a tensor twice as long in the last dimension.
            long[] wide = shape.Length == 0 ? [2] : [.. shape[..^1], shape[^1] * 2];
            Tensor backing = torch.empty(wide, dtype: dtype, device: output.device);
            Tensor view = backing.narrow(-1, 0, wide[^1]).slice(-1, 0, wide[^1], 2);
            view.copy_(values);
            values = view;
        }
        return values.detach().requires_grad_(true);
    }

    private static Tensor[] DifferentiableOutputs(Tensor[] outputs) => outputs.Where(o => o is { requires_grad: true }).ToArray();

    /// <summary>gradcheck.py's <c>_check_inputs</c>.</summary>
    private static void GradCheckInputs(Tensor[] inputs)
    {
        bool any = false;
        for (int idx = 0; idx < inputs.Length; idx++)
        {
            Tensor inp = inputs[idx];
            if (!inp.requires_grad)
            {
                continue;
            }
            if (inp.dtype is not (ScalarType.Float64 or ScalarType.ComplexFloat64))
            {
                Trace.TraceWarning($"Input #{idx} requires gradient and is not a double precision floating point or complex. This check will likely fail if all the inputs are not of double precision floating point or complex. ");
            }
            long[] sizes = TensorShape.Of(inp);
            long[] strides = inp.stride();
            for (int d = 0; d < sizes.Length; d++)
            {
                if (!(strides[d] > 0 || sizes[d] <= 1))
                {
                    throw new ArgumentException($"The {idx}th input has a dimension with stride 0. gradcheck only supports inputs that are non-overlapping to be able to compute the numerical gradients correctly. You should call .contiguous on the input before passing it to gradcheck.", nameof(inputs));
                }
            }
            if (inp.is_complex())
            {
                throw new NotSupportedException($"GradCheck of a complex input (input {idx}) is not implemented yet: PyTorch checks its real and imaginary parts (Wirtinger derivatives) separately.");
            }
            any = true;
        }
        if (!any)
        {
            throw new ArgumentException("gradcheck expects at least one input tensor to require gradient, but none of the them have requires_grad=True.", nameof(inputs));
        }
    }

    private static void GradCheckCore(Func<Tensor[], Tensor[]> f, Tensor[] inputs, double eps, double atol, double rtol, bool checkUndefinedGrad)
    {
        // Copies, so that the caller's tensors are never perturbed; each keeps requires_grad.
        Tensor[] xs = inputs.Select(x => x.detach().clone().requires_grad_(x.requires_grad)).ToArray();
        int[] diffIndices = Enumerable.Range(0, xs.Length).Where(k => xs[k].requires_grad).ToArray();
        Tensor[] diffInputs = diffIndices.Select(k => xs[k]).ToArray();
        Tensor[] Run(Tensor[] args) => f(args) ?? throw new ArgumentException("The function given to gradcheck returned null.", nameof(f));

        Tensor[] funcOut = Run(xs);
        if (funcOut.Any(o => o is null))
        {
            throw new ArgumentException("The function given to gradcheck returned a null output.", nameof(f));
        }
        if (funcOut.Any(o => o.is_complex()))
        {
            throw new NotSupportedException("GradCheck of a function with complex outputs is not implemented yet: PyTorch checks their real and imaginary parts separately.");
        }
        Tensor[] outputs = DifferentiableOutputs(funcOut);

        // Analytical Jacobians first: the finite differences below perturb the inputs in place, which would make
        // the graph of funcOut unusable (PyTorch perturbs .data, which bypasses the version counter).
        var analytical = new Tensor[outputs.Length][];
        for (int i = 0; i < outputs.Length; i++)
        {
            Tensor[] first = AnalyticalJacobian(outputs[i], diffInputs, out bool sizesOk);
            Tensor[] second = AnalyticalJacobian(outputs[i], diffInputs, out _);
            if (!sizesOk)
            {
                throw new GradCheckException("Analytical gradient has incorrect size");
            }
            for (int c = 0; c < first.Length; c++)
            {
                if (first[c].numel() != 0 && (first[c] - second[c]).abs().max().to_type(ScalarType.Float64).item<double>() > 0)
                {
                    throw new GradCheckException("Backward is not reentrant, i.e., running backward with same input and grad_output multiple times gives different values, although analytical gradient matches numerical gradient.The tolerance for nondeterminism was 0.0.");
                }
            }
            analytical[i] = first;
        }

        // Numerical: central differences of every output for every element of every input requiring grad.
        // numerical[c][o]: input c (among those requiring grad) × output o (every float output).
        bool[] floatOutput = funcOut.Select(o => torch.is_floating_point(o)).ToArray();
        var numerical = new Tensor[diffIndices.Length][];
        for (int c = 0; c < diffIndices.Length; c++)
        {
            Tensor x = xs[diffIndices[c]];
            long n = x.numel();
            numerical[c] = funcOut.Select(o => torch.zeros([n, o.numel()], dtype: floatOutput.Length > 0 && torch.is_floating_point(o) ? o.dtype : ScalarType.Float64, device: o.device)).ToArray();
            Tensor flat = x.detach().view(-1);
            long[] shape = TensorShape.Of(x);
            for (long e = 0; e < n; e++)
            {
                using DisposeScope step = torch.NewDisposeScope();
                Tensor entry = flat.narrow(0, e, 1);
                Tensor orig = entry.clone();
                using (torch.no_grad())
                {
                    entry.copy_(orig - eps);
                }
                Tensor[] outA = Run(xs).Select(o => o.detach().clone()).ToArray();
                using (torch.no_grad())
                {
                    entry.copy_(orig + eps);
                }
                Tensor[] outB = Run(xs).Select(o => o.detach().clone()).ToArray();
                using (torch.no_grad())
                {
                    entry.copy_(orig);
                }
                for (int o = 0; o < funcOut.Length; o++)
                {
                    CheckSameDtypeAndShape(outA[o], outB[o], eps, nameof(f));
                    if (floatOutput[o])
                    {
                        numerical[c][o][e].copy_(((outB[o] - outA[o]) / (2 * eps)).reshape(-1));
                    }
                }
            }
        }

        if (outputs.Length == 0)
        {
            // No differentiable output: every numerical derivative must be zero.
            foreach (Tensor[] perInput in numerical)
            {
                for (int o = 0; o < perInput.Length; o++)
                {
                    if (floatOutput[o] && torch.ne(perInput[o], 0).sum().item<long>() > 0)
                    {
                        throw new GradCheckException("Numerical gradient for function expected to be zero");
                    }
                }
            }
            return;
        }

        int[] diffOutputIndices = Enumerable.Range(0, funcOut.Length).Where(o => funcOut[o].requires_grad).ToArray();
        for (int i = 0; i < outputs.Length; i++)
        {
            for (int c = 0; c < diffIndices.Length; c++)
            {
                Tensor a = analytical[i][c];
                Tensor nu = numerical[c][diffOutputIndices[i]];
                ScalarType promoted = torch.promote_types(a.dtype, nu.dtype);
                Tensor a2 = a.to(promoted), n2 = nu.to(a.device).to(promoted);
                if (!torch.allclose(a2, n2, rtol, atol))
                {
                    throw Mismatch(a2, n2, i, c, atol, rtol);
                }
            }
        }

        // _test_backward_mul_by_grad_output: zero output gradients give zero input gradients, of the inputs' type and size.
        Tensor[] fresh = DifferentiableOutputs(Run(xs));
        Tensor?[] zeroGrads = Grad(fresh, diffInputs, fresh.Select(o => torch.zeros_like(o)).ToArray(), allowUnused: true);
        for (int c = 0; c < diffInputs.Length; c++)
        {
            if (zeroGrads[c] is not { } gi)
            {
                continue;
            }
            if (!gi.eq(0).all().item<bool>())
            {
                throw new GradCheckException("backward not multiplied by grad_output");
            }
            if (gi.dtype != diffInputs[c].dtype || gi.device.ToString() != diffInputs[c].device.ToString())
            {
                throw new GradCheckException("grad is incorrect type");
            }
            if (!TensorShape.Same(gi, diffInputs[c]))
            {
                throw new GradCheckException("grad is incorrect size");
            }
        }

        if (checkUndefinedGrad)
        {
            UndefinedGradCheck(Run, xs, diffInputs);
        }
    }

    /// <summary>
    /// gradcheck.py's <c>_test_undefined_backward_mode</c>: backward must accept undefined output gradients (all of
    /// them, then one at a time) and give undefined or zero input gradients. PyTorch makes them undefined with
    /// <c>torch._C._functions.UndefinedGrad</c>; <see cref="UndefinedGradFunction"/> is the same identity whose backward
    /// returns no gradient.
    /// </summary>
    private static void UndefinedGradCheck(Func<Tensor[], Tensor[]> run, Tensor[] xs, Tensor[] diffInputs)
    {
        var cases = new List<Tensor[]>();
        Tensor[] all = DifferentiableOutputs(run(xs));
        cases.Add(all.Select(o => new UndefinedGradFunction().Apply(o)[0]).ToArray());
        if (all.Length > 1)
        {
            for (int undef = 0; undef < all.Length; undef++)
            {
                Tensor[] outs = DifferentiableOutputs(run(xs));
                cases.Add(outs.Select((o, idx) => idx == undef ? new UndefinedGradFunction().Apply(o)[0] : o).ToArray());
            }
        }
        foreach (Tensor[] outs in cases)
        {
            Tensor?[] grads;
            try
            {
                grads = Grad(outs, diffInputs, outs.Select(o => torch.zeros_like(o)).ToArray(), allowUnused: true);
            }
            catch (AutogradException)
            {
                Trace.TraceWarning("Backwards compatibility: New undefined gradient support checking feature is enabled by default, but it may break existing callers of this function. If this is true for you, you can call this function with \"check_undefined_grad=False\" to disable the feature");
                throw new GradCheckException("Expected backward function to handle undefined output grads. Please look at \"Notes about undefined output gradients\" in \"tools/autograd/derivatives.yaml\"");
            }
            foreach (Tensor? gi in grads)
            {
                if (gi is not null && !gi.eq(0).all().item<bool>())
                {
                    Trace.TraceWarning("Backwards compatibility: New undefined gradient support checking feature is enabled by default, but it may break existing callers of this function. If this is true for you, you can call this function with \"check_undefined_grad=False\" to disable the feature");
                    throw new GradCheckException("Expected all input grads to be undefined or zero when all output grads are undefined or zero. Please look at \"Notes about undefined output gradients\" in \"tools/autograd/derivatives.yaml\"");
                }
            }
        }
    }

    /// <summary>PyTorch's <c>UndefinedGrad</c>: the identity, whose backward gives an undefined gradient.</summary>
    private sealed class UndefinedGradFunction : AutogradFunction
    {
        protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs) => [inputs[0].clone()];

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) => [null];
    }

    /// <summary>
    /// The Jacobian of one output with respect to each input, shaped (input numel × output numel) as gradcheck.py's
    /// <c>_compute_analytical_jacobian_rows</c> and <c>_stack_and_check_tensors</c> make it; zeros where unused.
    /// </summary>
    private static Tensor[] AnalyticalJacobian(Tensor output, Tensor[] diffInputs, out bool sizesOk)
    {
        sizesOk = true;
        long m = output.numel();
        Tensor[] jac = diffInputs.Select(x => torch.zeros([x.numel(), m], dtype: x.dtype, device: x.device)).ToArray();
        Tensor seed = torch.zeros_like(output);
        Tensor flatSeed = seed.view(-1);
        for (long j = 0; j < m; j++)
        {
            using DisposeScope step = torch.NewDisposeScope();
            flatSeed.zero_();
            flatSeed[j] = 1.0;
            Tensor?[] grads = Grad([output], diffInputs, [seed.clone()], retainGraph: true, allowUnused: true);
            for (int c = 0; c < grads.Length; c++)
            {
                if (grads[c] is not { } g)
                {
                    continue;
                }
                if (!TensorShape.Same(g, diffInputs[c]))
                {
                    sizesOk = false;
                    continue;
                }
                using (torch.no_grad())
                {
                    jac[c].select(1, j).copy_(g.detach().reshape(-1));
                }
            }
        }
        return jac;
    }

    /// <summary>gradcheck.py's <c>_check_outputs_same_dtype_and_shape</c> (its "on index" text is not an f-string: PyTorch prints <c>{idx}</c> as is).</summary>
    private static void CheckSameDtypeAndShape(Tensor a, Tensor b, double eps, string paramName)
    {
        // Python's repr of a float: 1e-06, 0.001.
        string epsText = eps.ToString("R", System.Globalization.CultureInfo.InvariantCulture).Replace('E', 'e');
        if (!TensorShape.Same(a, b))
        {
            throw new ArgumentException($"Expected `func` to return outputs with the same shape when inputs are perturbed on index {{idx}} by {epsText}, but got: shapes {PythonText.Size(TensorShape.Of(a))} and {PythonText.Size(TensorShape.Of(b))}.", paramName);
        }
        if (a.dtype != b.dtype)
        {
            throw new ArgumentException($"Expected `func` to return outputs with the same dtype when inputs are perturbed on index {{idx}} by {epsText}, but got: dtypes {a.dtype} and {b.dtype}.", paramName);
        }
    }

    /// <summary>PyTorch's <c>Jacobian mismatch for output i with respect to input j</c> (both counted among those requiring grad), the Jacobians printed as PyTorch prints them.</summary>
    private static GradCheckException Mismatch(Tensor analytical, Tensor numerical, int outputIndex, int inputIndex, double atol, double rtol)
    {
        string message = $"Jacobian mismatch for output {outputIndex} with respect to input {inputIndex},\nnumerical:{numerical.Repr()}\nanalytical:{analytical.Repr()}\n";
        Tensor bad = ((analytical - numerical).abs() > (atol + rtol * numerical.abs())).logical_or(analytical.isnan()).reshape(-1).nonzero();
        long flat = bad.numel() > 0 ? bad[0][0].item<long>() : 0;
        long cols = numerical.shape[1];
        long e = flat / Math.Max(cols, 1), j = flat % Math.Max(cols, 1);
        double nv = numerical.reshape(-1)[flat].to_type(ScalarType.Float64).item<double>();
        double av = analytical.reshape(-1)[flat].to_type(ScalarType.Float64).item<double>();
        return new GradCheckException(message, inputIndex, e, j, nv, av);
    }
}
