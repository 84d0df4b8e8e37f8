using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// The one exception a feature that relies on <see cref="AbiFacts"/> throws on a platform the facts were not verified
/// on: <see cref="PlatformNotSupportedException"/> with the message "<c>{feature} is not supported on {platform}:
/// {reason}</c>", so that a user sees the same type and shape from GradFn, hooks and custom functions.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
internal static class PlatformSupport
{
    /// <summary>This process's platform as the messages name it, e.g. "Windows X64" or "Linux Arm64".</summary>
    internal static string Current =>
        (OperatingSystem.IsWindows() ? "Windows" : OperatingSystem.IsMacOS() ? "macOS" : OperatingSystem.IsLinux() ? "Linux" : RuntimeInformation.OSDescription)
        + " " + RuntimeInformation.ProcessArchitecture;

    /// <summary>
    /// "<paramref name="feature"/> is not supported on {platform}: <paramref name="reason"/>; supported with
    /// {<see cref="AbiFacts.VerifiedOn"/>}."
    /// </summary>
    internal static PlatformNotSupportedException NotSupported(string feature, string reason) =>
        NotSupported(feature, reason, AbiFacts.VerifiedOn);

    /// <summary>The same, for a feature verified on <paramref name="verifiedOn"/> (e.g. Linux x64 and Windows x64).</summary>
    internal static PlatformNotSupportedException NotSupported(string feature, string reason, string verifiedOn) =>
        new($"{feature} is not supported on {Current}: {reason}; supported with {verifiedOn}.");

    /// <summary>What a feature verified under both ABIs names as its platforms.</summary>
    internal const string VerifiedOnLinuxAndWindows = AbiFacts.VerifiedOn + ", and with " + AbiFacts.Msvc.VerifiedOn;

    /// <summary>
    /// The refusal of a feature that depends on C++ exports or layouts where no C++ ABI is verified
    /// (<see cref="CxxAbi.Unverified"/>), naming both verified platforms; null on Linux x64 and Windows x64.
    /// </summary>
    internal static PlatformNotSupportedException? RefusedOnUnverifiedAbi(string feature, string reason) =>
        CxxExports.Abi == CxxAbi.Unverified ? NotSupported(feature, reason, VerifiedOnLinuxAndWindows) : null;

    /// <summary>The verified platform of this process's C++ ABI: <see cref="AbiFacts.Msvc.VerifiedOn"/> under MSVC, else <see cref="AbiFacts.VerifiedOn"/>.</summary>
    internal static string VerifiedOnThisAbi => CxxExports.IsMsvc ? AbiFacts.Msvc.VerifiedOn : AbiFacts.VerifiedOn;
}
