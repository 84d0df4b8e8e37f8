using System.Runtime.InteropServices;
using NUnit.Framework;

namespace AutogradKit.Tests.Support;

/// <summary>
/// Whether the suite runs under Wine (the win-x64 build is tested there, see .ci/windows-check): the one detection,
/// by <c>ntdll</c> exporting <c>wine_get_version</c>, for the SEH-list repair and for tests that need a Linux tool.
/// </summary>
/// <remarks>Stateless after its first read; thread-safe.</remarks>
internal static class Wine
{
    /// <summary><c>ntdll</c>'s handle when it is Wine's, else zero.</summary>
    internal static readonly IntPtr Ntdll = FindWineNtdll();

    /// <summary>True under Wine, false on real Windows and elsewhere.</summary>
    internal static bool IsRunning => Ntdll != IntPtr.Zero;

    /// <summary>Skips the calling test under Wine, where <paramref name="tool"/> (a Linux program) cannot be launched.</summary>
    internal static void IgnoreIfRunning(string tool)
    {
        if (IsRunning)
        {
            Assert.Ignore($"needs {tool}, which the win-x64 build under Wine cannot launch");
        }
    }

    private static IntPtr FindWineNtdll() =>
        OperatingSystem.IsWindows() && NativeLibrary.TryLoad("ntdll.dll", out IntPtr ntdll) && NativeLibrary.TryGetExport(ntdll, "wine_get_version", out _)
            ? ntdll
            : IntPtr.Zero;
}
