using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Tensors;

public class RequiresGradExtensionsTests
{
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Detach_SharesStorageAndLeavesTheGraph(string device)
    {
        var expected = FoundationData.Json.GetProperty("detach");
        using var x = torch.tensor(new[] { 1.0f, 2.0f }, device: DeviceCases.Device(device)).RequiresGrad();
        using var y = x * 3;

        using var d = y.Detach();

        Assert.That(d.requires_grad, Is.EqualTo(expected.GetProperty("requires_grad").GetBoolean()));
        Assert.That(d.is_leaf, Is.EqualTo(expected.GetProperty("is_leaf").GetBoolean()));
        Assert.That(d.is_leaf && !d.requires_grad, Is.EqualTo(expected.GetProperty("grad_fn_is_none").GetBoolean()), "no grad_fn");
        d.add_(1);
        Assert.That(FoundationData.Values(y), Is.EqualTo(new[] { 4.0, 7.0 }), "writes through the detached tensor are seen by the original");
        Assert.That(d, Is.Not.SameAs(y));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RequiresGrad_SetsTheFlagInPlaceAndReturnsTheTensor(string device)
    {
        using var x = torch.ones(2, device: DeviceCases.Device(device));
        Assert.That(x.RequiresGrad(), Is.SameAs(x));
        Assert.That(x.requires_grad, Is.True);
        Assert.That(x.RequiresGrad(false), Is.SameAs(x));
        Assert.That(x.requires_grad, Is.False);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RequiresGrad_FalseOnANonLeaf_ThrowsPyTorchsMessage(string device)
    {
        using var x = torch.ones(3, device: DeviceCases.Device(device)).RequiresGrad();
        using var y = x * 2;

        var e = Assert.Throws<AutogradException>(() => y.RequiresGrad(false))!;

        Assert.That(e.Message, Is.EqualTo(FoundationData.Error("requires_grad_non_leaf")));
        Assert.That(y.requires_grad, Is.True);
        Assert.That(y.RequiresGrad(true), Is.SameAs(y), "true on a non-leaf is allowed, as in PyTorch");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RequiresGrad_OnIntegers_ThrowsLibTorchsMessage(string device)
    {
        using var x = torch.ones(3, dtype: ScalarType.Int64, device: DeviceCases.Device(device));

        var e = Assert.Throws<AutogradException>(() => x.RequiresGrad())!;

        Assert.That(e.Message, Is.EqualTo(FoundationData.Error("requires_grad_integer")));
        Assert.That(e.Message, Is.Not.EqualTo(FoundationData.Json.GetProperty("errors").GetProperty("requires_grad_integer").GetString()), "PyTorch 1.13's Python text is overridden by libtorch 2.10's");
        Assert.That(x.requires_grad, Is.False);
        Assert.That(x.RequiresGrad(false), Is.SameAs(x), "false on integers is allowed");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RetainGrad_FillsTheGradOfANonLeaf(string device)
    {
        var expected = FoundationData.Json.GetProperty("retain_grad");
        using var x = torch.tensor(FoundationData.Doubles(expected.GetProperty("x")).Select(v => (float)v).ToArray(), device: DeviceCases.Device(device)).RequiresGrad();
        using var mid = x * 2;
        mid.RetainGrad();
        using (var l = mid.pow(2).sum())
        {
            l.Backward();
        }
        using var midGrad = mid.grad!;
        using var xGrad = x.grad!;
        Assert.That(FoundationData.Values(midGrad), Is.EqualTo(FoundationData.Doubles(expected.GetProperty("mid_grad"))).Within(1e-6));
        Assert.That(FoundationData.Values(xGrad), Is.EqualTo(FoundationData.Doubles(expected.GetProperty("x_grad"))).Within(1e-6));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RetainGrad_WithoutRequiresGrad_ThrowsPyTorchsMessage(string device)
    {
        using var x = torch.ones(3, device: DeviceCases.Device(device));

        var e = Assert.Throws<AutogradException>(() => x.RetainGrad())!;

        Assert.That(e.Message, Is.EqualTo(FoundationData.Error("retain_grad_no_requires_grad")));
        Assert.That(e.NativeMessage, Does.StartWith(e.Message));
    }

    [Test]
    public void Members_NullTensor_ThrowArgumentNull()
    {
        Tensor? t = null;
        Assert.That(Assert.Throws<ArgumentNullException>(() => t!.Detach())!.ParamName, Is.EqualTo("t"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => t!.RequiresGrad())!.ParamName, Is.EqualTo("t"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => t!.RetainGrad())!.ParamName, Is.EqualTo("t"));
    }

    [Test]
    public void Members_DisposedTensor_ThrowObjectDisposed()
    {
        var t = torch.ones(1);
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.Detach());
        Assert.Throws<ObjectDisposedException>(() => t.RequiresGrad(false));
        Assert.Throws<ObjectDisposedException>(() => t.RetainGrad());
    }
}
