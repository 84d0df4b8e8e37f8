using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// c10's warning hooks (libc10, Itanium-ABI names of libtorch 2.10 on Linux x64). The handler is per thread:
/// <c>TORCH_WARN</c> calls the handler of the thread that raised the warning.
/// </summary>
internal static partial class NativeMethods
{
    /// <summary>The mangled name of <c>c10::WarningUtils::get_warning_handler()</c>.</summary>
    internal const string GetWarningHandlerExport = "_ZN3c1012WarningUtils19get_warning_handlerEv";

    /// <summary>The mangled name of <c>c10::WarningUtils::set_warning_handler(c10::WarningHandler*)</c>.</summary>
    internal const string SetWarningHandlerExport = "_ZN3c1012WarningUtils19set_warning_handlerEPNS_14WarningHandlerE";

    /// <summary>The mangled name of <c>c10::Warning::msg() const</c>.</summary>
    internal const string WarningMsgExport = "_ZNK3c107Warning3msgB5cxx11Ev";

    /// <summary><c>c10::WarningHandler* c10::WarningUtils::get_warning_handler()</c>: this thread's handler.</summary>
    [SuppressGCTransition]
    [LibraryImport("c10", EntryPoint = GetWarningHandlerExport)]
    internal static partial IntPtr WarningUtils_get_warning_handler();

    /// <summary><c>void c10::WarningUtils::set_warning_handler(c10::WarningHandler*)</c>: sets this thread's handler.</summary>
    [SuppressGCTransition]
    [LibraryImport("c10", EntryPoint = SetWarningHandlerExport)]
    internal static partial void WarningUtils_set_warning_handler(IntPtr handler);

    /// <summary><c>const std::string&amp; c10::Warning::msg() const</c>: the warning's text, owned by the warning.</summary>
    [LibraryImport("c10", EntryPoint = WarningMsgExport)]
    internal static partial IntPtr Warning_msg(IntPtr warning);
}
