using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

public class AutogradGradTests
{
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_ReturnsGradients_AndRestoresDotGrad(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0, 3.0 }, device: device, requires_grad: true);
        Tensor w = torch.tensor(new[] { 0.5, 0.5, 0.5 }, device: device, requires_grad: true);
        x.grad = torch.full(3, 9.0, dtype: ScalarType.Float64, device: device);
        Tensor y = (x * x * w).sum();

        Tensor?[] g = Autograd.Grad([y], [x]);

        Assert.That(g[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 1.0, 2.0, 3.0 }));
        Assert.That(x.grad!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 9.0, 9.0, 9.0 }), "saved .grad restored");
        Assert.That(w.grad, Is.Null, "other leaves untouched");
        Assert.That(g[0]!.requires_grad, Is.False);
        // retainGraph defaults to createGraph (false): the graph is freed.
        Assert.Throws<GraphFreedException>(() => Autograd.Grad([y], [x]));
        Assert.That(x.grad!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 9.0, 9.0, 9.0 }), "restored when backward throws");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_CreateGraph_GivesSecondDerivative(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(2.0, dtype: ScalarType.Float64, device: device, requires_grad: true);
        Tensor y = x.pow(3);
        Tensor dy = Autograd.Grad([y], [x], createGraph: true)[0]!;
        Tensor d2y = Autograd.Grad([dy], [x])[0]!;
        Assert.That(dy.item<double>(), Is.EqualTo(12.0));
        Assert.That(d2y.item<double>(), Is.EqualTo(12.0));
        Assert.That(x.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_NonLeafInput_Works(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0 }, device: device, requires_grad: true);
        Tensor h = x * 3;
        Tensor y = (h * h).sum();
        Tensor?[] g = Autograd.Grad([y, y], [h, x], [torch.ones_like(y), torch.ones_like(y)]);
        Assert.That(g[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 12.0, 24.0 }));
        Assert.That(g[1]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 36.0, 72.0 }));
        Assert.That(h.grad, Is.Null);
        Assert.That(x.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_UnusedInput_NullWithAllowUnused(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.ones(3, dtype: ScalarType.Float64, device: device, requires_grad: true);
        Tensor z = torch.ones(2, dtype: ScalarType.Float64, device: device, requires_grad: true);
        Tensor?[] g = Autograd.Grad([(x * 2).sum()], [x, z], allowUnused: true);
        Assert.That(g[0], Is.Not.Null);
        Assert.That(g[1], Is.Null);
    }

    /// <summary>Every misuse, in this process: each must throw a typed exception, none may end the process.</summary>
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_EveryMisuse_ThrowsTypedException(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0, 3.0 }, device: device, requires_grad: true);
        Tensor ones(params long[] s) => torch.ones(s, dtype: ScalarType.Float64, device: device);
        string M(string key) => FunctionalData.Message(key);

        Assert.That(Assert.Throws<GradientShapeException>(() => Autograd.Grad([x * 2], [x], [ones(4)]))!.Message, Is.EqualTo(M("grad_shape")));
        Assert.That(Assert.Throws<NonScalarOutputException>(() => Autograd.Grad([x * 2], [x]))!.Message, Is.EqualTo(M("grad_nonscalar")));
        Assert.That(Assert.Throws<NoGradFnException>(() => Autograd.Grad([ones(3)], [x], [ones(3)]))!.Message, Is.EqualTo(M("grad_no_grad_fn")));
        Assert.That(Assert.Throws<AutogradException>(() => Autograd.Grad([(x * 2).sum()], [ones(3)]))!.Message, Is.EqualTo(M("grad_input_no_grad")));
        Assert.That(Assert.Throws<UnusedInputException>(() => Autograd.Grad([(x * 2).sum()], [x, ones(2).requires_grad_(true)]))!.Message, Is.EqualTo(M("grad_unused")));
        Tensor y = (x * x).sum();
        Autograd.Grad([y], [x]);
        var freed = Assert.Throws<GraphFreedException>(() => Autograd.Grad([y], [x]))!;
        Assert.That(freed.Message, Does.StartWith("Trying to backward through the graph a second time"));
        Assert.That(freed.NativeMessage, Is.Not.Null);

        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Grad([(x * 2).sum()], [x], [ones(), ones()]))!.Message, Does.StartWith("got 1 tensors and 2 gradients"));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Grad([(x * 2).sum()], []))!.Message, Does.StartWith("grad requires non-empty inputs."));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad(null!, [x]));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad([(x * 2).sum()], null!));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad([null!], [x]));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad([(x * 2).sum()], [null!]));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad([(x * 2).sum()], [x], [null!]));
        Tensor disposed = ones(3).requires_grad_(true);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Autograd.Grad([(x * 2).sum()], [disposed]));
        Assert.Throws<ObjectDisposedException>(() => Autograd.Grad([disposed], [x]));
        // libtorch casts a gradient of another dtype, as PyTorch does.
        Assert.That(Autograd.Grad([x * 2], [x], [torch.ones(3, dtype: ScalarType.Int64, device: device)])[0]!.dtype, Is.EqualTo(ScalarType.Float64));

        Assert.That(x.grad, Is.Null);
        Assert.That(x.requires_grad, Is.True);
        // Still works afterwards.
        Assert.That(Autograd.Grad([(x * 2).sum()], [x])[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 2.0, 2.0, 2.0 }));
    }
}
