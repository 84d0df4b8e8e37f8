using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// Whether this Windows process runs under Wine (the win-x64 build is tested there, see .ci/windows-check): the one
/// detection, by <c>ntdll</c> exporting <c>wine_get_version</c>. Real Windows and other platforms answer false.
/// </summary>
/// <remarks>Read once; thread-safe.</remarks>
internal static class WineHost
{
    /// <summary><c>ntdll</c>'s handle when it is Wine's, else zero.</summary>
    internal static readonly IntPtr Ntdll = FindWineNtdll();

    /// <summary>True under Wine, false on real Windows and elsewhere.</summary>
    internal static bool IsRunning => Ntdll != IntPtr.Zero;

    private static IntPtr FindWineNtdll() =>
        OperatingSystem.IsWindows() && NativeLibrary.TryLoad("ntdll.dll", out IntPtr ntdll) && NativeLibrary.TryGetExport(ntdll, "wine_get_version", out _)
            ? ntdll
            : IntPtr.Zero;
}
