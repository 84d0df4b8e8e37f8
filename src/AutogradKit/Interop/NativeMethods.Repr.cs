using System.Runtime.InteropServices;
using TorchSharp;

namespace AutogradKit;

internal static partial class NativeMethods
{
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_data")]
    private static partial IntPtr THSTensor_data_ForRepr(IntPtr tensor);

    /// <summary>
    /// <c>tensor.data_ptr()</c>: the address of the tensor's first element (storage offset included), which TorchSharp
    /// does not expose. Valid while <paramref name="tensor"/> lives; CPU tensors only. Used by <see cref="NativeTensorData"/>.
    /// </summary>
    internal static IntPtr DataPointer(torch.Tensor tensor)
    {
        IntPtr data = THSTensor_data_ForRepr(tensor.Handle);
        GC.KeepAlive(tensor);
        if (data == IntPtr.Zero)
        {
            Ensure.NoPendingError();
        }
        return data;
    }
}
