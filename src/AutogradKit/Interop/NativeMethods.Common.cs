using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// Natives that several features share: TorchSharp's handle primitives and error slot, and libstdc++'s
/// <c>operator delete</c>.
/// </summary>
internal static partial class NativeMethods
{
    /// <summary>
    /// TorchSharp's <c>new torch::Tensor(*t)</c>: a new owning <c>at::Tensor*</c> to the same TensorImpl; null for an
    /// undefined tensor. <paramref name="tensor"/> may be any <c>at::Tensor</c> in native memory, not only a TorchSharp handle.
    /// </summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_alias")]
    internal static partial IntPtr THSTensor_alias(IntPtr tensor);

    /// <summary>TorchSharp's <c>delete tensor</c>: releases one owning handle.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_dispose")]
    internal static partial void THSTensor_dispose(IntPtr tensor);

    /// <summary>TorchSharp's pending native error text (cleared by reading it), or null when there is none.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTorch_get_and_reset_last_err")]
    internal static partial IntPtr THSTorch_get_and_reset_last_err();

    /// <summary>
    /// libstdc++'s <c>operator delete(void*)</c>: frees a <c>new</c>ed block without running a destructor (a
    /// <c>std::string</c>'s heap buffer, or the 8-byte shell of an <c>at::Tensor*</c> whose reference was moved out).
    /// </summary>
    /// <remarks>Through <see cref="CxxExports.OperatorDelete"/>: the UCRT's <c>free</c> on Windows.</remarks>
    internal static unsafe void OperatorDelete(IntPtr block) =>
        ((delegate* unmanaged<IntPtr, void>)CxxExports.OperatorDelete.Address(AllocatorFeature, AllocatorReason))(block);

    /// <summary>
    /// libstdc++'s <c>operator new(size_t)</c>: memory libtorch may free with <c>operator delete</c> (a string's or a
    /// vector's buffer, an object a <c>unique_ptr</c> deletes); through <see cref="CxxExports.OperatorNew"/>, the UCRT's
    /// <c>malloc</c> on Windows (sizes below 4 KiB only).
    /// </summary>
    internal static unsafe IntPtr OperatorNew(nuint size) =>
        ((delegate* unmanaged<nuint, IntPtr>)CxxExports.OperatorNew.Address(AllocatorFeature, AllocatorReason))(size);

    /// <summary>
    /// The end of MSVC's scalar deleting destructor of one of our objects, once it is destroyed: frees it with
    /// <see cref="OperatorDelete"/> when <paramref name="flags"/> asks (<see cref="AbiFacts.Msvc.DeletingDestructorFreeFlag"/>),
    /// and returns <paramref name="self"/> as the ABI's destructor does.
    /// </summary>
    internal static IntPtr FreeIfDeleting(IntPtr self, uint flags)
    {
        if ((flags & AbiFacts.Msvc.DeletingDestructorFreeFlag) != 0)
        {
            OperatorDelete(self);
        }
        return self;
    }

    private const string AllocatorFeature = "Handing memory to libtorch";

    private const string AllocatorReason = "it must come from the allocator libtorch frees with";

    /// <summary>
    /// Takes this thread's pending bridge error text, if any, and frees it: the bridge <c>strdup()</c>s the text and
    /// hands it over, and TorchSharp itself never frees it.
    /// </summary>
    internal static string? TakeNativeError()
    {
        IntPtr error = THSTorch_get_and_reset_last_err();
        if (error == IntPtr.Zero)
        {
            return null;
        }
        string text = Marshal.PtrToStringUTF8(error) ?? string.Empty;
        unsafe
        {
            NativeMemory.Free((void*)error);
        }
        return text;
    }

    /// <summary>
    /// <c>new std::shared_ptr&lt;torch::jit::CompilationUnit&gt;(torch::jit::compile(script))</c>; null on an
    /// error, left for <see cref="TakeNativeError"/>. TorchSharp's CATCH takes <c>c10::Error</c> and
    /// <c>std::runtime_error</c> only, so only a script proven to compile may be passed.
    /// </summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSJIT_compile")]
    internal static unsafe partial IntPtr THSJIT_compile(byte* script);

    /// <summary>
    /// <c>(*unit)-&gt;find_function(method)(args)</c> inside TorchSharp's CATCH (THSJIT.cpp): <paramref name="args"/>
    /// become IValues by <c>toIValue</c>, the result is handed out through <c>ReturnHelper</c>, which asks
    /// <paramref name="allocator"/> for each array it fills, and the kind of result goes to <paramref name="typeCode"/>.
    /// The interpreter rethrows every error of the function as <c>std::runtime_error</c> (its text wrapped in a
    /// TorchScript traceback) or <c>c10::Error</c>, both of which CATCH leaves for <see cref="TakeNativeError"/>.
    /// </summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSJIT_CompilationUnit_Invoke")]
    internal static unsafe partial void THSJIT_CompilationUnit_Invoke(
        IntPtr unit,
        byte* method,
        TorchScriptValue* args,
        int length,
        delegate* unmanaged[Cdecl]<int, nuint, TorchScriptValue*> allocator,
        sbyte* typeCode,
        int index);
}
