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
    [LibraryImport(Libraries.CxxRuntime, EntryPoint = "_ZdlPv")]
    internal static partial void OperatorDelete(IntPtr block);

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
}
