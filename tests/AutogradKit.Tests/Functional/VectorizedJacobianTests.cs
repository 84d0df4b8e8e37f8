using AutogradKit.Tests.TorchFunc;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

public class VectorizedJacobianTests
{
    private static IEnumerable<TestCaseData> EverydayRows() => TorchFuncData.Rows("everyday");

    [TestCaseSource(nameof(EverydayRows))]
    public void Jacobian_VectorizeEverydayFunction_EqualsPyTorchAndTheLoop(int index)
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("everyday")[index];
        Func<Tensor, Tensor> f = TorchFuncData.Everyday(c.GetProperty("name").GetString()!);
        Tensor x = TorchFuncData.ToTensor(c.GetProperty("input"));

        Tensor vectorized = Autograd.Functional.Jacobian(f, x, vectorize: true);

        TorchFuncData.AssertClose(vectorized, TorchFuncData.ToTensor(c.GetProperty("jacobian")), "vectorize");
        TorchFuncData.AssertClose(vectorized, Autograd.Functional.Jacobian(f, x), "loop");
    }

    [Test]
    public void Jacobian_VectorizeInPlaceOnInput_PyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = TorchFuncData.X4;
        // As the loop: f's own libtorch error passes through as TorchSharp raised it.
        var e = Assert.Catch<Exception>(() => Autograd.Functional.Jacobian(v => v.mul_(2), x, vectorize: true));
        Assert.That(e!.Message.Split('\n')[0], Is.EqualTo(TorchFuncData.Message("inplace_on_input")));
        Assert.That(x.allclose(TorchFuncData.X4), Is.True, "the input is not modified");
    }

    [Test]
    public void Grad_IsGradsBatched_EqualsOnePassPerEntry()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = TorchFuncData.X4.requires_grad_(true);
        Tensor y = torch.softmax(x, 0) * x.sum();
        Tensor seeds = torch.linspace(-1, 1, 12, dtype: ScalarType.Float64).reshape(3, 4);

        Tensor batched = Autograd.Grad([y], [x], [seeds], retainGraph: true, isGradsBatched: true)[0]!;

        Tensor loop = torch.stack(Enumerable.Range(0, 3).Select(i => Autograd.Grad([y], [x], [seeds[i]], retainGraph: true)[0]!).ToArray());
        TorchFuncData.AssertClose(batched, loop);
    }
}
