using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// libtorch's C++ exports that read the autograd graph. These are mangled Itanium-ABI names of libtorch 2.10
/// built with libstdc++ on Linux x64; <see cref="NodeLayout"/> checks them once against a known graph before
/// any other use.
/// </summary>
internal static partial class NativeMethods
{
    /// <summary>
    /// <c>const std::shared_ptr&lt;Node&gt;&amp; at::TensorBase::grad_fn() const</c>: the address of the tensor's
    /// <c>shared_ptr</c> to its node ({Node*, control block*}), both null for a leaf.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNK2at10TensorBase7grad_fnEv")]
    internal static partial IntPtr TensorBase_grad_fn(IntPtr tensor);

    /// <summary>
    /// <c>bool at::TensorBase::is_view() const</c>: whether the tensor is a differentiable (backward) view. Cannot
    /// throw for a defined tensor (<c>VariableHooks::is_view</c> only reads the autograd meta).
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNK2at10TensorBase7is_viewEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool TensorBase_is_view(IntPtr tensor);

    /// <summary>
    /// TorchSharp's <c>tensor.unsqueeze(dim)</c>, which catches C++ exceptions (null and a pending error then); used
    /// by <see cref="NativeGraph.CheckGradFnReadable(TorchSharp.torch.Tensor)"/> as a probe that runs an autograd kernel on the tensor.
    /// </summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_unsqueeze")]
    internal static partial IntPtr THSTensor_unsqueeze_ForGradFnProbe(IntPtr tensor, long dim);

    /// <summary>
    /// The base <c>std::string torch::autograd::Node::name() const</c> (the demangled C++ type name). The
    /// string comes back through the hidden first (sret) argument: a 32-byte buffer the caller owns.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNK5torch8autograd4Node4nameB5cxx11Ev")]
    internal static partial void Node_name(IntPtr result, IntPtr node);

    /// <summary>The mangled name of <c>_Sp_counted_ptr_inplace&lt;AccumulateGrad, …&gt;::_M_dispose</c>, to check the vtable slots.</summary>
    internal const string AccumulateGradInplaceDispose =
        "_ZNSt23_Sp_counted_ptr_inplaceIN5torch8autograd14AccumulateGradESaIS2_ELN9__gnu_cxx12_Lock_policyE2EE10_M_disposeEv";

    /// <summary>The mangled name of <c>_Sp_counted_ptr_inplace&lt;AccumulateGrad, …&gt;::_M_destroy</c>.</summary>
    internal const string AccumulateGradInplaceDestroy =
        "_ZNSt23_Sp_counted_ptr_inplaceIN5torch8autograd14AccumulateGradESaIS2_ELN9__gnu_cxx12_Lock_policyE2EE10_M_destroyEv";
}
