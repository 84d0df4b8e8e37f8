using System.Runtime.InteropServices;
using TorchSharp;

namespace AutogradKit;

internal static partial class NativeMethods
{
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static partial IntPtr THSTensor_data_ForRepr(IntPtr tensor);

    [LibraryImport("LibTorchSharp", EntryPoint = "THSTorch_get_and_reset_last_err")]
    private static partial IntPtr THSTorch_get_and_reset_last_err_ForRepr();

    /// <summary>
    /// <c>tensor.data_ptr()</c>: the address of the tensor's first element (storage offset included), which TorchSharp
    /// does not expose. Valid while <paramref name="tensor"/> lives; CPU tensors only.
    /// </summary>
    internal static IntPtr DataPointer(torch.Tensor tensor)
    {
        IntPtr data = THSTensor_data_ForRepr(tensor.Handle);
        GC.KeepAlive(tensor);
        if (data == IntPtr.Zero)
        {
            IntPtr error = THSTorch_get_and_reset_last_err_ForRepr();
            if (error != IntPtr.Zero)
            {
                throw Ensure.FromNativeText(Marshal.PtrToStringUTF8(error) ?? "data_ptr failed");
            }
        }
        return data;
    }
}
