using NUnit.Framework;
using TorchSharp;

namespace AutogradKit.Tests.Support;

/// <summary>
/// Test cases for every device a test must run on: the CPU always, and <c>cuda:0</c> always listed,
/// reported as skipped with the reason "CUDA not available" where there is none.
/// </summary>
public static class DeviceCases
{
    /// <summary>Device names, for [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))].</summary>
    public static IEnumerable<TestCaseData> All()
    {
        yield return new TestCaseData("cpu").SetArgDisplayNames("cpu");
        var cuda = new TestCaseData("cuda:0").SetArgDisplayNames("cuda:0");
        if (!Devices.Cuda)
        {
            cuda.Ignore("CUDA not available");
        }
        yield return cuda;
    }

    /// <summary>The device for a case name.</summary>
    public static torch.Device Device(string name) => torch.device(name);

    /// <summary>Device names combined with other arguments: each row of <paramref name="rows"/> once per device.</summary>
    public static IEnumerable<TestCaseData> Cross(IEnumerable<object?[]> rows, Func<object?[], string>? name = null)
    {
        foreach (object?[] row in rows)
        {
            foreach (TestCaseData device in All())
            {
                string deviceName = (string)device.Arguments[0]!;
                var data = new TestCaseData([deviceName, .. row]);
                data.SetArgDisplayNames([deviceName, name?.Invoke(row) ?? string.Join(",", row)]);
                if (device.RunState == NUnit.Framework.Interfaces.RunState.Ignored)
                {
                    data.Ignore("CUDA not available");
                }
                yield return data;
            }
        }
    }
}
