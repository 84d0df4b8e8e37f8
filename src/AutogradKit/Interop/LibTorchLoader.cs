using System.Runtime.InteropServices;
using TorchSharp;

namespace AutogradKit;

/// <summary>
/// Makes sure libtorch and TorchSharp's native bridge are loaded before AutogradKit's first native call,
/// and when they cannot be, says which library failed and why instead of TorchSharp's page of probing trace.
/// </summary>
internal static class LibTorchLoader
{
    private static readonly Lazy<Exception?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    // Set once libtorch is known to be loaded; it never goes back. Read before the Lazy on every call because
    // properties like Autograd.IsGradEnabled cost one P/Invoke and the Lazy's check alone added 40 % to them.
    private static volatile bool s_loaded;

    /// <summary>Throws <see cref="LibTorchLoadException"/> when libtorch cannot be loaded; one field read after the first call.</summary>
    public static void EnsureLoaded()
    {
        if (!s_loaded)
        {
            EnsureLoadedSlow();
        }
    }

    private static void EnsureLoadedSlow()
    {
        if (LoadFailure.Value is { } failure)
        {
            throw failure;
        }
        s_loaded = true;
    }

    private static LibTorchLoadException? TryLoad()
    {
        try
        {
            // Any torch member runs TorchSharp's static initialiser, which loads the natives.
            torch.InitializeDeviceType(DeviceType.CPU);
            WineCxxRuntimeRepair.Install();
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Diagnose(AppContext.BaseDirectory, e);
        }
    }

    /// <summary>
    /// Loads each native library TorchSharp needs from <paramref name="baseDirectory"/>, in dependency order,
    /// and describes the first that fails with the dynamic loader's own reason.
    /// </summary>
    internal static LibTorchLoadException Diagnose(string baseDirectory, Exception original)
    {
        string[] names = OperatingSystem.IsWindows() ? ["c10.dll", "torch_cpu.dll", "LibTorchSharp.dll"]
            : OperatingSystem.IsMacOS() ? ["libc10.dylib", "libtorch_cpu.dylib", "libLibTorchSharp.dylib"]
            : ["libc10.so", "libtorch_cpu.so", "libLibTorchSharp.so"];
        foreach (string name in names)
        {
            string? path = FindNative(baseDirectory, name);
            if (path is null)
            {
                return new LibTorchLoadException(name, null,
                    $"{name} was not found next to the application ({baseDirectory}). Reference libtorch's natives for this platform, e.g. the libtorch-cpu-linux-x64 package.",
                    original);
            }
            try
            {
                NativeLibrary.Free(NativeLibrary.Load(path));
            }
            catch (DllNotFoundException e)
            {
                return new LibTorchLoadException(name, path, $"{path} could not be loaded: {LoaderReason(e.Message)}", original);
            }
            catch (BadImageFormatException e)
            {
                return new LibTorchLoadException(name, path, $"{path} could not be loaded: {LoaderReason(e.Message)}", original);
            }
        }
        return new LibTorchLoadException("TorchSharp", null, $"TorchSharp failed to initialise libtorch: {Ensure.FirstLine(original.Message)}", original);
    }

    /// <summary>The dynamic loader's reason, without .NET's generic advice around it.</summary>
    internal static string LoaderReason(string message)
    {
        string[] lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length > 1 ? lines[^1] : message;
    }

    private static string? FindNative(string baseDirectory, string name)
    {
        string direct = Path.Combine(baseDirectory, name);
        if (File.Exists(direct))
        {
            return direct;
        }
        string runtimes = Path.Combine(baseDirectory, "runtimes");
        if (!Directory.Exists(runtimes))
        {
            return null;
        }
        return Directory.EnumerateFiles(runtimes, name, SearchOption.AllDirectories)
            .FirstOrDefault(p => p.Contains(RuntimeInformation.RuntimeIdentifier, StringComparison.Ordinal) || p.Contains(RidOfThisMachine(), StringComparison.Ordinal));
    }

    private static string RidOfThisMachine()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        return $"{os}-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
    }
}
