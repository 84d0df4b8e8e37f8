using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// TorchSharp's bridge exports used on a tensor's autograd fields without creating managed wrappers.
/// Each reports a libtorch error through <see cref="Ensure.NoPendingError"/>.
/// </summary>
internal static partial class NativeMethods
{

    /// <summary>A new owning <c>at::Tensor*</c> to <c>tensor.grad()</c>, or null when the gradient is undefined.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_grad")]
    internal static partial IntPtr THSTensor_grad(IntPtr tensor);

    /// <summary>Sets <c>tensor.grad()</c>; <see cref="IntPtr.Zero"/> resets it to undefined (Python's None).</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_set_grad")]
    internal static partial void THSTensor_set_grad(IntPtr tensor, IntPtr grad);

    /// <summary><c>tensor.fill_(value)</c>.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_fill_")]
    internal static partial void THSTensor_fill_(IntPtr tensor, IntPtr scalar);


    /// <summary>A new heap <c>at::Scalar</c>.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTorch_int32_to_scalar")]
    internal static partial IntPtr THSTorch_int32_to_scalar(int value);

    /// <summary>
    /// <c>tensor.ndimension()</c>. Without a GC transition: a field read that cannot fail for a live handle (the
    /// bridge's try/catch never runs), so <see cref="TensorShape"/> costs nanoseconds.
    /// </summary>
    [SuppressGCTransition]
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_ndimension")]
    internal static partial long THSTensor_ndimension(IntPtr tensor);

    /// <summary><c>tensor.size(dim)</c> for <c>0 ≤ dim &lt; ndimension</c>; as <see cref="THSTensor_ndimension"/>, no GC transition.</summary>
    [SuppressGCTransition]
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_size")]
    internal static partial long THSTensor_size(IntPtr tensor, long dim);

    /// <summary><c>tensor.is_leaf()</c>.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_is_leaf")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool THSTensor_is_leaf(IntPtr tensor);
}
