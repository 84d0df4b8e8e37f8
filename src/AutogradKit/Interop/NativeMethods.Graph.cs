using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// libtorch's C++ exports that read the autograd graph, called through <see cref="CxxExports"/> by this platform's
/// name for them (Linux x64's Itanium ABI or Windows x64's MSVC ABI; anywhere else they are refused before any call);
/// <see cref="NodeLayout"/> checks them once against a known graph before any other use.
/// </summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>
    /// <c>const std::shared_ptr&lt;Node&gt;&amp; at::TensorBase::grad_fn() const</c>: the address of the tensor's
    /// <c>shared_ptr</c> to its node ({Node*, control block*}), both null for a leaf.
    /// </summary>
    internal static IntPtr TensorBase_grad_fn(IntPtr tensor) =>
        ((delegate* unmanaged<IntPtr, IntPtr>)CxxExports.TensorGradFn.Address(GraphFeature, GraphReason))(tensor);

    /// <summary>
    /// <c>bool at::TensorBase::is_view() const</c>: whether the tensor is a differentiable (backward) view. Cannot
    /// throw for a defined tensor (<c>VariableHooks::is_view</c> only reads the autograd meta).
    /// </summary>
    internal static bool TensorBase_is_view(IntPtr tensor) =>
        ((delegate* unmanaged<IntPtr, byte>)CxxExports.TensorIsView.Address(GraphFeature, GraphReason))(tensor) != 0;

    /// <summary>
    /// TorchSharp's <c>tensor.unsqueeze(dim)</c>, which catches C++ exceptions (null and a pending error then); used
    /// by <see cref="NativeGraph.CheckGradFnReadable(TorchSharp.torch.Tensor)"/> as a probe that runs an autograd kernel on the tensor.
    /// </summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_unsqueeze")]
    internal static partial IntPtr THSTensor_unsqueeze_ForGradFnProbe(IntPtr tensor, long dim);

    /// <summary>
    /// The base <c>std::string torch::autograd::Node::name() const</c> (the demangled C++ type name). The
    /// string comes back through the hidden return pointer: a <see cref="AbiFacts.StdString.Size"/>-byte buffer the
    /// caller owns (<see cref="AbiFacts.Msvc.StdString.Size"/> on Windows). Itanium passes it first, before
    /// <c>this</c>; MSVC passes <c>this</c> first (RCX) and the buffer second (RDX).
    /// </summary>
    internal static void Node_name(IntPtr result, IntPtr node)
    {
        IntPtr function = CxxExports.NodeName.Address(GraphFeature, GraphReason);
        if (CxxExports.IsMsvc)
        {
            ((delegate* unmanaged<IntPtr, IntPtr, IntPtr>)function)(node, result);
        }
        else
        {
            ((delegate* unmanaged<IntPtr, IntPtr, void>)function)(result, node);
        }
    }

    /// <summary>
    /// <c>const edge_list&amp; Node::next_edges() const</c>: the address of the node's <c>next_edges_</c> (Windows only,
    /// for <see cref="NodeLayout"/>'s check of its offset).
    /// </summary>
    internal static IntPtr Node_next_edges(IntPtr node) =>
        ((delegate* unmanaged<IntPtr, IntPtr>)CxxExports.NodeNextEdges.Address(GraphFeature, GraphReason))(node);

    private const string GraphFeature = "GradFn";

    private const string GraphReason = "it reads libtorch's C++ autograd graph";

    /// <summary>The mangled name of <c>_Sp_counted_ptr_inplace&lt;AccumulateGrad, …&gt;::_M_dispose</c>, to check the vtable slots.</summary>
    internal const string AccumulateGradInplaceDispose =
        "_ZNSt23_Sp_counted_ptr_inplaceIN5torch8autograd14AccumulateGradESaIS2_ELN9__gnu_cxx12_Lock_policyE2EE10_M_disposeEv";

    /// <summary>The mangled name of <c>_Sp_counted_ptr_inplace&lt;AccumulateGrad, …&gt;::_M_destroy</c>.</summary>
    internal const string AccumulateGradInplaceDestroy =
        "_ZNSt23_Sp_counted_ptr_inplaceIN5torch8autograd14AccumulateGradESaIS2_ELN9__gnu_cxx12_Lock_policyE2EE10_M_destroyEv";
}
