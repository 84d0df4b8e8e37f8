using AutogradKit.Tests.Functional;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.ForwardAD;

[NonParallelizable] // dual levels are process-wide
public class AutogradForwardADTests
{
    [TestCaseSource(typeof(ForwardADData), nameof(ForwardADData.CaseRows))]
    public void UnpackDual_OfFunctionOfDual_GivesPyTorchsOutputAndTangent(string deviceName, int index)
    {
        Device device = DeviceCases.Device(deviceName);
        var c = ForwardADData.Cases[index];
        Func<Tensor, Tensor> f = FunctionalData.Function(c.GetProperty("function").GetString()!, device);
        Tensor x = FunctionalData.ToTensor(c.GetProperty("input"), device);
        Tensor v = FunctionalData.ToTensor(c.GetProperty("v"), device);
        Tensor expectedOutput = FunctionalData.ToTensor(c.GetProperty("output"), device);
        Tensor expectedTangent = FunctionalData.ToTensor(c.GetProperty("tangent"), device);

        using (Autograd.ForwardAD.DualLevel())
        {
            UnpackedDual result = Autograd.ForwardAD.UnpackDual(f(Autograd.ForwardAD.MakeDual(x, v)));

            Assert.That(torch.allclose(result.Primal, expectedOutput, rtol: 1e-12, atol: 1e-12), Is.True, "primal");
            Assert.That(result.Tangent, Is.Not.Null);
            Assert.That(torch.allclose(result.Tangent!, expectedTangent, rtol: 1e-12, atol: 1e-12), Is.True, "tangent");
        }
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void DualLevel_Dispose_DeletesTheTangents(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0 }, device: device);
        Tensor y;
        using (Autograd.ForwardAD.DualLevel())
        {
            y = Autograd.ForwardAD.MakeDual(x, torch.ones_like(x)).sin();
            Assert.That(Autograd.ForwardAD.UnpackDual(y).Tangent, Is.Not.Null);
        }
        using (Autograd.ForwardAD.DualLevel())
        {
            Assert.That(Autograd.ForwardAD.UnpackDual(y).Tangent, Is.Null, "a new level sees no tangent of the old one");
        }
    }

    [Test]
    public void UnpackDual_OutsideALevel_ReturnsTheTensorItselfAndNoTangent()
    {
        Tensor x = torch.ones(3);
        UnpackedDual result = Autograd.ForwardAD.UnpackDual(x);
        Assert.That(result.Primal, Is.SameAs(x));
        Assert.That(result.Tangent, Is.Null);
    }

    [Test]
    public void UnpackDual_OfATensorWithoutTangent_GivesNullTangent()
    {
        using (Autograd.ForwardAD.DualLevel())
        {
            UnpackedDual result = Autograd.ForwardAD.UnpackDual(torch.ones(3));
            Assert.That(result.Tangent, Is.Null);
            Assert.That(result.Primal.data<float>().ToArray(), Is.EqualTo(new[] { 1f, 1f, 1f }));
        }
    }

    [Test]
    public void MakeDual_IsBackwardDifferentiable()
    {
        // d/dx sum(sin(make_dual(x, v))) = cos(x): the dual tensor aliases x in the backward graph too.
        Tensor x = torch.tensor(new[] { 0.5, -1.0 }, requires_grad: true);
        using (Autograd.ForwardAD.DualLevel())
        {
            Tensor y = Autograd.ForwardAD.MakeDual(x, torch.ones(2, dtype: ScalarType.Float64)).sin().sum();
            y.Backward();
        }
        Assert.That(x.grad!.data<double>().ToArray(), Is.EqualTo(new[] { Math.Cos(0.5), Math.Cos(-1.0) }).Within(1e-15));
    }

    [Test]
    public void DualLevel_Nested_ThrowsPyTorchsErrorAndKeepsTheOpenLevel()
    {
        Tensor x = torch.ones(3);
        using (Autograd.ForwardAD.DualLevel())
        {
            var e = Assert.Throws<AutogradException>(() => Autograd.ForwardAD.DualLevel());
            Assert.That(e!.Message, Is.EqualTo(ForwardADData.Message("nested")));
            Assert.That(Autograd.ForwardAD.UnpackDual(Autograd.ForwardAD.MakeDual(x, x)).Tangent, Is.Not.Null, "the open level still works");
        }
        using (Autograd.ForwardAD.DualLevel())
        {
            // and a new one can be opened after it
        }
    }

    [Test]
    public void DualLevel_DisposedTwiceOrOnAnotherThread_ClosesOnce()
    {
        IDisposable level = Autograd.ForwardAD.DualLevel();
        Task.Run(level.Dispose).Wait();
        level.Dispose();
        using (Autograd.ForwardAD.DualLevel())
        {
        }
    }

    [Test]
    public void MakeDual_WithoutALevel_ThrowsPyTorchsError()
    {
        var e = Assert.Throws<AutogradException>(() => Autograd.ForwardAD.MakeDual(torch.ones(3), torch.ones(3)));
        Assert.That(e!.Message, Is.EqualTo(ForwardADData.Message("no_level")));
    }

    private static IEnumerable<TestCaseData> MakeDualErrors()
    {
        yield return new TestCaseData("size", (Func<Tensor>)(() => Autograd.ForwardAD.MakeDual(torch.ones(3), torch.ones(4))), typeof(AutogradException));
        yield return new TestCaseData("primal_dtype", (Func<Tensor>)(() => Autograd.ForwardAD.MakeDual(torch.ones(3, dtype: ScalarType.Int64), torch.ones(3))), typeof(ArgumentException));
        yield return new TestCaseData("tangent_dtype", (Func<Tensor>)(() => Autograd.ForwardAD.MakeDual(torch.ones(3), torch.ones(3, dtype: ScalarType.Int64))), typeof(ArgumentException));
        yield return new TestCaseData("already_dual", (Func<Tensor>)(() => Autograd.ForwardAD.MakeDual(Autograd.ForwardAD.MakeDual(torch.ones(3), torch.ones(3)), torch.ones(3))), typeof(AutogradException));
        yield return new TestCaseData("no_forward_derivative", (Func<Tensor>)(() => torch.eye(3).ormqr(torch.ones(3), Autograd.ForwardAD.MakeDual(torch.eye(3), torch.ones(3, 3)))), typeof(AutogradException));
    }

    [TestCaseSource(nameof(MakeDualErrors))]
    public void MakeDual_BadInput_ThrowsTypedPyTorchMessage(string key, Func<Tensor> call, Type expected)
    {
        using (Autograd.ForwardAD.DualLevel())
        {
            Exception? e = Assert.Catch(() => Ensure.Run(call));
            Assert.That(e, Is.TypeOf(expected).Or.InstanceOf(expected));
            Assert.That(e!.Message, Does.StartWith(ForwardADData.Message(key)));
        }
    }

    [Test]
    public void MakeDual_NullOrDisposed_ThrowsArgumentErrors()
    {
        Tensor disposed = torch.ones(3);
        disposed.Dispose();
        using (Autograd.ForwardAD.DualLevel())
        {
            Assert.Throws<ArgumentNullException>(() => Autograd.ForwardAD.MakeDual(null!, torch.ones(3)));
            Assert.Throws<ObjectDisposedException>(() => Autograd.ForwardAD.MakeDual(disposed, torch.ones(3)));
            Assert.Throws<ObjectDisposedException>(() => Autograd.ForwardAD.UnpackDual(disposed));
        }
    }
}
