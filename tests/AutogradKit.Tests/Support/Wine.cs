using NUnit.Framework;

namespace AutogradKit.Tests.Support;

/// <summary>
/// Whether the suite runs under Wine (the win-x64 build is tested there, see .ci/windows-check), for the SEH-list repair
/// and for tests that need a Linux tool.
/// </summary>
/// <remarks>Stateless after its first read; thread-safe.</remarks>
internal static class Wine
{
    /// <summary><c>ntdll</c>'s handle when it is Wine's, else zero (the library's one detection, <see cref="WineHost"/>).</summary>
    internal static IntPtr Ntdll => WineHost.Ntdll;

    /// <summary>True under Wine, false on real Windows and elsewhere.</summary>
    internal static bool IsRunning => WineHost.IsRunning;

    /// <summary>Skips the calling test under Wine, where <paramref name="tool"/> (a Linux program) cannot be launched.</summary>
    internal static void IgnoreIfRunning(string tool)
    {
        if (IsRunning)
        {
            Assert.Ignore($"needs {tool}, which the win-x64 build under Wine cannot launch");
        }
    }
}
