namespace AutogradKit;

/// <summary>
/// A few bytes of x64 machine code in their own executable page, with the absolute addresses they jump or call through
/// placed after the code (RIP-relative, 8-byte aligned) and the unwind data of their one stack frame registered with
/// <c>RtlAddFunctionTable</c>, so that an exception passing through the frame unwinds as through compiled code
/// (winnt.h: <c>UNWIND_INFO</c>, <c>RUNTIME_FUNCTION</c>). For <see cref="WineCxxRuntimeRepair"/>; Windows x64 only.
/// </summary>
/// <remarks>Thunks live as long as the process; thread-safe.</remarks>
internal static unsafe class ExecutableThunk
{
    private const int PageSize = 0x1000;

    /// <summary>
    /// The code range <c>[Begin, End)</c> that has a stack frame, and its <c>UNWIND_INFO</c> bytes (version 1, prolog at
    /// <c>Begin</c>); outside it the code is a leaf (the return address at <c>[rsp]</c>).
    /// </summary>
    internal readonly record struct FrameRegion(int Begin, int End, byte[] UnwindInfo);

    /// <summary>Copies <paramref name="code"/> and <paramref name="targets"/> into a new page and returns the code's address.</summary>
    internal static IntPtr Create(ReadOnlySpan<byte> code, ReadOnlySpan<IntPtr> targets, FrameRegion frame)
    {
        int targetsOffset = AlignUp(code.Length, sizeof(ulong));
        int unwindOffset = targetsOffset + (targets.Length * sizeof(ulong));
        int functionOffset = AlignUp(unwindOffset + frame.UnwindInfo.Length, sizeof(uint));
        var block = (byte*)NativeMethods.VirtualAlloc(null, PageSize, NativeMethods.MemCommitReserve, NativeMethods.PageExecuteReadWrite);
        if (block is null)
        {
            throw new InvalidOperationException("VirtualAlloc refused an executable page for a thunk");
        }
        code.CopyTo(new Span<byte>(block, code.Length));
        for (int i = 0; i < targets.Length; i++)
        {
            ((IntPtr*)(block + targetsOffset))[i] = targets[i];
        }
        frame.UnwindInfo.CopyTo(new Span<byte>(block + unwindOffset, frame.UnwindInfo.Length));
        var function = (uint*)(block + functionOffset);
        function[0] = (uint)frame.Begin;
        function[1] = (uint)frame.End;
        function[2] = (uint)unwindOffset;
        if (!NativeMethods.RtlAddFunctionTable(function, 1, (ulong)block))
        {
            throw new InvalidOperationException("RtlAddFunctionTable refused a thunk's unwind data");
        }
        NativeMethods.VirtualProtect(block, PageSize, NativeMethods.PageExecuteRead, out _);
        return (IntPtr)block;
    }

    private static int AlignUp(int value, int alignment) => (value + alignment - 1) / alignment * alignment;
}
