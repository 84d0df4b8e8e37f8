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
    [LibraryImport("torch_cpu", EntryPoint = "_ZNK2at10TensorBase7grad_fnEv")]
    internal static partial IntPtr TensorBase_grad_fn(IntPtr tensor);

    /// <summary>
    /// The base <c>std::string torch::autograd::Node::name() const</c> (the demangled C++ type name). The
    /// string comes back through the hidden first (sret) argument: a 32-byte buffer the caller owns.
    /// </summary>
    [LibraryImport("torch_cpu", EntryPoint = "_ZNK5torch8autograd4Node4nameB5cxx11Ev")]
    internal static partial void Node_name(IntPtr result, IntPtr node);

    /// <summary>libstdc++'s <c>operator delete(void*)</c>, which frees a <c>std::string</c>'s heap buffer.</summary>
    [LibraryImport("libstdc++.so.6", EntryPoint = "_ZdlPv")]
    internal static partial void OperatorDelete(IntPtr pointer);

    /// <summary>A new owning <c>at::Tensor*</c> (<c>new torch::Tensor(*tensor)</c>) to the same TensorImpl.</summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_alias")]
    internal static partial IntPtr THSTensor_alias(IntPtr tensor);

    // THSTorch_get_and_reset_last_err is declared once, in NativeMethods.Tensors.cs (merge of the parallel branches).

    /// <summary>The mangled name of <c>_Sp_counted_ptr_inplace&lt;AccumulateGrad, …&gt;::_M_dispose</c>, to check the vtable slots.</summary>
    internal const string AccumulateGradInplaceDispose =
        "_ZNSt23_Sp_counted_ptr_inplaceIN5torch8autograd14AccumulateGradESaIS2_ELN9__gnu_cxx12_Lock_policyE2EE10_M_disposeEv";

    /// <summary>The mangled name of <c>_Sp_counted_ptr_inplace&lt;AccumulateGrad, …&gt;::_M_destroy</c>.</summary>
    internal const string AccumulateGradInplaceDestroy =
        "_ZNSt23_Sp_counted_ptr_inplaceIN5torch8autograd14AccumulateGradESaIS2_ELN9__gnu_cxx12_Lock_policyE2EE10_M_destroyEv";
}
