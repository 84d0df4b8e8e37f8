using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// Makes libtorch's error paths behave under Wine as under Windows (the win-x64 build is tested there, see
/// .ci/windows-check). libtorch's MSVC build takes its C++ runtime from vcruntime140_1/msvcp140, which are Wine's
/// there, while TorchSharp's LibTorchSharp.dll links Microsoft's statically and catches every libtorch error. Two Wine
/// 8.0 behaviours differ from Microsoft's, each traced with <c>WINEDEBUG=+seh</c> (docs/interop.md):
/// <list type="number">
/// <item><b>Destructors skipped.</b> When Microsoft's handler in LibTorchSharp catches, it unwinds with its own
/// <c>STATUS_UNWIND_CONSOLIDATE</c> record. Wine's <c>__CxxFrameHandler4</c> treats a consolidate record that is not
/// its own as a foreign (SEH) exception and, for the <c>/EHsc</c> functions libtorch is built from, unwinds nothing: every
/// guard between the throw and TorchSharp's catch kept its effect (dispatch keys excluded, grad mode off, functorch
/// layers not restored, a <c>std::mutex</c> left locked so the next lock aborts in Wine's msvcp140). torch_cpu.dll's and
/// c10.dll's imports of <c>__CxxFrameHandler4</c> go through a thunk that, for such an unwind only, hands Wine's handler
/// a copy of the record marked as a C++ exception, so it runs the frame's destructors.</item>
/// <item><b>Rethrown objects freed early.</b> Microsoft's <c>__ExceptionPtrRethrow</c> raises a copy of the held
/// exception (STL excptptr.cpp); Wine's raises the <c>exception_ptr</c>'s own object, which the catch then destroys
/// while the pointer still owns it, and which a pointer released during the unwind frees before the catch reads it
/// (heap corruption that ended about one Wine test run in three). torch_cpu.dll's import of it goes through a thunk
/// that raises a copy made with the thrown type's own copy constructor, as Microsoft's does.</item>
/// </list>
/// </summary>
/// <remarks>
/// Under Wine only (ntdll exports <c>wine_get_version</c>); nothing is touched on Windows or elsewhere. The thunks are
/// a few bytes of x64 code with their unwind data registered (<c>RtlAddFunctionTable</c>), so nothing managed is ever
/// unwound through: the rethrow thunk asks <see cref="PrepareRethrow"/> for the copy and tail-jumps into
/// <c>RaiseException</c>. A copy's memory is not reclaimed (the catch that ends it only destroys it in place): a few
/// hundred bytes per rethrown libtorch error, under Wine only. Installed once, before any libtorch error; thread-safe.
/// </remarks>
internal static unsafe class WineCxxRuntimeRepair
{
    private const string CxxRuntime = "VCRUNTIME140_1.dll";
    private const string FrameHandler = "__CxxFrameHandler4";
    private const string StlRuntime = "MSVCP140.dll";
    private const string Rethrow = "?__ExceptionPtrRethrow@@YAXPEBX@Z";

    private static int s_state;

    /// <summary>This thread's block handed to the rethrow thunk: code and flags, parameter count, then the parameters.</summary>
    [ThreadStatic]
    private static ulong* s_raise;

    /// <summary>Import slots rebound by <see cref="Install"/>, e.g. "torch_cpu!__CxxFrameHandler4"; empty off Wine.</summary>
    internal static IReadOnlyList<string> Rebound { get; private set; } = [];

    /// <summary>Rebinds libtorch's imports once, under Wine; call after libtorch is loaded. Never throws.</summary>
    internal static void Install()
    {
        if (!WineHost.IsRunning || Interlocked.CompareExchange(ref s_state, 1, 0) != 0)
        {
            return;
        }
        var rebound = new List<string>();
        try
        {
            foreach (string module in new[] { Libraries.C10, Libraries.TorchCpu })
            {
                if (!NativeLibrary.TryLoad(module + ".dll", out IntPtr image))
                {
                    continue;
                }
                if (Rebind(image, CxxRuntime, FrameHandler, original => ExecutableThunk.Create(FrameHandlerThunk.Code, [original], FrameHandlerThunk.Frame)))
                {
                    rebound.Add($"{module}!{FrameHandler}");
                }
                if (module == Libraries.TorchCpu && Rebind(image, StlRuntime, Rethrow, original => ExecutableThunk.Create(RethrowThunk.Code,
                        [(IntPtr)(delegate* unmanaged<ulong*, ulong*>)&PrepareRethrow, RaiseException.Value, original], RethrowThunk.Frame)))
                {
                    rebound.Add($"{module}!__ExceptionPtrRethrow");
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Left as Wine has it: libtorch still loads, and its errors stay as fragile as Wine makes them.
        }
        Rebound = rebound;
    }

    private static readonly Lazy<IntPtr> RaiseException = new(() => NativeLibrary.GetExport(NativeLibrary.Load(Libraries.Kernel32), "RaiseException"));

    private static bool Rebind(IntPtr image, string library, string function, Func<IntPtr, IntPtr> thunkFor)
    {
        ulong* slot = PortableExecutable.FindImportSlot(image, library, function);
        if (slot is null)
        {
            return false;
        }
        PortableExecutable.WriteImportSlot(slot, thunkFor((IntPtr)(*slot)));
        return true;
    }

    /// <summary>
    /// Called by the rethrow thunk with the <c>exception_ptr</c> (Wine's layout: the saved <c>EXCEPTION_RECORD*</c>, then
    /// the reference count): this thread's raise block for a copy of the C++ object, or null to let Wine's function
    /// raise (no exception: <c>bad_exception</c>; not a C++ exception; a throw info this does not understand).
    /// </summary>
    [UnmanagedCallersOnly]
    private static ulong* PrepareRethrow(ulong* exceptionPtr)
    {
        try
        {
            return (ulong*)RaiseBlockFor((IntPtr)exceptionPtr);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null; // never unwind into libtorch; Wine's own rethrow still raises the error
        }
    }

    /// <summary>
    /// <see cref="PrepareRethrow"/>'s work: for the <c>exception_ptr</c> at <paramref name="exceptionPtr"/>, this thread's
    /// raise block (code | flags &lt;&lt; 32, parameter count, then the parameters with a copy of the object), or zero.
    /// </summary>
    internal static IntPtr RaiseBlockFor(IntPtr exceptionPtr)
    {
        var record = (byte*)((ulong*)exceptionPtr)[0];
        if (record is null || *(uint*)record != AbiFacts.Msvc.CxxException.Code)
        {
            return IntPtr.Zero;
        }
        uint count = *(uint*)(record + AbiFacts.Msvc.CxxException.ParameterCountOffset);
        var parameters = (ulong*)(record + AbiFacts.Msvc.CxxException.ParametersOffset);
        if (count != AbiFacts.Msvc.CxxException.ParameterCount || parameters[0] != AbiFacts.Msvc.CxxException.Magic)
        {
            return IntPtr.Zero;
        }
        void* copy = CopyObject((void*)parameters[1], (byte*)parameters[2], (byte*)parameters[3]);
        if (copy is null)
        {
            return IntPtr.Zero;
        }
        ulong* block = s_raise;
        if (block is null)
        {
            block = (ulong*)NativeMemory.Alloc((nuint)(2 + AbiFacts.Msvc.CxxException.ParameterCount) * sizeof(ulong));
            s_raise = block;
        }
        uint flags = *(uint*)(record + AbiFacts.Msvc.CxxException.FlagsOffset) & ~AbiFacts.Msvc.CxxException.UnwindingFlags;
        block[0] = AbiFacts.Msvc.CxxException.Code | ((ulong)flags << 32);
        block[1] = count;
        block[2] = parameters[0];
        block[3] = (ulong)copy;
        block[4] = parameters[2];
        block[5] = parameters[3];
        return (IntPtr)block;
    }

    /// <summary>A heap copy of the thrown object, made as its throw info says (<c>memcpy</c> or its copy constructor).</summary>
    private static void* CopyObject(void* thrown, byte* throwInfo, byte* imageBase)
    {
        if (thrown is null || throwInfo is null || imageBase is null)
        {
            return null;
        }
        byte* types = imageBase + *(int*)(throwInfo + AbiFacts.Msvc.CxxException.CatchableTypesOffset);
        if (*(int*)types < 1)
        {
            return null;
        }
        // The first catchable type is the thrown type itself.
        byte* type = imageBase + *(int*)(types + sizeof(int));
        uint properties = *(uint*)type;
        int size = *(int*)(type + AbiFacts.Msvc.CxxException.TypeSizeOffset);
        int copyConstructor = *(int*)(type + AbiFacts.Msvc.CxxException.TypeCopyConstructorOffset);
        if (size <= 0)
        {
            return null;
        }
        void* copy = NativeMemory.AlignedAlloc((nuint)size, 16);
        if ((properties & AbiFacts.Msvc.CxxException.SimpleType) != 0 || copyConstructor == 0)
        {
            Buffer.MemoryCopy(thrown, copy, size, size);
        }
        else if ((properties & AbiFacts.Msvc.CxxException.HasVirtualBase) != 0)
        {
            ((delegate* unmanaged<void*, void*, int, void*>)(imageBase + copyConstructor))(copy, thrown, 1);
        }
        else
        {
            ((delegate* unmanaged<void*, void*, void*>)(imageBase + copyConstructor))(copy, thrown);
        }
        return copy;
    }

    /// <summary>
    /// <c>__CxxFrameHandler4(rec, frame, context, dispatch)</c> in front of Wine's: an unwind (not the target frame's)
    /// with a consolidate record gets a stack copy of the record whose code is the C++ exception's; everything else
    /// goes to Wine's handler untouched (a tail jump).
    /// </summary>
    private static class FrameHandlerThunk
    {
        // mov eax, [rcx+4] / test al, 6 (unwinding) / jz pass / test al, 20h (target) / jnz pass /
        // cmp dword [rcx], 80000029h (STATUS_UNWIND_CONSOLIDATE) / jne pass /
        // sub rsp, 0C8h / xor eax, eax / copy: mov r10, [rcx+rax*8] / mov [rsp+rax*8+20h], r10 / inc eax / cmp eax, 19 /
        // jb copy / mov dword [rsp+20h], 0E06D7363h / lea rcx, [rsp+20h] / call [original] / add rsp, 0C8h / ret /
        // pass: jmp [original]; the target at 50h.
        internal static ReadOnlySpan<byte> Code =>
        [
            0x8B, 0x41, 0x04,
            0xA8, 0x06,
            0x74, 0x40,
            0xA8, 0x20,
            0x75, 0x3C,
            0x81, 0x39, 0x29, 0x00, 0x00, 0x80,
            0x75, 0x34,
            0x48, 0x81, 0xEC, 0xC8, 0x00, 0x00, 0x00,
            0x31, 0xC0,
            0x4C, 0x8B, 0x14, 0xC1,
            0x4C, 0x89, 0x54, 0xC4, 0x20,
            0xFF, 0xC0,
            0x83, 0xF8, 0x13,
            0x72, 0xF0,
            0xC7, 0x44, 0x24, 0x20, 0x63, 0x73, 0x6D, 0xE0,
            0x48, 0x8D, 0x4C, 0x24, 0x20,
            0xFF, 0x15, 0x11, 0x00, 0x00, 0x00,
            0x48, 0x81, 0xC4, 0xC8, 0x00, 0x00, 0x00,
            0xC3,
            0xFF, 0x25, 0x03, 0x00, 0x00, 0x00,
        ];

        // The copy's frame, from "sub rsp, 0C8h" to "ret": UWOP_ALLOC_LARGE of 25 * 8 bytes after a 7-byte prolog.
        internal static ExecutableThunk.FrameRegion Frame => new(0x13, 0x47, [0x01, 0x07, 0x02, 0x00, 0x07, 0x01, 0x19, 0x00]);
    }

    /// <summary>
    /// <c>__ExceptionPtrRethrow(const exception_ptr*)</c> in front of Wine's: asks <see cref="PrepareRethrow"/> for a
    /// raise block and tail-jumps into <c>RaiseException(code, flags, count, parameters)</c>, so the exception is raised
    /// as if from torch_cpu's call site; without a block, tail-jumps into Wine's function.
    /// </summary>
    private static class RethrowThunk
    {
        // mov [rsp+8], rcx / sub rsp, 28h / call [prepare] / add rsp, 28h / test rax, rax / jz fallback /
        // mov ecx, [rax] / mov edx, [rax+4] / mov r8d, [rax+8] / lea r9, [rax+10h] / jmp [RaiseException] /
        // fallback: mov rcx, [rsp+8] / jmp [original]; the targets at 38h, 40h and 48h.
        internal static ReadOnlySpan<byte> Code =>
        [
            0x48, 0x89, 0x4C, 0x24, 0x08,
            0x48, 0x83, 0xEC, 0x28,
            0xFF, 0x15, 0x29, 0x00, 0x00, 0x00,
            0x48, 0x83, 0xC4, 0x28,
            0x48, 0x85, 0xC0,
            0x74, 0x13,
            0x8B, 0x08,
            0x8B, 0x50, 0x04,
            0x44, 0x8B, 0x40, 0x08,
            0x4C, 0x8D, 0x48, 0x10,
            0xFF, 0x25, 0x15, 0x00, 0x00, 0x00,
            0x48, 0x8B, 0x4C, 0x24, 0x08,
            0xFF, 0x25, 0x12, 0x00, 0x00, 0x00,
        ];

        // The call's frame, from the start to "add rsp, 28h" (a leaf after it): UWOP_ALLOC_SMALL of 28h after a 9-byte prolog.
        internal static ExecutableThunk.FrameRegion Frame => new(0x00, 0x13, [0x01, 0x09, 0x01, 0x00, 0x09, 0x42, 0x00, 0x00]);
    }
}
