using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

/// <summary>
/// Functions returning several tensors (PyTorch's tuple outputs), the forward-mode strategy's refusals, and
/// createGraph inside a caller's NoGrad; expected values from functional.json's "tuple_cases" (PyTorch 1.13).
/// </summary>
public class AutogradFunctionalTupleTests
{
    /// <summary>The same definitions as fn_tuple() in generate_functional.py.</summary>
    private static Func<Tensor[], Tensor[]> TupleFunction(string name) => name switch
    {
        "pair" => xs => [torch.sin(xs[0]) * xs[1].sum(), xs[0].sum() * xs[1] * xs[1]],
        "pair_partial" => xs => [xs[0] * 2, xs[1].exp()],
        _ => throw new ArgumentException(name),
    };

    private static IEnumerable<TestCaseData> Cases() => DeviceCases.Cross(
        FunctionalData.Rows("tuple_cases"),
        row => $"{row[0]}:{FunctionalData.Section("tuple_cases")[(int)row[0]!].GetProperty("function").GetString()}");

    private static Tensor[] Tensors(JsonElement array, Device device) =>
        array.EnumerateArray().Select(t => FunctionalData.ToTensor(t, device)).ToArray();

    [TestCaseSource(nameof(Cases))]
    public void TupleOutputs_JacobianVjpJvp_MatchPyTorch(string deviceName, int index)
    {
        Device device = DeviceCases.Device(deviceName);
        JsonElement c = FunctionalData.Section("tuple_cases")[index];
        bool createGraph = c.GetProperty("create_graph").GetBoolean();
        Func<Tensor[], Tensor[]> f = TupleFunction(c.GetProperty("function").GetString()!);
        Tensor[] inputs = Tensors(c.GetProperty("inputs"), device).Select(x => x.requires_grad_(createGraph)).ToArray();

        Tensor[][] jacobian = Autograd.Functional.Jacobian(f, inputs, createGraph);
        JsonElement[] expectedRows = c.GetProperty("jacobian").EnumerateArray().ToArray();
        JsonElement[] requiresGrad = c.GetProperty("jacobian_requires_grad").EnumerateArray().ToArray();
        Assert.That(jacobian, Has.Length.EqualTo(expectedRows.Length));
        for (int i = 0; i < expectedRows.Length; i++)
        {
            Tensor[] expected = Tensors(expectedRows[i], device);
            Assert.That(jacobian[i], Has.Length.EqualTo(expected.Length));
            for (int j = 0; j < expected.Length; j++)
            {
                AutogradFunctionalTests.AssertClose(jacobian[i][j], expected[j], $"J[{i}][{j}]");
                Assert.That(jacobian[i][j].requires_grad, Is.EqualTo(requiresGrad[i][j].GetBoolean()), $"J[{i}][{j}] requires_grad");
            }
        }

        var (vjpOutput, vjp) = Autograd.Functional.Vjp(f, inputs, Tensors(c.GetProperty("vjp_v"), device), createGraph);
        AssertAll(vjpOutput, Tensors(c.GetProperty("vjp_output"), device), "vjp output");
        AssertAll(vjp, Tensors(c.GetProperty("vjp"), device), "vjp");

        var (jvpOutput, jvp) = Autograd.Functional.Jvp(f, inputs, Tensors(c.GetProperty("jvp_v"), device), createGraph);
        AssertAll(jvpOutput, Tensors(c.GetProperty("jvp_output"), device), "jvp output");
        AssertAll(jvp, Tensors(c.GetProperty("jvp"), device), "jvp");
    }

    private static void AssertAll(Tensor[] actual, Tensor[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what + " count");
        for (int i = 0; i < expected.Length; i++)
        {
            AutogradFunctionalTests.AssertClose(actual[i], expected[i], $"{what}[{i}]");
        }
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void TupleOutputs_Misuse_HasPyTorchMessages(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, device: device);
        Tensor y = torch.tensor(new[] { 0.3, 0.7 }, device: device);
        Tensor Ones(long n) => torch.ones(n, dtype: ScalarType.Float64, device: device);
        Func<Tensor[], Tensor[]> pair = TupleFunction("pair");

        Assert.That(Assert.Throws<AutogradException>(() => Autograd.Functional.Jacobian(TupleFunction("pair_partial"), [x, y], strict: true))!.Message,
            Is.EqualTo(FunctionalData.Message("tuple_strict_independent")));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Functional.Vjp(pair, [x, y], [Ones(3)]))!.Message,
            Does.StartWith(FunctionalData.Message("tuple_vjp_v_len")));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Functional.Vjp(pair, [x, y], [Ones(3), Ones(3)]))!.Message,
            Does.StartWith(FunctionalData.Message("tuple_vjp_v_size")));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Functional.Vjp(pair, [x, y]))!.Message,
            Does.StartWith(FunctionalData.Message("tuple_vjp_v_none")));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Functional.Jacobian(_ => [x, null!], [x, y]))!.Message,
            Does.StartWith("The outputs of the user-provided function given to jacobian must be either a Tensor or a tuple of Tensors but the value at index 1"));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Jacobian_ForwardModeStrategy_HasPyTorchErrors(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, device: device);
        Tensor Square(Tensor t) => t * t;
        const JacobianStrategy forward = JacobianStrategy.ForwardMode;

        Assert.That(Assert.Throws<NotSupportedException>(() => Autograd.Functional.Jacobian(Square, x, createGraph: true, strategy: forward))!.Message,
            Is.EqualTo(FunctionalData.Message("forward_create_graph")));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Functional.Jacobian(Square, x, strict: true, strategy: forward))!.Message,
            Does.StartWith(FunctionalData.Message("forward_strict")));
        Assert.That(Assert.Throws<NotSupportedException>(() => Autograd.Functional.Jacobian(Square, x, strategy: forward))!.Message,
            Is.EqualTo(FunctionalData.Message("forward_no_vectorize")));
        Assert.That(Assert.Throws<NotSupportedException>(() => Autograd.Functional.Hessian(t => t.pow(3).sum(), x, outerJacobianStrategy: forward))!.Message,
            Is.EqualTo(FunctionalData.Message("hessian_forward_no_vectorize")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void JacobianAndHessian_CreateGraphInsideNoGrad_KeepTheirGraph(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, device: device, requires_grad: true);
        Tensor jacobian, hessian;
        using (Autograd.NoGrad())
        {
            jacobian = Autograd.Functional.Jacobian(t => t.pow(3), x, createGraph: true);
            hessian = Autograd.Functional.Hessian(t => t.pow(4).sum(), x, createGraph: true);
        }
        Assert.That(jacobian.requires_grad, Is.True);
        Assert.That(hessian.requires_grad, Is.True);
        // J = diag(3x²): d(sum J)/dx = 6x; H = diag(12x²): d(sum H)/dx = 24x.
        Tensor?[] gj = Autograd.Grad([jacobian.sum()], [x]);
        Tensor?[] gh = Autograd.Grad([hessian.sum()], [x]);
        AutogradFunctionalTests.AssertClose(gj[0]!, 6 * x.detach(), "d(sum J)/dx");
        AutogradFunctionalTests.AssertClose(gh[0]!, 24 * x.detach(), "d(sum H)/dx");
    }

    [Test]
    public void Jacobian_WideOutput_RowsInChunksMatchTheFormula()
    {
        // More rows than one chunk of seeds holds (8 MB of float64 / 3000 = 349 rows a chunk): 9 chunks.
        Tensor w = torch.linspace(0.0, 1.0, 3000, dtype: ScalarType.Float64);
        Tensor jacobian = Autograd.Functional.Jacobian(t => (t * w).sin(), torch.ones(1, dtype: ScalarType.Float64));
        Assert.That(jacobian.shape, Is.EqualTo(new long[] { 3000, 1 }));
        AutogradFunctionalTests.AssertClose(jacobian.squeeze(1), w * w.cos(), "J");
    }
}
