using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;
using TF = AutogradKit.TorchFunc;

namespace AutogradKit.Tests.TorchFunc;

public class TorchFuncGradTests
{
    private static IEnumerable<TestCaseData> ScalarRows() => TorchFuncData.Rows("scalar");

    private static IEnumerable<TestCaseData> EverydayRows() => TorchFuncData.Rows("everyday");

    [TestCaseSource(nameof(ScalarRows))]
    public void GradAndValue_ScalarFunction_EqualsFunctorch(int index)
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("scalar")[index];
        Func<Tensor, Tensor> f = TorchFuncData.Scalar(c.GetProperty("name").GetString()!);
        Tensor x = TorchFuncData.ToTensor(c.GetProperty("input"));

        var (grad, value) = TF.GradAndValue(f)(x);

        TorchFuncData.AssertClose(grad, TorchFuncData.ToTensor(c.GetProperty("grad")), "grad");
        TorchFuncData.AssertClose(value, TorchFuncData.ToTensor(c.GetProperty("value")), "value");
        TorchFuncData.AssertClose(TF.Grad(f)(x), grad, "Grad");
    }

    [TestCaseSource(nameof(ScalarRows))]
    public void Hessian_ScalarFunction_EqualsFunctorch(int index)
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("scalar")[index];
        Func<Tensor, Tensor> f = TorchFuncData.Scalar(c.GetProperty("name").GetString()!);
        Tensor x = TorchFuncData.ToTensor(c.GetProperty("input"));
        Tensor expected = TorchFuncData.ToTensor(c.GetProperty("hessian"));

        TorchFuncData.AssertClose(TF.Hessian(f)(x), expected, "Hessian");
        TorchFuncData.AssertClose(TF.Jacrev(TF.Grad(f))(x), expected, "Jacrev(Grad)");
        TorchFuncData.AssertClose(TF.Grad(y => TF.Grad(f)(y)[1])(x), expected[1], "Grad(Grad) row 1");
    }

    [TestCaseSource(nameof(ScalarRows))]
    public void VjpAndJvp_EqualFunctorch(int index)
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("scalar")[index];
        Func<Tensor, Tensor> s = TorchFuncData.Scalar(c.GetProperty("name").GetString()!);
        Tensor a34 = TorchFuncData.A34;
        Tensor F(Tensor x) => torch.tanh(a34.matmul(x)) * s(x);
        Tensor x = TorchFuncData.ToTensor(c.GetProperty("input"));

        var (output, vjpFn) = TF.Vjp(F, x);
        var (jvpOutput, jvp) = TF.Jvp(F, x, TorchFuncData.ToTensor(c.GetProperty("tangent")));

        TorchFuncData.AssertClose(output, TorchFuncData.ToTensor(c.GetProperty("vjp_output")), "output");
        TorchFuncData.AssertClose(vjpFn(TorchFuncData.ToTensor(c.GetProperty("cotangent"))), TorchFuncData.ToTensor(c.GetProperty("vjp")), "vjp");
        TorchFuncData.AssertClose(jvpOutput, output, "jvp output");
        TorchFuncData.AssertClose(jvp, TorchFuncData.ToTensor(c.GetProperty("jvp")), "jvp");
    }

    [TestCaseSource(nameof(EverydayRows))]
    public void JacrevAndJacfwd_EverydayFunction_EqualPyTorchsJacobian(int index)
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("everyday")[index];
        Func<Tensor, Tensor> f = TorchFuncData.Everyday(c.GetProperty("name").GetString()!);
        Tensor x = TorchFuncData.ToTensor(c.GetProperty("input"));
        Tensor expected = TorchFuncData.ToTensor(c.GetProperty("jacobian"));

        TorchFuncData.AssertClose(TF.Jacrev(f)(x), expected, "Jacrev");
        TorchFuncData.AssertClose(TF.Jacfwd(f)(x), expected, "Jacfwd");
    }

    [Test]
    public void VmapOfGrad_PerSampleGradients_EqualFunctorch()
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("per_sample");
        Tensor w = TorchFuncData.ToTensor(c.GetProperty("w"));
        Tensor xs = TorchFuncData.ToTensor(c.GetProperty("x"));
        Tensor ys = TorchFuncData.ToTensor(c.GetProperty("y"));
        Func<Tensor[], Tensor> loss = a => (a[0].matmul(a[1]) - a[2]).pow(2).sum();

        Tensor perSample = TF.Vmap(TF.Grad(loss), [null, 0, 0])([w, xs, ys]);

        TorchFuncData.AssertClose(perSample, TorchFuncData.ToTensor(c.GetProperty("grads")), "vmap(grad)");
        Tensor loop = torch.stack(Enumerable.Range(0, 5).Select(i => TF.Grad(loss)([w, xs[i], ys[i]])).ToArray());
        TorchFuncData.AssertClose(perSample, loop, "loop");
    }

    [Test]
    [AllowTensorLeaks(AllowTensorLeaksAttribute.TorchSharpParameterCount, ParameterDriftOnly = true)]
    public void FunctionalCall_VmapOfGradOverAModule_EqualsFunctorchsPerSampleGradients()
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("mlp");
        using var model = nn.Sequential(("0", nn.Linear(6, 8)), ("1", nn.Tanh()), ("2", nn.Linear(8, 3)));
        model.to(ScalarType.Float64);
        string[] names = model.named_parameters().Select(p => p.name).ToArray();
        Tensor[] parameters = names.Select(n => TorchFuncData.ToTensor(c.GetProperty("parameters").GetProperty(n))).ToArray();
        Tensor x = TorchFuncData.ToTensor(c.GetProperty("x"));
        Tensor y = torch.tensor(c.GetProperty("y").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        Tensor Loss(Tensor[] a)
        {
            var p = names.Select((n, i) => (n, a[i])).ToDictionary(e => e.n, e => e.Item2);
            return nn.functional.cross_entropy(TF.FunctionalCall(model, p, a[^2].unsqueeze(0)), a[^1].unsqueeze(0));
        }
        int?[] inDims = [.. names.Select(_ => (int?)null), 0, 0];

        for (int k = 0; k < names.Length; k++)
        {
            Tensor perSample = TF.Vmap(TF.Grad(Loss, k), inDims)([.. parameters, x, y]);
            TorchFuncData.AssertClose(perSample, TorchFuncData.ToTensor(c.GetProperty("grads").GetProperty(names[k])), names[k]);
        }
        Assert.That(model.named_parameters().Select(p => p.parameter.requires_grad), Is.All.True, "the module's own parameters are back");
    }

    [Test]
    [AllowTensorLeaks(AllowTensorLeaksAttribute.TorchSharpParameterCount, ParameterDriftOnly = true)]
    public void FunctionalCall_UnknownName_PyTorchsUnexpectedKeys()
    {
        using var scope = torch.NewDisposeScope();
        using var model = nn.Linear(2, 2);
        var e = Assert.Throws<ArgumentException>(() => TF.FunctionalCall(model, new Dictionary<string, Tensor> { ["nope"] = torch.ones(2) }, torch.ones(2)));
        Assert.That(e!.Message, Does.StartWith("Unexpected key(s): 'nope'."));
    }

    [Test]
    public void Grad_NotScalar_PyTorchsText()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<AutogradException>(() => TF.Grad(a => a)(torch.ones(3, 4)));
        Assert.That(e!.Message, Is.EqualTo(TorchFuncData.Message("grad_not_scalar")));
        Assert.That(NativeFunctorch.Depth, Is.Zero);
    }

    [Test]
    public void Grad_IntegerInput_PyTorchsText()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<AutogradException>(() => TF.Grad(a => a.sum())(torch.ones(3, dtype: ScalarType.Int64)));
        Assert.That(e!.Message, Is.EqualTo(TorchFuncData.Message("grad_integer")));
    }

    [Test]
    public void Grad_ArgnumOutOfRange_PyTorchsText()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => TF.Grad(a => (a[0] * 2).sum(), 2)([torch.ones(3, 4)]));
        Assert.That(e!.Message, Does.StartWith(TorchFuncData.Message("grad_argnum")));
    }

    [Test]
    public void Jvp_TangentOfAnotherShape_PyTorchsText()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => TF.Jvp(a => a.sin(), torch.ones(3), torch.ones(2)));
        Assert.That(e!.Message, Does.StartWith(TorchFuncData.Message("jvp_tangent_shape")));
    }

    [Test]
    public void VjpFn_CotangentOfAnotherShape_PyTorchsText()
    {
        using var scope = torch.NewDisposeScope();
        var (_, vjpFn) = TF.Vjp(a => a.sin(), torch.ones(3));
        var e = Assert.Throws<GradientShapeException>(() => vjpFn(torch.ones(2)));
        Assert.That(e!.Message, Is.EqualTo(TorchFuncData.Message("vjp_cotangent_shape")));
    }

    [Test]
    public void Jacrev_InPlaceOnInput_PyTorchsTextAndLevelsClosed()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<AutogradException>(() => TF.Jacrev(v => v.mul_(2))(TorchFuncData.X4));
        Assert.That(e!.Message, Is.EqualTo(TorchFuncData.Message("inplace_on_input")));
        Assert.That(NativeFunctorch.Depth, Is.Zero);
    }

    [Test]
    public void Grad_FunctionThrows_LevelClosedAndNextCallWorks()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = TorchFuncData.X4;
        Assert.Throws<FormatException>(() => TF.Vmap(TF.Grad(a => throw new FormatException("mine")))(torch.ones(2, 3)));
        Assert.That(NativeFunctorch.Depth, Is.Zero);
        TorchFuncData.AssertClose(TF.Grad(a => a.sin().sum())(x), x.cos(), "next call");
    }
}
