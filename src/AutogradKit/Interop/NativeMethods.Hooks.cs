using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// libtorch's C++ tensor-hook API (<c>at::TensorBase::_register_hook</c>; <c>remove_hook</c> is deliberately not bound, see <see cref="NativeHooks"/>), which TorchSharp
/// does not expose, called through its mangled exports (<see cref="CxxExports"/>: Itanium on Linux x64, MSVC on Windows
/// x64). Every function here is non-throwing for the arguments AutogradKit passes (its callers check the preconditions
/// libtorch would <c>TORCH_CHECK</c>), because a C++ exception crossing into managed frames ends the process.
/// </summary>
internal static unsafe partial class NativeMethods
{
    private const string HookFeature = "Tensor hooks";
    private const string HookReason = "they call libtorch's C++ API directly";

    /// <summary>
    /// <c>unsigned at::TensorBase::_register_hook(std::function&lt;at::TensorBase(const at::TensorBase&amp;)&gt;) const</c>.
    /// <paramref name="self"/> is an <c>at::Tensor*</c>; <paramref name="hook"/> is the address of a caller-made
    /// <c>std::function</c> passed by value (who destroys it afterwards is the ABI's rule, see
    /// <see cref="StdFunctionHooks.AfterCall"/>). Returns the hook's index in the tensor's C++ hook list.
    /// </summary>
    internal static uint TensorBase_register_hook(IntPtr self, StdFunction* hook) =>
        ((delegate* unmanaged<IntPtr, StdFunction*, uint>)CxxExports.TensorRegisterHook.Address(HookFeature, HookReason))(self, hook);

    /// <summary>TorchSharp's <c>tensor->unsqueeze(dim)</c> as a new owning handle; null (with TorchSharp's last error set) on failure.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_unsqueeze")]
    internal static partial IntPtr THSTensor_unsqueeze(IntPtr tensor, long dim);

    /// <summary>
    /// <c>torch::autograd::AutogradMeta* torch::autograd::impl::get_autograd_meta(const at::TensorBase&amp;)</c>: the
    /// tensor's autograd metadata, null when it has none. Reads a field; never throws.
    /// </summary>
    internal static IntPtr Autograd_get_autograd_meta(IntPtr tensor) =>
        ((delegate* unmanaged<IntPtr, IntPtr>)CxxExports.AutogradMetaOf.Address(HookFeature, HookReason))(tensor);

    /// <summary>The <c>TensorImpl*</c> of every undefined tensor (<see cref="CxxExports.UndefinedTensorImpl"/>).</summary>
    internal static IntPtr UndefinedTensorImpl()
    {
        IntPtr export = CxxExports.UndefinedTensorImpl.Address(HookFeature, HookReason);
        return CxxExports.IsMsvc ? ((delegate* unmanaged<IntPtr>)export)() : export;
    }

}
