namespace AutogradKit;

/// <summary>
/// The native libraries AutogradKit binds to, named once for every <c>LibraryImport</c>. The loader
/// (<see cref="LibTorchLoader"/>) makes sure they are resolvable before the first call.
/// </summary>
internal static class Libraries
{
    /// <summary>TorchSharp's C bridge; its <c>THS*</c> exports catch C++ exceptions into a per-thread error slot.</summary>
    public const string TorchSharp = "LibTorchSharp";

    /// <summary>libtorch's CPU library: mangled C++ exports that never catch.</summary>
    public const string TorchCpu = "torch_cpu";

    /// <summary>libtorch's core library (warnings, TensorImpl singletons).</summary>
    public const string C10 = "c10";

    /// <summary>The C++ runtime libtorch was built against on Linux (libstdc++).</summary>
    public const string CxxRuntime = "libstdc++.so.6";

    /// <summary>The C runtime MSVC-built libtorch allocates through on Windows (<c>operator new</c> is <c>malloc</c> there).</summary>
    public const string Ucrt = "ucrtbase";

    /// <summary>Windows' kernel32 (executable memory, import patching and <c>RaiseException</c> for <see cref="WineCxxRuntimeRepair"/>).</summary>
    public const string Kernel32 = "kernel32";
}
