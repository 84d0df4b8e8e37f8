using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

public class AutogradFunctionalTests
{
    private static IEnumerable<TestCaseData> Cases() => DeviceCases.Cross(FunctionalData.CaseRows(), FunctionalData.CaseName);

    [TestCaseSource(nameof(Cases))]
    public void Functional_MatchesPyTorch(string deviceName, int index)
    {
        Device device = DeviceCases.Device(deviceName);
        JsonElement c = FunctionalData.Cases[index];
        string kind = c.GetProperty("kind").GetString()!;
        string name = c.GetProperty("function").GetString()!;
        bool createGraph = c.GetProperty("create_graph").GetBoolean();
        bool multi = c.GetProperty("multi").GetBoolean();
        Tensor[] inputs = c.GetProperty("inputs").EnumerateArray()
            .Select(t => FunctionalData.ToTensor(t, device).requires_grad_(createGraph)).ToArray();
        Tensor[]? v = c.TryGetProperty("v", out JsonElement vj) ? vj.EnumerateArray().Select(t => FunctionalData.ToTensor(t, device)).ToArray() : null;

        Tensor? output = null;
        Tensor[] results;
        if (!multi)
        {
            Func<Tensor, Tensor> f = FunctionalData.Function(name, device);
            Tensor x = inputs[0];
            switch (kind)
            {
                case "jacobian": results = [Autograd.Functional.Jacobian(f, x, createGraph)]; break;
                case "hessian": results = [Autograd.Functional.Hessian(f, x, createGraph)]; break;
                case "vjp": { var r = Autograd.Functional.Vjp(f, x, v?[0], createGraph); output = r.Output; results = [r.Vjp]; break; }
                case "jvp": { var r = Autograd.Functional.Jvp(f, x, v?[0], createGraph); output = r.Output; results = [r.Jvp]; break; }
                case "hvp": { var r = Autograd.Functional.Hvp(f, x, v![0], createGraph); output = r.Output; results = [r.Hvp]; break; }
                case "vhp": { var r = Autograd.Functional.Vhp(f, x, v![0], createGraph); output = r.Output; results = [r.Vhp]; break; }
                default: throw new ArgumentException(kind);
            }
        }
        else
        {
            Func<Tensor[], Tensor> f = FunctionalData.Function2(name);
            switch (kind)
            {
                case "jacobian": results = Autograd.Functional.Jacobian(f, inputs, createGraph); break;
                case "hessian": results = Autograd.Functional.Hessian(f, inputs, createGraph).SelectMany(r => r).ToArray(); break;
                case "vjp": { var r = Autograd.Functional.Vjp(f, inputs, null, createGraph); output = r.Output; results = r.Vjp; break; }
                case "jvp": { var r = Autograd.Functional.Jvp(f, inputs, v, createGraph); output = r.Output; results = [r.Jvp]; break; }
                case "hvp": { var r = Autograd.Functional.Hvp(f, inputs, v!, createGraph); output = r.Output; results = r.Hvp; break; }
                case "vhp": { var r = Autograd.Functional.Vhp(f, inputs, v!, createGraph); output = r.Output; results = r.Vhp; break; }
                default: throw new ArgumentException(kind);
            }
        }

        JsonElement[] expected = c.GetProperty("expected").EnumerateArray().ToArray();
        Assert.That(results, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < expected.Length; i++)
        {
            AssertClose(results[i], FunctionalData.ToTensor(expected[i], device), $"result {i}");
            if (!createGraph)
            {
                Assert.That(results[i].requires_grad, Is.False, $"result {i} requires_grad");
            }
        }
        if (c.TryGetProperty("output", out JsonElement o))
        {
            AssertClose(output!, FunctionalData.ToTensor(o, device), "output");
        }
        if (createGraph && c.TryGetProperty("grad_fn", out JsonElement names))
        {
            // The node each result hangs from is PyTorch's (e.g. vjp's MulBackward0 output, not a copy node).
            Assert.That(results.Select(r => r.GradFn?.Name).ToArray(), Is.EqualTo(names.EnumerateArray().Select(e => e.GetString()).ToArray()), "results' grad_fn");
            if (c.TryGetProperty("output_grad_fn", out JsonElement outputName))
            {
                Assert.That(output!.GradFn?.Name, Is.EqualTo(outputName.GetString()), "output's grad_fn");
            }
        }
        if (createGraph && c.TryGetProperty("second", out JsonElement second))
        {
            Tensor total = results.Select(r => r.sum()).Aggregate((a, b) => a + b);
            Tensor?[] g = Autograd.Grad([total], inputs, allowUnused: true);
            JsonElement[] s = second.EnumerateArray().ToArray();
            for (int i = 0; i < s.Length; i++)
            {
                if (s[i].ValueKind == JsonValueKind.Null)
                {
                    Assert.That(g[i], Is.Null);
                }
                else
                {
                    AssertClose(g[i]!, FunctionalData.ToTensor(s[i], device), $"second derivative {i}");
                }
            }
        }
        foreach (Tensor x in inputs)
        {
            Assert.That(x.grad, Is.Null, "no .grad left on the inputs");
            Assert.That(x.requires_grad, Is.EqualTo(createGraph), "requires_grad unchanged");
        }
    }

    [Test]
    public void JacobianVectorized_ManyInputs_MatchesTheLoop()
    {
        // More batch leaves than the private-leaf backward's stack array: 20 inputs of 2 elements.
        using var scope = torch.NewDisposeScope();
        Tensor[] xs = Enumerable.Range(0, 20).Select(i => torch.tensor(new[] { i + 0.5, -i - 1.0 })).ToArray();
        Tensor F(Tensor[] a) => a.Select((t, i) => (i + 1) * t * t).Aggregate((p, q) => p + q);

        Tensor[] vectorized = Autograd.Functional.Jacobian(F, xs, vectorize: true);
        Tensor[] loop = Autograd.Functional.Jacobian(F, xs);

        for (int i = 0; i < xs.Length; i++)
        {
            Assert.That(vectorized[i].allclose(loop[i], rtol: 0, atol: 0), Is.True, $"input {i}");
            // d/dx_i of sum_j (j + 1) x_j² = diag(2 (i + 1) x_i).
            Assert.That(loop[i].allclose(torch.diag(2 * (i + 1) * xs[i]), rtol: 0, atol: 0), Is.True, $"input {i} value");
            Assert.That(xs[i].grad, Is.Null);
        }
    }

    internal static void AssertClose(Tensor actual, Tensor expected, string what)
    {
        Assert.That(actual.shape, Is.EqualTo(expected.shape), what + " shape");
        Assert.That(torch.allclose(actual.detach().to_type(ScalarType.Float64), expected, rtol: 1e-7, atol: 1e-9), Is.True,
            $"{what}: {actual.detach().cpu().ToString(torch.julia)} vs {expected.cpu().ToString(torch.julia)}");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Jacobian_LeavesInputUntouched(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0, 3.0 }, device: device);
        Tensor y = torch.tensor(new[] { 1.0, 2.0, 3.0 }, device: device, requires_grad: true);
        y.grad = torch.full(3, 7.0, dtype: ScalarType.Float64, device: device);
        Tensor before = x.clone();

        Tensor jx = Autograd.Functional.Jacobian(t => t * t, x);
        Tensor jy = Autograd.Functional.Jacobian(t => t * t, y, createGraph: true);

        Assert.That(x.requires_grad, Is.False);
        Assert.That(x.grad, Is.Null);
        Assert.That(torch.allclose(x, before, rtol: 0, atol: 0), Is.True);
        Assert.That(y.requires_grad, Is.True);
        Assert.That(y.is_leaf, Is.True);
        Assert.That(y.grad!.data<double>().ToArray(), Is.EqualTo(new[] { 7.0, 7.0, 7.0 }));
        Assert.That(jx.requires_grad, Is.False);
        Assert.That(jy.requires_grad, Is.True, "createGraph keeps the result differentiable with respect to y");
        jx.Dispose();
        Assert.That(x.IsInvalid, Is.False, "the result is no alias of the input");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Jacobian_VectorizeAgreesWithLoop(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        torch.manual_seed(1);
        Tensor w1 = torch.randn(5, 4, dtype: ScalarType.Float64, device: device);
        Tensor w2 = torch.randn(3, 5, dtype: ScalarType.Float64, device: device);
        // Works on a vector or a batch of vectors (last dimension).
        Tensor F(Tensor x) => torch.tanh(torch.tanh(x.matmul(w1.t())).matmul(w2.t()));
        Tensor x = torch.randn(4, dtype: ScalarType.Float64, device: device);

        Tensor loop = Autograd.Functional.Jacobian(F, x);
        Tensor vec = Autograd.Functional.Jacobian(F, x, vectorize: true);

        Assert.That(vec.shape, Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(torch.allclose(loop, vec, rtol: 1e-12, atol: 1e-12), Is.True);

        Tensor[] multiLoop = Autograd.Functional.Jacobian(xs => xs[0] * xs[1], [x, x * 2]);
        Tensor[] multiVec = Autograd.Functional.Jacobian(xs => xs[0] * xs[1], [x, x * 2], vectorize: true);
        for (int i = 0; i < 2; i++)
        {
            Assert.That(torch.allclose(multiLoop[i], multiVec[i]), Is.True);
        }
        Tensor xg = x.clone().requires_grad_(true);
        Tensor vg = Autograd.Functional.Jacobian(F, xg, createGraph: true, vectorize: true);
        Tensor lg = Autograd.Functional.Jacobian(F, xg, createGraph: true);
        Tensor[] gv = Autograd.Grad([vg.sum()], [xg])!;
        Tensor[] gl = Autograd.Grad([lg.sum()], [xg])!;
        Assert.That(torch.allclose(gv[0], gl[0], rtol: 1e-10, atol: 1e-12), Is.True);
        Assert.That(xg.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Jacobian_VectorizeOnFunctionOfTheWholeInput_EqualsTheLoop(string deviceName)
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.0, 2.0 }, device: DeviceCases.Device(deviceName));
        Func<Tensor, Tensor> f = t => t.sum().unsqueeze(0) * t.sum();
        Assert.That(torch.allclose(Autograd.Functional.Jacobian(f, x, vectorize: true), Autograd.Functional.Jacobian(f, x)), Is.True);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Functional_Errors_HavePyTorchMessages(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor v3 = torch.tensor(new[] { 0.5, -1.2, 2.0 }, device: device);
        Tensor xa = torch.tensor(new[] { 0.5, -1.0, 2.0 }, device: device);
        Tensor ya = torch.tensor(new[] { 1.5, 0.25, -0.75 }, device: device);
        Tensor Square(Tensor x) => x * x;
        Tensor Xy2(Tensor[] xs) => (xs[0] * xs[1] * xs[1]).sum();
        Tensor ones(long n) => torch.ones(n, dtype: ScalarType.Float64, device: device);

        void Arg(string key, Action call) =>
            Assert.That(Assert.Throws<ArgumentException>(call)!.Message, Does.StartWith(FunctionalData.Message(key)), key);
        void Auto(string key, Action call) =>
            Assert.That(Assert.Throws<AutogradException>(call)!.Message, Is.EqualTo(FunctionalData.Message(key)), key);

        Arg("vjp_v_none", () => Autograd.Functional.Vjp(Square, v3));
        Arg("vjp_v_size", () => Autograd.Functional.Vjp(Square, v3, ones(4)));
        Arg("jvp_v_none", () => Autograd.Functional.Jvp(Square, v3));
        Arg("jvp_v_size_multi", () => Autograd.Functional.Jvp(Xy2, [xa, ya], [ones(3), ones(2)]));
        Arg("jvp_v_len_multi", () => Autograd.Functional.Jvp(Xy2, [xa, ya], [ones(3)]));
        Arg("hvp_not_single", () => Autograd.Functional.Hvp(Square, v3, ones(3)));
        Arg("hessian_not_single", () => Autograd.Functional.Hessian(Square, v3));
        Arg("strict_vectorize", () => Autograd.Functional.Jacobian(Square, v3, strict: true, vectorize: true));
        Auto("strict_independent", () => Autograd.Functional.Jacobian(_ => ones(2), v3, strict: true));
        Auto("strict_vjp_independent", () => Autograd.Functional.Vjp(xs => (xs[0] * 2).sum(), [xa, ya], strict: true));
        Auto("strict_jacobian_unused_input", () => Autograd.Functional.Jacobian(xs => xs[0] * 2, [xa, ya], strict: true));
        Auto("strict_hessian_linear", () => Autograd.Functional.Hessian(x => (3 * x).sum(), v3, strict: true));

        Assert.Throws<ArgumentNullException>(() => Autograd.Functional.Jacobian(null!, v3));
        Assert.Throws<ArgumentNullException>(() => Autograd.Functional.Jacobian(Square, (Tensor)null!));
        Assert.Throws<ArgumentNullException>(() => Autograd.Functional.Hvp(Square, v3, null!));
        Tensor disposed = ones(3);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Autograd.Functional.Jacobian(Square, disposed));

        // Non-strict: independent outputs give zeros, as in PyTorch.
        Tensor[] j = Autograd.Functional.Jacobian(xs => xs[0] * 2, [xa, ya]);
        Assert.That(j[1].shape, Is.EqualTo(new long[] { 3, 3 }));
        Assert.That(j[1].count_nonzero().item<long>(), Is.Zero);
    }

    private static IEnumerable<TestCaseData> InputDisposingCalls()
    {
        static Tensor DisposeAndReturn(Tensor x)
        {
            Tensor y = x * 2;
            x.Dispose();
            return y;
        }
        yield return new TestCaseData((Action<Tensor>)(x => Autograd.Functional.Jacobian(DisposeAndReturn, x))).SetArgDisplayNames("Jacobian");
        yield return new TestCaseData((Action<Tensor>)(x => Autograd.Functional.Vjp(DisposeAndReturn, x, torch.ones(3, dtype: ScalarType.Float64)))).SetArgDisplayNames("Vjp");
        yield return new TestCaseData((Action<Tensor>)(x => Autograd.Functional.Jvp(DisposeAndReturn, x, torch.ones(3, dtype: ScalarType.Float64)))).SetArgDisplayNames("Jvp");
        yield return new TestCaseData((Action<Tensor>)(x => Autograd.Functional.Hessian(v => DisposeAndReturn(v).sum(), x))).SetArgDisplayNames("Hessian");
    }

    [TestCaseSource(nameof(InputDisposingCalls))]
    public void Functional_FunctionDisposesItsInput_ThrowsObjectDisposedNamingIt(Action<Tensor> call)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new[] { 1.0, 2.0, 3.0 });
        var e = Assert.Throws<ObjectDisposedException>(() => call(x));
        Assert.That(e!.Message, Does.Contain("the input 0 given to f"));
        Assert.That(x.IsInvalid, Is.False, "the caller's own tensor is never the one f gets");
    }

    [Test]
    public void Jvp_FunctionWithForwardDerivatives_RunsItOnceInForwardMode()
    {
        using var scope = torch.NewDisposeScope();
        int calls = 0;
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 });
        Tensor v = torch.tensor(new[] { 0.1, 0.2, 0.3 });
        (Tensor output, Tensor jvp) = Autograd.Functional.Jvp(t => { calls++; return t.sin() * t.exp(); }, x, v);
        // d/dx sin(x)e^x = (cos x + sin x) e^x, times v.
        double[] expected = [0.5, -1.2, 2.0];
        expected = expected.Select((a, i) => (Math.Cos(a) + Math.Sin(a)) * Math.Exp(a) * (0.1 * (i + 1))).ToArray();
        Assert.That(calls, Is.EqualTo(1), "one forward-mode pass");
        Assert.That(jvp.data<double>().ToArray(), Is.EqualTo(expected).Within(1e-12));
        Assert.That(output.requires_grad || jvp.requires_grad, Is.False);
        Assert.That(Autograd.ForwardAD.UnpackDual(jvp).Tangent, Is.Null, "no dual level is left open");
    }

    [Test]
    public void Jvp_OpWithoutForwardDerivative_FallsBackToTheDoubleBackwardTrick()
    {
        using var scope = torch.NewDisposeScope();
        int calls = 0;
        Tensor a = torch.eye(3, dtype: ScalarType.Float64);
        Tensor tau = torch.zeros(3, dtype: ScalarType.Float64);
        // ormqr with tau = 0 is the identity map on its last argument, and libtorch has no forward derivative for it.
        Tensor x = torch.tensor(new[] { 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0 }).reshape(3, 3);
        Tensor v = torch.ones(3, 3, dtype: ScalarType.Float64);
        (_, Tensor jvp) = Autograd.Functional.Jvp(t => { calls++; return a.ormqr(tau, t); }, x, v);
        Assert.That(calls, Is.EqualTo(2), "forward mode refused, then the double-backward trick");
        Assert.That(jvp.data<double>().ToArray(), Is.EqualTo(Enumerable.Repeat(1.0, 9).ToArray()).Within(1e-12));
    }

    [Test]
    public void Jvp_InsideAnOpenDualLevel_UsesTheDoubleBackwardTrick()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new[] { 1.0, 2.0 });
        using (Autograd.ForwardAD.DualLevel())
        {
            (_, Tensor jvp) = Autograd.Functional.Jvp(t => t * t, x, torch.ones(2, dtype: ScalarType.Float64));
            Assert.That(jvp.data<double>().ToArray(), Is.EqualTo(new[] { 2.0, 4.0 }));
        }
    }
}
