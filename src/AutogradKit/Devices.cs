using System.Collections.ObjectModel;
using TorchSharp;

namespace AutogradKit;

/// <summary>
/// The devices libtorch can compute on here: the CPU, then each CUDA device.
/// </summary>
/// <remarks>Thread-safe: the device list is read once and never changes.</remarks>
public static class Devices
{
    private static readonly Lazy<IReadOnlyList<torch.Device>> AllDevices = new(Enumerate);

    /// <summary>Whether libtorch sees a CUDA device.</summary>
    public static bool Cuda
    {
        get
        {
            LibTorchLoader.EnsureLoaded();
            return torch.cuda.is_available();
        }
    }

    /// <summary>The CPU, then <c>cuda:0</c>, <c>cuda:1</c>, … for each CUDA device.</summary>
    public static IReadOnlyList<torch.Device> All => AllDevices.Value;

    /// <summary>
    /// libtorch's version as PyTorch prints <c>torch.__version__</c> ("2.10.0"): TorchSharp reports it as a
    /// four-part .NET version ("2.10.0.0").
    /// </summary>
    internal static string LibTorchVersion
    {
        get
        {
            string version = torch.__version__;
            return version.Count(c => c == '.') == 3 && version.EndsWith(".0", StringComparison.Ordinal) ? version[..^2] : version;
        }
    }

    /// <summary>
    /// One line a device, the first facts <c>nvidia-smi</c> would show: its name and, for CUDA, its index and count.
    /// </summary>
    public static string Describe()
    {
        var lines = new List<string>();
        foreach (torch.Device device in All)
        {
            lines.Add(device.type == DeviceType.CUDA
                ? $"cuda:{device.index}  CUDA device {device.index} of {torch.cuda.device_count()} (libtorch {LibTorchVersion})"
                : $"cpu     {Environment.ProcessorCount} logical cores, {torch.get_num_threads()} libtorch threads (libtorch {LibTorchVersion})");
        }
        return string.Join(Environment.NewLine, lines);
    }

    private static ReadOnlyCollection<torch.Device> Enumerate()
    {
        LibTorchLoader.EnsureLoaded();
        var devices = new List<torch.Device> { torch.CPU };
        if (torch.cuda.is_available())
        {
            for (int i = 0; i < torch.cuda.device_count(); i++)
            {
                devices.Add(torch.device(DeviceType.CUDA, i));
            }
        }
        return devices.AsReadOnly();
    }
}
