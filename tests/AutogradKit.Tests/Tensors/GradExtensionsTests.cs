using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Tensors;

public class GradExtensionsTests
{
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void ZeroGrad_ZeroesTheGradientInPlace(string device)
    {
        using var x = torch.tensor(new[] { 1.0f, 2.0f, 3.0f }, device: DeviceCases.Device(device)).RequiresGrad();
        using (var l = x.pow(2).sum())
        {
            l.Backward();
        }
        using var before = x.grad!;

        x.ZeroGrad();

        Assert.That(FoundationData.Values(before), Is.EqualTo(new[] { 0.0, 0.0, 0.0 }), "the same gradient tensor is zeroed");
        using var after = x.grad!;
        Assert.That(FoundationData.Values(after), Is.EqualTo(new[] { 0.0, 0.0, 0.0 }));
    }

    [Test]
    public void ZeroGrad_CreatesNoManagedObjects()
    {
        using var x = torch.ones(3).RequiresGrad();
        using (var l = x.sum())
        {
            l.Backward();
        }
        x.ZeroGrad();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            x.ZeroGrad();
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "no wrapper per call, unlike w.grad.zero_()");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void ZeroGrad_WithoutGradient_DoesNothing(string device)
    {
        using var x = torch.ones(3, device: DeviceCases.Device(device)).RequiresGrad();
        x.ZeroGrad();
        Assert.That(x.grad, Is.Null);
        using var plain = torch.ones(3, device: DeviceCases.Device(device));
        plain.ZeroGrad();
        Assert.That(plain.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void ZeroGrad_GradientThatRequiresGrad_IsZeroedLikePythonsZero_(string device)
    {
        using var x = torch.tensor(new[] { 1.0, 2.0 }, device: DeviceCases.Device(device)).RequiresGrad();
        using (var y = x.pow(3).sum())
        {
            y.Backward(createGraph: true);
        }
        x.ZeroGrad();
        using var grad = x.grad!;
        Assert.That(FoundationData.Values(grad), Is.EqualTo(new[] { 0.0, 0.0 }));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void ZeroGrad_Many_SetToNoneDropsGradients(string device)
    {
        Device dev = DeviceCases.Device(device);
        using var a = torch.ones(2, device: dev).RequiresGrad();
        using var b = torch.ones(3, device: dev).RequiresGrad();
        using var c = torch.ones(1, device: dev).RequiresGrad();
        using (var l = a.sum() + (b * 2).sum())
        {
            l.Backward();
        }

        new[] { a, b, c }.ZeroGrad(setToNone: true);

        Assert.That(a.grad, Is.Null);
        Assert.That(b.grad, Is.Null);
        Assert.That(c.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void ZeroGrad_Many_ZeroesEveryGradient(string device)
    {
        Device dev = DeviceCases.Device(device);
        using var a = torch.ones(2, device: dev).RequiresGrad();
        using var b = torch.ones(3, device: dev).RequiresGrad();
        using var c = torch.ones(1, device: dev).RequiresGrad();
        using (var l = a.sum() + (b * 2).sum())
        {
            l.Backward();
        }

        new List<Tensor> { a, b, c }.ZeroGrad();

        using var ga = a.grad!;
        using var gb = b.grad!;
        Assert.That(FoundationData.Values(ga), Is.EqualTo(new[] { 0.0, 0.0 }));
        Assert.That(FoundationData.Values(gb), Is.EqualTo(new[] { 0.0, 0.0, 0.0 }));
        Assert.That(c.grad, Is.Null);
    }

    [Test]
    public void ZeroGrad_NullArguments_ThrowArgumentNull()
    {
        Tensor? t = null;
        Assert.That(Assert.Throws<ArgumentNullException>(() => t!.ZeroGrad())!.ParamName, Is.EqualTo("t"));
        IEnumerable<Tensor>? ts = null;
        Assert.That(Assert.Throws<ArgumentNullException>(() => ts!.ZeroGrad())!.ParamName, Is.EqualTo("tensors"));
        using var a = torch.ones(1);
        var e = Assert.Throws<ArgumentNullException>(() => new Tensor[] { a, null! }.ZeroGrad(setToNone: true))!;
        Assert.That(e.ParamName, Is.EqualTo("tensors"));
        Assert.That(e.Message, Does.StartWith("The tensor at index 1 is null."));
    }

    [Test]
    public void ZeroGrad_DisposedTensor_ThrowsObjectDisposed()
    {
        var t = torch.ones(1);
        t.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => t.ZeroGrad())!;
        Assert.That(e.Message, Does.Contain("The tensor 't' was disposed."));
        Assert.Throws<ObjectDisposedException>(() => new[] { t }.ZeroGrad());
        Assert.Throws<ObjectDisposedException>(() => new[] { t }.ZeroGrad(setToNone: true));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void ZeroGrad_LibTorchRefuses_ThrowsPyTorchsMessage(string device)
    {
        Device dev = DeviceCases.Device(device);
        using var a = torch.ones(2, device: dev).RequiresGrad();
        Tensor g;
        using (Autograd.InferenceMode())
        {
            g = torch.ones(2, device: dev);
        }
        using (g)
        {
            a.grad = g;
        }

        var e = Assert.Throws<AutogradException>(() => a.ZeroGrad())!;

        Assert.That(e.Message, Is.EqualTo(FoundationData.Error("zero_inference_grad")));
        Assert.That(e.NativeMessage, Does.StartWith(e.Message));
        using var grad = a.grad!;
        // As in PyTorch: libtorch refuses after the kernel ran, so the gradient is zeroed anyway.
        Assert.That(FoundationData.Values(grad), Is.EqualTo(FoundationData.Doubles(FoundationData.Json.GetProperty("zero_inference_grad_after_error"))));
    }
}
