using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>PyTorch's default CPU generator seed (<c>default_rng_seed_val</c>), which a fresh <c>torch.Generator()</c> starts from.</summary>
    private const ulong DefaultGeneratorSeed = 67280421310721;

    /// <summary>
    /// gradcheck.py's <c>_fast_gradcheck</c> (backward mode): for random unit vectors u (one per input requiring
    /// grad) and v (one per differentiable output), compares vᵀ(Ju) from central differences along u with (vᵀJ)u
    /// from one backward pass, with atol scaled by Σu·Σv. On a mismatch, PyTorch's text with the slow-mode
    /// Jacobians of that pair appended (<c>_run_slow_mode_and_get_error</c>).
    /// </summary>
    private static void FastJacobianCheck(Func<Tensor[], Tensor[]> run, Tensor[] xs, GradCheckSettings settings, JacobianPart part)
    {
        Tensor[] diffInputs = xs.Where(x => x.requires_grad).ToArray();
        Tensor[] funcOut = run(xs);
        Tensor[] outputs = DifferentiableOutputs(funcOut);
        (Tensor[] allV, Tensor[] uReal, Tensor?[] uImag) = FastVectors(diffInputs, outputs);

        // Analytical first (see SlowJacobianCheck: the perturbation below invalidates funcOut's graph).
        // analytical[j][i]: output j, input i.
        var analytical = new Tensor[outputs.Length][];
        for (int j = 0; j < outputs.Length; j++)
        {
            Tensor[] vJ = CheckedAnalyticalJacobian(outputs[j], diffInputs, allV[j]);
            analytical[j] = vJ.Select((t, i) => ReduceWithU(t.reshape(-1), uReal[i], uImag[i])).ToArray();
        }

        // allJu[i]: J·u of every output for input i; numerical[i]: of the float or complex ones.
        Tensor[][] allJu = diffInputs.Select((x, i) => NumericalJu(run, xs, x, uReal[i], uImag[i], settings.Eps)).ToArray();
        Tensor[][] numerical = allJu.Select(jus => jus.Where((_, o) => IsFloatOrComplex(funcOut[o])).ToArray()).ToArray();

        if (outputs.Length == 0)
        {
            // _check_no_differentiable_outputs_fast, nondet_tol 0: integer outputs count too.
            foreach (Tensor ju in allJu.SelectMany(n => n))
            {
                if (ju.numel() != 0 && ju.abs().max().to_type(ScalarType.Float64).item<double>() > 0)
                {
                    throw new GradCheckException("Numerical gradient for function expected to be zero");
                }
            }
            return;
        }

        for (int i = 0; i < diffInputs.Length; i++)
        {
            for (int j = 0; j < Math.Min(numerical[i].Length, allV.Length); j++)
            {
                Tensor a = analytical[j][i];
                // _dot_with_type_promotion(v, Ju).
                Tensor n = (allV[j] * numerical[i][j].to(allV[j].device)).sum().to(a.device);
                double adjustedAtol = settings.Atol * uReal[i].sum().to_type(ScalarType.Float64).item<double>() * allV[j].sum().to_type(ScalarType.Float64).item<double>();
                if (!AllClosePromoted(a, n, settings.Rtol, adjustedAtol))
                {
                    string slow = SlowModeReport(run, xs, i, j, settings);
                    throw new GradCheckException(NotAllCloseMessage(a, n, j, i, part) + slow);
                }
            }
        }
    }

    /// <summary>
    /// gradcheck.py's <c>_make_vectors</c>: from a fresh generator (PyTorch's default seed, so the caller's RNG is
    /// untouched), for each input a float32 uniform vector cast to its real dtype and normalised (a second one for
    /// the imaginary part of a complex input), then one for each output in its dtype.
    /// </summary>
    private static (Tensor[] V, Tensor[] UReal, Tensor?[] UImag) FastVectors(Tensor[] diffInputs, Tensor[] outputs)
    {
        using var generator = new torch.Generator(DefaultGeneratorSeed);
        Tensor Vec(Tensor x, bool downcastComplex)
        {
            ScalarType dtype = downcastComplex ? RealDtype(x.dtype) : x.dtype;
            Tensor vec = torch.rand([x.numel()], generator: generator).to(dtype).to(x.device);
            return vec / vec.norm();
        }
        var uReal = new Tensor[diffInputs.Length];
        var uImag = new Tensor?[diffInputs.Length];
        for (int i = 0; i < diffInputs.Length; i++)
        {
            uReal[i] = Vec(diffInputs[i], downcastComplex: true);
            uImag[i] = diffInputs[i].is_complex() ? Vec(diffInputs[i], downcastComplex: true) : null;
        }
        Tensor[] v = outputs.Select(o => Vec(o, downcastComplex: false)).ToArray();
        return (v, uReal, uImag);
    }

    /// <summary>(vᵀJ)·u: for a complex input, <c>Re(vᵀJ)·u_r + 1j·Im(vᵀJ)·u_i</c>, as <c>_get_analytical_vJu_backward_mode</c>.</summary>
    private static Tensor ReduceWithU(Tensor vJ, Tensor uReal, Tensor? uImag)
    {
        if (!vJ.is_complex())
        {
            return vJ.dot(uReal.to(vJ.device));
        }
        Tensor parts = torch.view_as_real(vJ.resolve_conj());
        Tensor re = parts.select(-1, 0).dot(uReal.to(vJ.device));
        Tensor im = parts.select(-1, 1).dot(uImag!.to(vJ.device));
        return torch.complex(re, im);
    }

    /// <summary>
    /// gradcheck.py's <c>_get_numerical_jvp_wrt_specific_input</c>: J·u of every output by central differences
    /// along eps·u (the whole input perturbed at once); for a complex input, along eps·u_r and eps·u_i·1j,
    /// combined as the conjugate Wirtinger derivative.
    /// </summary>
    private static Tensor[] NumericalJu(Func<Tensor[], Tensor[]> run, Tensor[] xs, Tensor x, Tensor uReal, Tensor? uImag, double eps)
    {
        long[] shape = TensorShape.Of(x);
        Tensor entry = x.detach();
        Tensor deltaReal = uReal.reshape(shape) * eps;
        Tensor[] jus = CentralDifference(run, xs, entry, deltaReal, eps, onIndex: false);
        if (uImag is not null)
        {
            Tensor deltaImag = torch.complex(torch.zeros_like(uImag), uImag * eps).reshape(shape);
            Tensor[] imag = CentralDifference(run, xs, entry, deltaImag, eps, onIndex: false);
            jus = jus.Select((ju, o) => WirtingerCombine(ju, imag[o])).ToArray();
        }
        return jus;
    }

    /// <summary>gradcheck.py's <c>_allclose_with_type_promotion</c>.</summary>
    private static bool AllClosePromoted(Tensor a, Tensor b, double rtol, double atol)
    {
        ScalarType promoted = torch.promote_types(a.dtype, b.dtype);
        return torch.allclose(a.to(promoted), b.to(a.device).to(promoted), rtol, atol);
    }

    /// <summary>
    /// gradcheck.py's <c>_run_slow_mode_and_get_error</c>: the slow-mode Jacobians of input <paramref name="inputIndex"/>
    /// and output <paramref name="outputIndex"/>. As in PyTorch 1.13, the numerical one uses
    /// <c>_get_numerical_jacobian</c>'s default eps of 1e-3, not the caller's.
    /// </summary>
    private static string SlowModeReport(Func<Tensor[], Tensor[]> run, Tensor[] xs, int inputIndex, int outputIndex, GradCheckSettings settings)
    {
        Tensor[] diffInputs = xs.Where(x => x.requires_grad).ToArray();
        Tensor[] fresh = DifferentiableOutputs(run(xs));
        Tensor slowAnalytical = AnalyticalJacobian(fresh[outputIndex], diffInputs, seed: null, out _)[inputIndex];
        Tensor[] funcOut = run(xs);
        Tensor slowNumerical = NumericalJacobian(run, xs, funcOut, 1e-3, onIndex: true)[inputIndex][outputIndex];
        Tensor maxDiff = (slowNumerical - slowAnalytical).abs().max();
        bool slowAllClose = AllClosePromoted(slowAnalytical, slowNumerical, settings.Rtol, settings.Atol);
        string message = "\nThe above quantities relating the numerical and analytical jacobians are computed \n"
            + "in fast mode. See: https://github.com/pytorch/pytorch/issues/53876 for more background \n"
            + "about fast mode. Below, we recompute numerical and analytical jacobians in slow mode:\n\n"
            + $"Numerical:\n {slowNumerical.Repr()}\n"
            + $"Analytical:\n{slowAnalytical.Repr()}\n\n"
            // An f-string of a 0-dim tensor formats its item(): Python's float repr.
            + $"The max per-element difference (slow mode) is: {PythonText.Float(maxDiff.to_type(ScalarType.Float64).item<double>())}.\n";
        return slowAllClose ? message + FastFailSlowOkMessage : message;
    }

    /// <summary>gradcheck.py's <c>FAST_FAIL_SLOW_OK_MSG</c>.</summary>
    private const string FastFailSlowOkMessage = """
        Fast gradcheck failed but element-wise differences are small. This means that the
        test might've passed in slow_mode!

        If you are adding a new operator, please file an issue and then use one of the
        workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck:

        If the test
        - manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
          with `fast_mode=False` as a keyword argument.
        - is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
          to have `gradcheck_fast_mode=False`
        - is a Module test (e.g., in common_nn.py), then modify the corresponding
          module_test entry to have `gradcheck_fast_mode=False`
        """;
}
