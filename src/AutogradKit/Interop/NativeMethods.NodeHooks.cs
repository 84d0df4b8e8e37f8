using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// libtorch's C++ exports behind node hooks and post-accumulate-grad hooks (Itanium-mangled, libtorch 2.10, libstdc++).
/// None of them catches: each is called only with arguments for which it cannot throw (see <see cref="NativeNodeHooks"/>).
/// </summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>
    /// <c>std::vector&lt;std::unique_ptr&lt;FunctionPreHook&gt;&gt;::_M_realloc_insert(iterator, std::unique_ptr&amp;&amp;)</c>,
    /// the out-of-line half of <c>emplace_back</c> (libtorch's own <c>Node::add_pre_hook</c> is inline): grows the vector
    /// with libstdc++'s allocator and moves the pointer at <paramref name="hook"/> in (leaving null). Throws only
    /// <c>std::bad_alloc</c>/<c>std::length_error</c>.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNSt6vectorISt10unique_ptrIN5torch8autograd15FunctionPreHookESt14default_deleteIS3_EESaIS6_EE17_M_realloc_insertIJS6_EEEvN9__gnu_cxx17__normal_iteratorIPS6_S8_EEDpOT_")]
    internal static partial void PreHookVector_realloc_insert(IntPtr vector, IntPtr position, IntPtr* hook);

    /// <summary>The same for <c>std::vector&lt;std::unique_ptr&lt;FunctionPostHook&gt;&gt;</c> (<c>Node::post_hooks_</c>).</summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNSt6vectorISt10unique_ptrIN5torch8autograd16FunctionPostHookESt14default_deleteIS3_EESaIS6_EE17_M_realloc_insertIJS6_EEEvN9__gnu_cxx17__normal_iteratorIPS6_S8_EEDpOT_")]
    internal static partial void PostHookVector_realloc_insert(IntPtr vector, IntPtr position, IntPtr* hook);

    /// <summary>
    /// <c>std::unique_ptr&lt;PostAccumulateGradHook&gt;&amp; torch::autograd::impl::post_acc_grad_hooks(const Variable&amp;)</c>:
    /// the address of the tensor's hook pointer (materialising its autograd meta). Throws only for an undefined tensor.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN5torch8autograd4impl19post_acc_grad_hooksERKN2at6TensorE")]
    internal static partial IntPtr Autograd_post_acc_grad_hooks(IntPtr tensor);

    /// <summary>
    /// <c>void torch::autograd::impl::set_post_acc_grad_hooks(const at::TensorBase&amp;, std::unique_ptr&lt;PostAccumulateGradHook&gt;)</c>:
    /// the unique_ptr goes by invisible reference (Itanium ABI, non-trivial class): <paramref name="hook"/> is the
    /// caller's temporary, moved from by the callee and destroyed by the caller. Destroys the hook it replaces. Throws
    /// only for an undefined tensor.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN5torch8autograd4impl23set_post_acc_grad_hooksERKN2at10TensorBaseESt10unique_ptrINS0_22PostAccumulateGradHookESt14default_deleteIS7_EE")]
    internal static partial void Autograd_set_post_acc_grad_hooks(IntPtr tensor, IntPtr* hook);
}
