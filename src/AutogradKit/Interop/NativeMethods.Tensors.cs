using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// TorchSharp's bridge exports used on a tensor's autograd fields without creating managed wrappers.
/// Each reports a libtorch error through <see cref="THSTorch_get_and_reset_last_err"/>.
/// </summary>
internal static partial class NativeMethods
{
    /// <summary>The error text of this thread's last failed bridge call, and clears it; null when none.</summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTorch_get_and_reset_last_err")]
    internal static partial IntPtr THSTorch_get_and_reset_last_err();

    /// <summary>A new owning <c>at::Tensor*</c> to <c>tensor.grad()</c>, or null when the gradient is undefined.</summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_grad")]
    internal static partial IntPtr THSTensor_grad(IntPtr tensor);

    /// <summary>Sets <c>tensor.grad()</c>; <see cref="IntPtr.Zero"/> resets it to undefined (Python's None).</summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_set_grad")]
    internal static partial void THSTensor_set_grad(IntPtr tensor, IntPtr grad);

    /// <summary><c>tensor.fill_(value)</c>.</summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_fill_")]
    internal static partial void THSTensor_fill_(IntPtr tensor, IntPtr scalar);

    /// <summary>Frees a tensor handle (not the TensorImpl while other handles share it).</summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_dispose")]
    internal static partial void THSTensor_dispose(IntPtr tensor);

    /// <summary>A new heap <c>at::Scalar</c>.</summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTorch_int32_to_scalar")]
    internal static partial IntPtr THSTorch_int32_to_scalar(int value);

    /// <summary><c>tensor.is_leaf()</c>.</summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_is_leaf")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool THSTensor_is_leaf(IntPtr tensor);

    /// <summary>
    /// Throws the typed <see cref="AutogradException"/> for this thread's pending bridge error, if any.
    /// </summary>
    internal static void ThrowIfNativeError()
    {
        IntPtr error = THSTorch_get_and_reset_last_err();
        if (error != IntPtr.Zero)
        {
            string text = Marshal.PtrToStringUTF8(error) ?? string.Empty;
            // The bridge strdup()s the text and hands it over; TorchSharp never frees it.
            unsafe
            {
                NativeMemory.Free((void*)error);
            }
            throw NativeErrors.FromNativeText(text);
        }
    }
}
