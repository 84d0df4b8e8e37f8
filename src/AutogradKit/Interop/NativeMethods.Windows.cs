using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>kernel32's memory and unwind-table functions, for <see cref="WineCxxRuntimeRepair"/> (Windows only).</summary>
internal static unsafe partial class NativeMethods
{
    /// <summary><c>MEM_COMMIT | MEM_RESERVE</c>.</summary>
    internal const uint MemCommitReserve = 0x3000;

    /// <summary><c>PAGE_READWRITE</c>.</summary>
    internal const uint PageReadWrite = 0x04;

    /// <summary><c>PAGE_EXECUTE_READ</c>.</summary>
    internal const uint PageExecuteRead = 0x20;

    /// <summary><c>PAGE_EXECUTE_READWRITE</c>.</summary>
    internal const uint PageExecuteReadWrite = 0x40;

    [LibraryImport(Libraries.Kernel32)]
    internal static partial void* VirtualAlloc(void* address, nuint size, uint allocationType, uint protect);

    [LibraryImport(Libraries.Kernel32)]
    [return: MarshalAs(UnmanagedType.Bool)]
    internal static partial bool VirtualProtect(void* address, nuint size, uint protect, out uint oldProtect);

    /// <summary>Registers x64 unwind data for code outside any module (<c>RUNTIME_FUNCTION</c> RVAs from <paramref name="baseAddress"/>).</summary>
    [LibraryImport(Libraries.Kernel32)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool RtlAddFunctionTable(uint* functionTable, uint entryCount, ulong baseAddress);
}
