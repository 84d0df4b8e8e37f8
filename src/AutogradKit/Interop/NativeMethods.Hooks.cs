using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// libtorch's C++ tensor-hook API (<c>at::TensorBase::_register_hook</c>; <c>remove_hook</c> is deliberately not bound, see <see cref="NativeHooks"/>), which TorchSharp
/// does not expose, called through its Itanium-mangled exports. Every function here is non-throwing for the
/// arguments AutogradKit passes (its callers check the preconditions libtorch would <c>TORCH_CHECK</c>), because a
/// C++ exception crossing into managed frames ends the process.
/// </summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>
    /// <c>unsigned at::TensorBase::_register_hook(std::function&lt;at::TensorBase(const at::TensorBase&amp;)&gt;) const</c>.
    /// <paramref name="self"/> is an <c>at::Tensor*</c>; <paramref name="hook"/> is the address of a caller-owned
    /// 32-byte libstdc++ <c>std::function</c> passed by value (Itanium ABI: the caller destroys it after the call).
    /// Returns the hook's index in the tensor's C++ hook list.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNK2at10TensorBase14_register_hookESt8functionIFS0_RKS0_EE")]
    internal static partial uint TensorBase_register_hook(IntPtr self, StdFunction* hook);

    /// <summary>TorchSharp's <c>tensor->unsqueeze(dim)</c> as a new owning handle; null (with TorchSharp's last error set) on failure.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_unsqueeze")]
    internal static partial IntPtr THSTensor_unsqueeze(IntPtr tensor, long dim);

    /// <summary>
    /// <c>torch::autograd::AutogradMeta* torch::autograd::impl::get_autograd_meta(const at::TensorBase&amp;)</c>: the
    /// tensor's autograd metadata, null when it has none. Reads a field; never throws.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN5torch8autograd4impl17get_autograd_metaERKN2at10TensorBaseE")]
    internal static partial IntPtr Autograd_get_autograd_meta(IntPtr tensor);
}
