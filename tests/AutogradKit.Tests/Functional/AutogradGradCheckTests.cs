using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

public class AutogradGradCheckTests
{
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradCheck_CorrectFunctions_Pass(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 0.3, -0.7, 1.1 }, device: device, requires_grad: true);
        Tensor y = torch.tensor(new[] { 1.5, 0.2, -0.4 }, device: device, requires_grad: true);
        Assert.That(Autograd.GradCheck(xs => torch.sin(xs[0]) * torch.exp(xs[1]), [x, y]), Is.True);
        Assert.That(Autograd.GradCheck(xs => (xs[0] * xs[1]).sum().sqrt(), [x.abs().detach().requires_grad_(true), y.abs().detach().requires_grad_(true)]), Is.True);
        Assert.That(x.grad, Is.Null);
        Assert.That(y.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradCheck_WrongGradient_ReportsInputAndElement(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor a = torch.tensor(new[] { 1.0, 2.0 }, device: device, requires_grad: true);
        Tensor b = torch.tensor(new[] { 3.0, 4.0 }, device: device, requires_grad: true);
        // b.detach() * b: the value is b², autograd sees only one factor, so d/db is b instead of 2b.
        Tensor F(Tensor[] xs) => xs[0] * 2 + xs[1].detach() * xs[1];

        var e = Assert.Throws<GradCheckException>(() => Autograd.GradCheck(F, [a, b]))!;

        Assert.That(e.Message, Does.StartWith("Jacobian mismatch for output 0 with respect to input 1,\nnumerical:"));
        Assert.That(e.Message, Does.Contain("\nanalytical:"));
        Assert.That(e.InputIndex, Is.EqualTo(1));
        Assert.That(e.InputElement, Is.EqualTo(0));
        Assert.That(e.Numerical, Is.EqualTo(6.0).Within(1e-6));
        Assert.That(e.Analytical, Is.EqualTo(3.0));
        Assert.That(Autograd.GradCheck(F, [a, b], raiseException: false), Is.False);
        Assert.That(b.grad, Is.Null);
        Assert.That(b.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 3.0, 4.0 }), "inputs not perturbed");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradCheck_BadInputs_ThrowArgumentException(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor f32 = torch.ones(2, dtype: ScalarType.Float32, device: device, requires_grad: true);
        var e = Assert.Throws<ArgumentException>(() => Autograd.GradCheck(xs => xs[0] * 2, [torch.ones(2, dtype: ScalarType.Float64, device: device)]))!;
        Assert.That(e.Message, Does.StartWith("gradcheck expects at least one input tensor to require gradient"));
        Assert.Throws<ArgumentNullException>(() => Autograd.GradCheck((Func<Tensor[], Tensor>)null!, [f32]));
    }
}
