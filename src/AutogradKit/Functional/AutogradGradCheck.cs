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
    /// <param name="fastMode">PyTorch's <c>fast_mode</c>: compare vᵀJu for random unit vectors u, v instead of whole Jacobians.</param>
    /// <param name="checkUndefinedGrad">Also check that backward handles undefined output gradients.</param>
    /// <param name="checkBatchedGrad">PyTorch's <c>check_batched_grad</c>: a vmapped vector-Jacobian product (<c>Grad(…, isGradsBatched: true)</c>) must equal a loop of them.</param>
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
    /// <para>Complex inputs and outputs are checked as PyTorch checks them (Wirtinger calculus): a complex output's
    /// imaginary parts, then its real parts, each as a real-valued function; a complex input's real and imaginary
    /// parts perturbed in turn to give the conjugate Wirtinger derivative. <paramref name="fastMode"/> draws u and v
    /// from a fresh generator with PyTorch's default seed, so they are PyTorch's vectors and its texts are PyTorch's.</para>
    /// <para>Thread-safety: safe to call from several threads.</para>
    /// </remarks>
    /// <param name="f">The function.</param>
    /// <param name="inputs">The point; those that require grad are checked.</param>
    /// <param name="eps">The finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="raiseException">Throw <see cref="GradCheckException"/> on a failed check instead of returning false.</param>
    /// <param name="fastMode">PyTorch's <c>fast_mode</c>: compare vᵀJu for random unit vectors u, v instead of whole Jacobians.</param>
    /// <param name="checkUndefinedGrad">Also check that backward handles undefined output gradients.</param>
    /// <param name="checkBatchedGrad">PyTorch's <c>check_batched_grad</c>: a vmapped vector-Jacobian product (<c>Grad(…, isGradsBatched: true)</c>) must equal a loop of them.</param>
    /// <returns>Whether every check passed.</returns>
    /// <exception cref="ArgumentException">No input requires grad, one has a stride-0 dimension, or f's outputs change shape under perturbation.</exception>
    /// <exception cref="GradCheckException">A failed check, with <paramref name="raiseException"/>.</exception>
    public static bool GradCheck(Func<Tensor[], Tensor[]> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, bool raiseException = true, bool fastMode = false, bool checkUndefinedGrad = true, bool checkBatchedGrad = false)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        CheckElements(inputs, nameof(inputs));
        LibTorchLoader.EnsureLoaded();
        GradCheckInputs(inputs);
        try
        {
            using DisposeScope scope = torch.NewDisposeScope();
            GradCheckCore(f, inputs, new GradCheckSettings(eps, atol, rtol, fastMode), checkUndefinedGrad, checkBatchedGrad);
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
    /// <param name="fastMode">PyTorch's <c>fast_mode</c>: compare vᵀJu for random unit vectors u, v instead of whole Jacobians.</param>
    /// <param name="checkUndefinedGrad">Also check that the double backward handles undefined output gradients.</param>
    /// <param name="checkBatchedGrad">PyTorch's <c>check_batched_grad</c>: a vmapped vector-Jacobian product (<c>Grad(…, isGradsBatched: true)</c>) must equal a loop of them.</param>
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
    /// <param name="fastMode">PyTorch's <c>fast_mode</c>: compare vᵀJu for random unit vectors u, v instead of whole Jacobians.</param>
    /// <param name="checkUndefinedGrad">Also check that the double backward handles undefined output gradients.</param>
    /// <param name="checkBatchedGrad">PyTorch's <c>check_batched_grad</c>: a vmapped vector-Jacobian product (<c>Grad(…, isGradsBatched: true)</c>) must equal a loop of them.</param>
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
            any = true;
        }
        if (!any)
        {
            throw new ArgumentException("gradcheck expects at least one input tensor to require gradient, but none of the them have requires_grad=True.", nameof(inputs));
        }
    }

    /// <summary>
    /// gradcheck.py's <c>_gradcheck_helper</c>: the Jacobian check (slow or fast; for complex outputs once on their
    /// imaginary parts, then on their real parts, as <c>_gradcheck_real_imag</c>), the batched-gradient check, then
    /// the grad-output and undefined-grad checks.
    /// </summary>
    private static void GradCheckCore(Func<Tensor[], Tensor[]> f, Tensor[] inputs, GradCheckSettings settings, bool checkUndefinedGrad, bool checkBatchedGrad)
    {
        // Copies, so that the caller's tensors are never perturbed; each keeps requires_grad.
        Tensor[] xs = inputs.Select(x => x.detach().clone().requires_grad_(x.requires_grad)).ToArray();
        Tensor[] diffInputs = xs.Where(x => x.requires_grad).ToArray();
        Tensor[] Run(Tensor[] args)
        {
            Tensor[] result = f(args) ?? throw new ArgumentException("The function given to gradcheck returned null.", nameof(f));
            return Array.IndexOf(result, null) >= 0
                ? throw new ArgumentException("The function given to gradcheck returned a null output.", nameof(f))
                : result;
        }

        Tensor[] funcOut = Run(xs);
        Tensor[] outputs = DifferentiableOutputs(funcOut);
        if (funcOut.Any(o => o.is_complex()))
        {
            // Indices among the differentiable outputs, as PyTorch's complex_out_indices.
            int[] complexIndices = Enumerable.Range(0, outputs.Length).Where(i => outputs[i].is_complex()).ToArray();
            JacobianCheck(RealOrImagOutputs(Run, imag: true), xs, settings, new JacobianPart(complexIndices, Imaginary: true));
            JacobianCheck(RealOrImagOutputs(Run, imag: false), xs, settings, new JacobianPart(complexIndices, Imaginary: false));
        }
        else
        {
            JacobianCheck(Run, xs, settings, JacobianPart.Real);
        }

        // The checks above perturbed xs in place (bumping their version counter), so graphs built before them may
        // refuse backward: the remaining checks run f again, where PyTorch reuses its first outputs.
        if (checkBatchedGrad)
        {
            Tensor[] fresh = DifferentiableOutputs(Run(xs));
            for (int i = 0; i < fresh.Length; i++)
            {
                BatchedGradCheck(diffInputs, fresh[i], i);
            }
        }

        // _test_backward_mul_by_grad_output: zero output gradients give zero input gradients, of the inputs' type and size.
        Tensor[] again = DifferentiableOutputs(Run(xs));
        Tensor?[] zeroGrads = Grad(again, diffInputs, again.Select(o => torch.zeros_like(o)).ToArray(), allowUnused: true);
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

    /// <summary>gradcheck.py's <c>_slow_gradcheck</c> or <c>_fast_gradcheck</c> of one (real-output) function.</summary>
    private static void JacobianCheck(Func<Tensor[], Tensor[]> run, Tensor[] xs, GradCheckSettings settings, JacobianPart part)
    {
        if (settings.FastMode)
        {
            FastJacobianCheck(run, xs, settings, part);
        }
        else
        {
            SlowJacobianCheck(run, xs, settings, part);
        }
    }

    /// <summary>gradcheck.py's <c>_slow_gradcheck</c>: every element of the analytical and numerical Jacobians.</summary>
    private static void SlowJacobianCheck(Func<Tensor[], Tensor[]> run, Tensor[] xs, GradCheckSettings settings, JacobianPart part)
    {
        Tensor[] diffInputs = xs.Where(x => x.requires_grad).ToArray();
        Tensor[] funcOut = run(xs);
        Tensor[] outputs = DifferentiableOutputs(funcOut);

        // Analytical Jacobians first: the finite differences below perturb the inputs in place, which would make
        // the graph of funcOut unusable (PyTorch perturbs .data, which bypasses the version counter).
        var analytical = new Tensor[outputs.Length][];
        for (int i = 0; i < outputs.Length; i++)
        {
            analytical[i] = CheckedAnalyticalJacobian(outputs[i], diffInputs, seed: null);
        }

        Tensor[][] numerical = NumericalJacobian(run, xs, funcOut, settings.Eps, onIndex: true);
        if (outputs.Length == 0)
        {
            // No differentiable output: every numerical derivative must be zero.
            foreach (Tensor[] perInput in numerical)
            {
                for (int o = 0; o < perInput.Length; o++)
                {
                    if (IsFloatOrComplex(funcOut[o]) && torch.ne(perInput[o], 0).sum().item<long>() > 0)
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
            for (int c = 0; c < diffInputs.Length; c++)
            {
                Tensor a = analytical[i][c];
                Tensor nu = numerical[c][diffOutputIndices[i]];
                ScalarType promoted = torch.promote_types(a.dtype, nu.dtype);
                Tensor a2 = a.to(promoted), n2 = nu.to(a.device).to(promoted);
                if (!torch.allclose(a2, n2, settings.Rtol, settings.Atol))
                {
                    throw Mismatch(a2, n2, c, settings.Atol, settings.Rtol, NotAllCloseMessage(a, nu, i, c, part));
                }
            }
        }
    }

    /// <summary>
    /// gradcheck.py's <c>_check_analytical_jacobian_attributes</c>: the Jacobian rows of one output (or, with a
    /// <paramref name="seed"/>, the one vector-Jacobian product of fast mode), computed twice; sizes and
    /// reentrancy (nondet_tol 0) checked with PyTorch's texts.
    /// </summary>
    private static Tensor[] CheckedAnalyticalJacobian(Tensor output, Tensor[] diffInputs, Tensor? seed)
    {
        Tensor[] first = AnalyticalJacobian(output, diffInputs, seed, out bool sizesOk);
        Tensor[] second = AnalyticalJacobian(output, diffInputs, seed, out _);
        if (!sizesOk)
        {
            throw new GradCheckException("Analytical gradient has incorrect size");
        }
        for (int c = 0; c < first.Length; c++)
        {
            if (first[c].numel() != 0 && (first[c] - second[c]).abs().max().to_type(ScalarType.Float64).item<double>() > 0)
            {
                throw new GradCheckException("Backward is not reentrant, i.e., running backward with same input and grad_output multiple times gives different values, although analytical gradient matches numerical gradient.The tolerance for nondeterminism was 0.0." + FailedNondetMessage);
            }
        }
        return first;
    }

    /// <summary>gradcheck.py's <c>FAILED_NONDET_MSG</c>.</summary>
    private const string FailedNondetMessage = """


        NOTE: If your op relies on non-deterministic operations i.e., it is listed here:
        https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html
        this failure might be expected.

        If you are adding a new operator, please file an issue and then use one of the
        workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
        If the test
        - manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
          with `nondet_tol=<tol>` as a keyword argument.
        - is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
          to have `gradcheck_nondet_tol=<tol>`.
        - is a Module test (e.g., in common_nn.py), then modify the corresponding
          module_test entry to have `gradcheck_nondet_tol=<tol>`

        """;

    /// <summary>
    /// gradcheck.py's <c>_get_numerical_jacobian</c>: central differences of every output of <paramref name="run"/>
    /// for every element of every input requiring grad, <c>[input among those requiring grad][output]</c>, each
    /// (input numel × output numel). A complex input gets the conjugate Wirtinger derivative
    /// <c>∂s/∂x + i·∂s/∂y</c> (its real and imaginary parts perturbed in turn), as PyTorch computes it.
    /// </summary>
    private static Tensor[][] NumericalJacobian(Func<Tensor[], Tensor[]> run, Tensor[] xs, Tensor[] funcOut, double eps, bool onIndex)
    {
        int[] diffIndices = Enumerable.Range(0, xs.Length).Where(k => xs[k].requires_grad).ToArray();
        var numerical = new Tensor[diffIndices.Length][];
        for (int c = 0; c < diffIndices.Length; c++)
        {
            Tensor x = xs[diffIndices[c]];
            long n = x.numel();
            numerical[c] = funcOut.Select(o => torch.zeros([n, o.numel()], dtype: x.is_complex() ? x.dtype : IsFloatOrComplex(o) ? o.dtype : ScalarType.Float64, device: o.device)).ToArray();
            Tensor flat = x.detach().view(-1);
            for (long e = 0; e < n; e++)
            {
                using DisposeScope step = torch.NewDisposeScope();
                Tensor entry = flat.narrow(0, e, 1);
                Tensor[] columns = CentralDifference(run, xs, entry, RealStep(x, eps), eps, onIndex);
                if (x.is_complex())
                {
                    Tensor[] imagColumns = CentralDifference(run, xs, entry, ImaginaryStep(x, eps), eps, onIndex);
                    columns = columns.Select((col, o) => WirtingerCombine(col, imagColumns[o])).ToArray();
                }
                for (int o = 0; o < funcOut.Length; o++)
                {
                    if (IsFloatOrComplex(funcOut[o]) && columns[o] is { } col)
                    {
                        numerical[c][o][e].copy_(col);
                    }
                }
            }
        }
        return numerical;
    }

    /// <summary>gradcheck.py's <c>_compute_numerical_gradient</c>: (f(x + δ) − f(x − δ)) / 2·‖δ‖ for every output (integer ones too, as true division).</summary>
    private static Tensor[] CentralDifference(Func<Tensor[], Tensor[]> run, Tensor[] xs, Tensor entry, Tensor delta, double normDelta, bool onIndex)
    {
        Tensor orig = entry.clone();
        using (torch.no_grad())
        {
            entry.copy_(orig - delta);
        }
        Tensor[] outA = run(xs).Select(o => o.detach().clone()).ToArray();
        using (torch.no_grad())
        {
            entry.copy_(orig + delta);
        }
        Tensor[] outB = run(xs).Select(o => o.detach().clone()).ToArray();
        using (torch.no_grad())
        {
            entry.copy_(orig);
        }
        var result = new Tensor[outA.Length];
        for (int o = 0; o < outA.Length; o++)
        {
            CheckSameDtypeAndShape(outA[o], outB[o], normDelta, onIndex, "f");
            result[o] = ((outB[o] - outA[o]) / (2 * normDelta)).reshape(-1);
        }
        return result;
    }

    private static bool IsFloatOrComplex(Tensor t) => torch.is_floating_point(t) || t.is_complex();

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
    /// With a <paramref name="seed"/> (fast mode's v), the single vector-Jacobian product, shaped (input numel × 1).
    /// </summary>
    private static Tensor[] AnalyticalJacobian(Tensor output, Tensor[] diffInputs, Tensor? seed, out bool sizesOk)
    {
        sizesOk = true;
        long m = seed is null ? output.numel() : 1;
        Tensor[] jac = diffInputs.Select(x => torch.zeros([x.numel(), m], dtype: x.dtype, device: x.device)).ToArray();
        Tensor basis = torch.zeros_like(output);
        Tensor flatBasis = basis.view(-1);
        for (long j = 0; j < m; j++)
        {
            using DisposeScope step = torch.NewDisposeScope();
            Tensor gradOutput;
            if (seed is null)
            {
                flatBasis.zero_();
                flatBasis[j] = 1.0;
                gradOutput = basis.clone();
            }
            else
            {
                gradOutput = seed.reshape(TensorShape.Of(output));
            }
            Tensor?[] grads = Grad([output], diffInputs, [gradOutput], retainGraph: true, allowUnused: true);
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

    /// <summary>
    /// gradcheck.py's <c>_check_outputs_same_dtype_and_shape</c>. Slow mode's "on index" text is not an f-string in
    /// PyTorch 1.13: it prints <c>{idx}</c> as is; fast mode (no index) leaves it out.
    /// </summary>
    private static void CheckSameDtypeAndShape(Tensor a, Tensor b, double eps, bool onIndex, string paramName)
    {
        string epsText = PythonText.Float(eps);
        string on = onIndex ? "on index {idx} " : "";
        if (!TensorShape.Same(a, b))
        {
            throw new ArgumentException($"Expected `func` to return outputs with the same shape when inputs are perturbed {on}by {epsText}, but got: shapes {PythonText.Size(TensorShape.Of(a))} and {PythonText.Size(TensorShape.Of(b))}.", paramName);
        }
        if (a.dtype != b.dtype)
        {
            throw new ArgumentException($"Expected `func` to return outputs with the same dtype when inputs are perturbed {on}by {epsText}, but got: dtypes {a.dtype} and {b.dtype}.", paramName);
        }
    }

    /// <summary>
    /// gradcheck.py's <c>_get_notallclose_msg</c> (backward mode): <c>Jacobian mismatch for output i with respect
    /// to input j</c> (both counted among those requiring grad), prefixed for a complex output with the part being
    /// checked, the Jacobians printed as PyTorch prints them.
    /// </summary>
    private static string NotAllCloseMessage(Tensor analytical, Tensor numerical, int outputIndex, int inputIndex, JacobianPart part)
    {
        string prefix = part.ComplexOutputIndices.Contains(outputIndex)
            ? $"While considering the {(part.Imaginary ? "imaginary" : "real")} part of complex outputs only, "
            : "";
        return $"{prefix}Jacobian mismatch for output {outputIndex} with respect to input {inputIndex},\nnumerical:{numerical.Repr()}\nanalytical:{analytical.Repr()}\n";
    }

    /// <summary>The exception for a slow-mode mismatch: PyTorch's text, then the first element that differs (its real part, for complex Jacobians).</summary>
    private static GradCheckException Mismatch(Tensor analytical, Tensor numerical, int inputIndex, double atol, double rtol, string message)
    {
        Tensor bad = ((analytical - numerical).abs() > (atol + rtol * numerical.abs())).logical_or(analytical.isnan()).reshape(-1).nonzero();
        long flat = bad.numel() > 0 ? bad[0][0].item<long>() : 0;
        long cols = numerical.shape[1];
        long e = flat / Math.Max(cols, 1), j = flat % Math.Max(cols, 1);
        return new GradCheckException(message, inputIndex, e, j, RealValue(numerical.reshape(-1)[flat]), RealValue(analytical.reshape(-1)[flat]));
    }

    private static double RealValue(Tensor scalar) =>
        (scalar.is_complex() ? scalar.real : scalar).to_type(ScalarType.Float64).item<double>();

    /// <summary>
    /// gradcheck.py's <c>_real_and_imag_output</c>: f with <c>torch.real</c> or <c>torch.imag</c> applied to its
    /// complex outputs, so that each check is of a real-valued function (Wirtinger calculus: the gradient of a
    /// real-valued function of complex inputs is the conjugate Wirtinger derivative).
    /// </summary>
    private static Func<Tensor[], Tensor[]> RealOrImagOutputs(Func<Tensor[], Tensor[]> run, bool imag) =>
        xs => run(xs).Select(o => o.is_complex() ? (imag ? o.imag : o.real) : o).ToArray();

    /// <summary>The finite-difference step for a real perturbation, as a 0-dim tensor of the input's (real) dtype.</summary>
    private static Tensor RealStep(Tensor x, double eps) =>
        torch.tensor(eps, dtype: x.is_complex() ? RealDtype(x.dtype) : x.dtype, device: x.device);

    /// <summary>The step <c>eps·1j</c> that perturbs a complex input's imaginary part.</summary>
    private static Tensor ImaginaryStep(Tensor x, double eps)
    {
        ScalarType real = RealDtype(x.dtype);
        return torch.complex(torch.tensor(0.0, dtype: real, device: x.device), torch.tensor(eps, dtype: real, device: x.device));
    }

    /// <summary>The conjugate Wirtinger derivative <c>ds/dx + ds/dy·1j</c> of a real s from its two partial derivatives.</summary>
    private static Tensor WirtingerCombine(Tensor dsdx, Tensor dsdy) =>
        dsdx.is_complex() || dsdy.is_complex()
            ? throw new InvalidOperationException("A complex output reached the Wirtinger step: it should have been split into its real and imaginary parts.")
            : torch.complex(dsdx, dsdy);

    private static ScalarType RealDtype(ScalarType dtype) => dtype switch
    {
        ScalarType.ComplexFloat64 => ScalarType.Float64,
        ScalarType.ComplexFloat32 => ScalarType.Float32,
        _ => dtype,
    };

    /// <summary>Which part of f a Jacobian check is of: the real parts (and real outputs), or the imaginary parts of its complex outputs.</summary>
    /// <param name="ComplexOutputIndices">The complex outputs, among those requiring grad (they get the "While considering …" prefix).</param>
    /// <param name="Imaginary">The check is of the imaginary parts.</param>
    private readonly record struct JacobianPart(int[] ComplexOutputIndices, bool Imaginary)
    {
        public static JacobianPart Real => new([], false);
    }

    /// <summary>The tolerances and mode of one GradCheck call.</summary>
    private readonly record struct GradCheckSettings(double Eps, double Atol, double Rtol, bool FastMode);
}
