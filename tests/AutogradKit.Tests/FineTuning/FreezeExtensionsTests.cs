using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using TorchSharp.Modules;

namespace AutogradKit.Tests.FineTuning;

[AllowTensorLeaks(AllowTensorLeaksAttribute.TorchSharpParameterCount)]
public class FreezeExtensionsTests
{
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Freeze_Module_TurnsRequiresGradOffAndBack(string deviceName)
    {
        var model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)).to(DeviceCases.Device(deviceName));

        Sequential frozen = model.Freeze();

        Assert.That(frozen, Is.SameAs(model));
        Assert.That(model.parameters().All(p => !p.requires_grad), Is.True);
        Assert.That(model.Unfreeze(), Is.SameAs(model));
        Assert.That(model.parameters().All(p => p.requires_grad), Is.True);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Freeze_Parameters_OnlyThoseGiven(string deviceName)
    {
        Linear a = torch.nn.Linear(3, 4), b = torch.nn.Linear(4, 1);
        var model = torch.nn.Sequential(a, b).to(DeviceCases.Device(deviceName));
        List<Parameter> first = a.parameters().ToList();

        IEnumerable<Parameter> result = first.Freeze();

        Assert.That(result, Is.SameAs(first));
        Assert.That(first.All(p => !p.requires_grad), Is.True);
        Assert.That(b.parameters().All(p => p.requires_grad), Is.True);
        first.Unfreeze();
        Assert.That(model.parameters().All(p => p.requires_grad), Is.True);
        Assert.Throws<ArgumentNullException>(() => ((IEnumerable<Parameter>)null!).Freeze());
    }
    [Test]
    public void Unfreeze_ModuleWithAnIntegerParameter_ThrowsPyTorchsErrorAndChangesNothing()
    {
        // Before: a raw ExternalException after half the parameters were unfrozen. PyTorch 1.13's
        // `p.requires_grad = True` on an int64 parameter: RuntimeError "only Tensors of floating point and complex
        // dtype can require gradients".
        using var model = torch.nn.Linear(3, 2);
        model.Freeze();
        model.register_parameter("steps", new Parameter(torch.zeros(1, dtype: torch.int64), requires_grad: false));

        var e = Assert.Throws<AutogradException>(() => model.Unfreeze());

        Assert.That(e!.Message, Is.EqualTo("only Tensors of floating point and complex dtype can require gradients"));
        Assert.That(model.parameters().Select(p => p.requires_grad), Has.All.False);
        Assert.That(model.Freeze(), Is.SameAs(model), "freezing an integer parameter is allowed, as in PyTorch");
    }

    [Test]
    public void Unfreeze_ParametersWithAComplexOne_UnfreezesAll()
    {
        using var real = new Parameter(torch.zeros(2), requires_grad: false);
        using var complex = new Parameter(torch.zeros(2, dtype: torch.complex64), requires_grad: false);

        new[] { real, complex }.Unfreeze();

        Assert.That(real.requires_grad && complex.requires_grad, Is.True);
    }

    [Test]
    public void Unfreeze_ParametersWithADisposedOne_ThrowsObjectDisposedAndChangesNothing()
    {
        using var first = new Parameter(torch.zeros(2), requires_grad: false);
        var disposed = new Parameter(torch.zeros(2), requires_grad: false);
        disposed.Dispose();

        Assert.Throws<ObjectDisposedException>(() => new[] { first, disposed }.Unfreeze());
        Assert.That(first.requires_grad, Is.False);
    }
}
