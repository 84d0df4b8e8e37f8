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
}
