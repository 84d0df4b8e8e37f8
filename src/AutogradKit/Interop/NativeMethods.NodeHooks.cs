using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// libtorch's C++ exports behind node hooks and post-accumulate-grad hooks (libtorch 2.10; the Linux-only ones
/// Itanium-mangled, the others resolved per ABI through <see cref="CxxExports"/>). None of them catches: each is called
/// only with arguments for which it cannot throw (see <see cref="NativeNodeHooks"/>).
/// </summary>
internal static unsafe partial class NativeMethods
{
    private const string NodeHooksFeature = "Node hooks";

    private const string NodeHooksReason = "they call libtorch's C++ API directly";

    /// <summary>
    /// <c>std::vector&lt;std::unique_ptr&lt;FunctionPreHook&gt;&gt;::_M_realloc_insert(iterator, std::unique_ptr&amp;&amp;)</c>,
    /// the out-of-line half of <c>emplace_back</c> (libtorch's own <c>Node::add_pre_hook</c> is inline on Linux): grows
    /// the vector with libstdc++'s allocator and moves the pointer at <paramref name="hook"/> in (leaving null). Throws
    /// only <c>std::bad_alloc</c>/<c>std::length_error</c>.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNSt6vectorISt10unique_ptrIN5torch8autograd15FunctionPreHookESt14default_deleteIS3_EESaIS6_EE17_M_realloc_insertIJS6_EEEvN9__gnu_cxx17__normal_iteratorIPS6_S8_EEDpOT_")]
    internal static partial void PreHookVector_realloc_insert(IntPtr vector, IntPtr position, IntPtr* hook);

    /// <summary>The same for <c>std::vector&lt;std::unique_ptr&lt;FunctionPostHook&gt;&gt;</c> (<c>Node::post_hooks_</c>).</summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNSt6vectorISt10unique_ptrIN5torch8autograd16FunctionPostHookESt14default_deleteIS3_EESaIS6_EE17_M_realloc_insertIJS6_EEEvN9__gnu_cxx17__normal_iteratorIPS6_S8_EEDpOT_")]
    internal static partial void PostHookVector_realloc_insert(IntPtr vector, IntPtr position, IntPtr* hook);

    /// <summary>MSVC's exported <c>Node::add_pre_hook(std::unique_ptr&lt;FunctionPreHook&gt;&amp;&amp;)</c> (<see cref="CxxExports.NodeAddPreHook"/>): moves the pointer at <paramref name="hook"/> in, leaving null.</summary>
    internal static void Node_add_pre_hook(IntPtr node, IntPtr* hook) =>
        ((delegate* unmanaged<IntPtr, IntPtr*, void>)CxxExports.NodeAddPreHook.Address(NodeHooksFeature, NodeHooksReason))(node, hook);

    /// <summary>MSVC's exported <c>Node::add_post_hook(std::unique_ptr&lt;FunctionPostHook&gt;&amp;&amp;)</c> (<see cref="CxxExports.NodeAddPostHook"/>).</summary>
    internal static void Node_add_post_hook(IntPtr node, IntPtr* hook) =>
        ((delegate* unmanaged<IntPtr, IntPtr*, nuint>)CxxExports.NodeAddPostHook.Address(NodeHooksFeature, NodeHooksReason))(node, hook);

    /// <summary>The address a hook-vector accessor of MSVC's <c>Node</c> returns (<see cref="CxxExports.NodePreHooks"/> and its siblings), for the first-use check.</summary>
    internal static IntPtr Node_hook_vector(CxxExports.Export accessor, IntPtr node) =>
        ((delegate* unmanaged<IntPtr, IntPtr>)accessor.Address(NodeHooksFeature, NodeHooksReason))(node);

    /// <summary><see cref="CxxExports.PostAccGradHooks"/>: the address of the tensor's <c>std::unique_ptr&lt;PostAccumulateGradHook&gt;</c>.</summary>
    internal static IntPtr Autograd_post_acc_grad_hooks(IntPtr tensor) =>
        ((delegate* unmanaged<IntPtr, IntPtr>)CxxExports.PostAccGradHooks.Address(NodeHooksFeature, NodeHooksReason))(tensor);

    /// <summary><see cref="CxxExports.SetPostAccGradHooks"/>; <paramref name="hook"/> is the caller-made temporary.</summary>
    internal static void Autograd_set_post_acc_grad_hooks(IntPtr tensor, IntPtr* hook) =>
        ((delegate* unmanaged<IntPtr, IntPtr*, void>)CxxExports.SetPostAccGradHooks.Address(NodeHooksFeature, NodeHooksReason))(tensor, hook);

}
