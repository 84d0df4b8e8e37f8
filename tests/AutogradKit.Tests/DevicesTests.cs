using NUnit.Framework;
using TorchSharp;

namespace AutogradKit.Tests;

public class DevicesTests
{
    [Test]
    public void All_StartsWithCpuThenOneEntryPerCudaDevice()
    {
        Assert.That(Devices.All[0].type, Is.EqualTo(DeviceType.CPU));
        Assert.That(Devices.All, Has.Count.EqualTo(1 + (Devices.Cuda ? torch.cuda.device_count() : 0)));
        for (int i = 1; i < Devices.All.Count; i++)
        {
            Assert.That(Devices.All[i].ToString(), Is.EqualTo($"cuda:{i - 1}"));
        }
    }

    [Test]
    public void Cuda_AgreesWithLibTorch() => Assert.That(Devices.Cuda, Is.EqualTo(torch.cuda.is_available()));

    [Test]
    public void Describe_HasOneLinePerDevice()
    {
        string[] lines = Devices.Describe().Split(Environment.NewLine);
        Assert.That(lines, Has.Length.EqualTo(Devices.All.Count));
        Assert.That(lines[0], Does.StartWith("cpu"));
        // PyTorch's torch.__version__ form, the libtorch-cpu package version this project references (2.10.0),
        // not TorchSharp's four-part "2.10.0.0".
        Assert.That(lines[0], Does.EndWith("(libtorch 2.10.0)"));
    }
}
