using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>The C++ ABI of this process's libtorch, which decides its exports' names and the layouts in <see cref="AbiFacts"/>.</summary>
internal enum CxxAbi
{
    /// <summary>A platform whose libtorch AutogradKit has not verified (macOS, Linux arm64, Windows arm64): no C++ export is called.</summary>
    Unverified,

    /// <summary>Linux x64: libtorch built with GCC and libstdc++ (Itanium C++ ABI), the facts of <see cref="AbiFacts.VerifiedOn"/>.</summary>
    Itanium,

    /// <summary>Windows x64: libtorch built with MSVC (its own C++ ABI and STL), the facts of <see cref="AbiFacts.Msvc"/>.</summary>
    Msvc,
}

/// <summary>
/// The one table of libtorch's C++ exports that more than one platform reaches, each by the name it has under each
/// <see cref="CxxAbi"/>: a call is resolved here, by platform, before it is attempted, so an export that was not
/// verified on this platform is refused with <see cref="PlatformSupport.NotSupported(string, string)"/> and never becomes an
/// <see cref="EntryPointNotFoundException"/> thrown across native frames (which Wine 8.0's SEH list does not survive).
/// </summary>
/// <remarks>
/// Every feature that calls C++ exports is verified under both ABIs and gated as a whole by its first-use check
/// (<see cref="FirstUseCheck.Once"/> refuses <see cref="CxxAbi.Unverified"/> before running); an export called on one
/// ABI's path only may stay a <c>LibraryImport</c> there (libstdc++'s vector growth in <c>NativeMethods.NodeHooks</c>,
/// which the MSVC path does through the exported <c>Node::add_pre_hook</c>). The MSVC names were read from TorchSharp 0.107.0's
/// win-x64 <c>torch_cpu.dll</c> and <c>c10.dll</c> (their PE export tables). Thread-safe: an address is resolved at most
/// a few times (racing resolutions store the same value).
/// </remarks>
internal static class CxxExports
{
    /// <summary>This process's C++ ABI.</summary>
    internal static CxxAbi Abi { get; } =
        RuntimeInformation.ProcessArchitecture != Architecture.X64 ? CxxAbi.Unverified
        : OperatingSystem.IsLinux() ? CxxAbi.Itanium
        : OperatingSystem.IsWindows() ? CxxAbi.Msvc
        : CxxAbi.Unverified;

    /// <summary>Whether this process's libtorch is MSVC-built (Windows x64): the one test the per-ABI code paths make.</summary>
    internal static bool IsMsvc { get; } = Abi == CxxAbi.Msvc;

    /// <summary><c>const std::shared_ptr&lt;Node&gt;&amp; at::TensorBase::grad_fn() const</c>.</summary>
    internal static readonly Export TensorGradFn = new(Libraries.TorchCpu,
        "_ZNK2at10TensorBase7grad_fnEv",
        "?grad_fn@TensorBase@at@@QEBAAEBV?$shared_ptr@UNode@autograd@torch@@@std@@XZ");

    /// <summary><c>bool at::TensorBase::is_view() const</c>.</summary>
    internal static readonly Export TensorIsView = new(Libraries.TorchCpu,
        "_ZNK2at10TensorBase7is_viewEv",
        "?is_view@TensorBase@at@@QEBA_NXZ");

    /// <summary>The base <c>std::string torch::autograd::Node::name() const</c> (returned through a hidden pointer).</summary>
    internal static readonly Export NodeName = new(Libraries.TorchCpu,
        "_ZNK5torch8autograd4Node4nameB5cxx11Ev",
        "?name@Node@autograd@torch@@UEBA?AV?$basic_string@DU?$char_traits@D@std@@V?$allocator@D@2@@std@@XZ");

    /// <summary>
    /// <c>const edge_list&amp; torch::autograd::Node::next_edges() const</c>: the address of <c>next_edges_</c>, which the
    /// MSVC first-use check compares with its offset (inline in Linux's libtorch_cpu.so, whose check proves the offset by
    /// the edges alone).
    /// </summary>
    internal static readonly Export NodeNextEdges = new(Libraries.TorchCpu,
        null,
        "?next_edges@Node@autograd@torch@@QEBAAEBV?$vector@UEdge@autograd@torch@@V?$allocator@UEdge@autograd@torch@@@std@@@std@@XZ");

    /// <summary>
    /// <c>operator new(size_t)</c> for a small block that libtorch or TorchSharp frees with <c>delete</c> (an
    /// <c>at::Tensor*</c> shell that <c>THSTensor_dispose</c> deletes, a string's or a vector's buffer, a hook object): libstdc++'s; on Windows the UCRT's <c>malloc</c>,
    /// which MSVC's <c>operator new</c> calls (LibTorchSharp.dll links it statically and imports <c>malloc</c>/<c>free</c>
    /// from the UCRT heap set) for blocks below 4 KiB.
    /// </summary>
    internal static readonly Export OperatorNew = new(
        IsMsvc ? Libraries.Ucrt : Libraries.CxxRuntime,
        "_Znwm",
        "malloc");

    /// <summary>
    /// <c>operator delete(void*)</c> without a destructor, the counterpart of <see cref="OperatorNew"/>: frees a heap
    /// buffer of a <c>std::string</c> libtorch returned, or a tensor shell whose reference was moved out (blocks below
    /// 4 KiB, which carry no MSVC alignment header).
    /// </summary>
    internal static readonly Export OperatorDelete = new(
        IsMsvc ? Libraries.Ucrt : Libraries.CxxRuntime,
        "_ZdlPv",
        "free");

    /// <summary><c>static uint64_t torch::autograd::ForwardADLevel::get_next_idx()</c>.</summary>
    internal static readonly Export ForwardLevelNext = new(Libraries.TorchCpu,
        "_ZN5torch8autograd14ForwardADLevel12get_next_idxEv",
        "?get_next_idx@ForwardADLevel@autograd@torch@@SA_KXZ");

    /// <summary><c>static void torch::autograd::ForwardADLevel::release_idx(uint64_t)</c>.</summary>
    internal static readonly Export ForwardLevelRelease = new(Libraries.TorchCpu,
        "_ZN5torch8autograd14ForwardADLevel11release_idxEm",
        "?release_idx@ForwardADLevel@autograd@torch@@SAX_K@Z");

    /// <summary><c>static torch::autograd::Engine&amp; Engine::get_default_engine()</c>.</summary>
    internal static readonly Export EngineDefault = new(Libraries.TorchCpu,
        "_ZN5torch8autograd6Engine18get_default_engineEv",
        "?get_default_engine@Engine@autograd@torch@@SAAEAU123@XZ");

    /// <summary><c>bool torch::autograd::Engine::is_checkpoint_valid()</c>.</summary>
    internal static readonly Export EngineIsCheckpointValid = new(Libraries.TorchCpu,
        "_ZN5torch8autograd6Engine19is_checkpoint_validEv",
        "?is_checkpoint_valid@Engine@autograd@torch@@QEAA_NXZ");

    // --- Node hooks, post-accumulate-grad hooks and the graph task (NativeNodeHooks, NodeHookObjects, NativeGraphTask) ---

    /// <summary>
    /// <c>void Node::add_pre_hook(std::unique_ptr&lt;FunctionPreHook&gt;&amp;&amp;)</c>: <c>pre_hooks_.emplace_back</c>, moving the
    /// pointer out (inline in Linux's libtorch, where <see cref="NativeNodeHooks"/> appends itself). Throws only
    /// <c>std::bad_alloc</c>/<c>std::length_error</c>.
    /// </summary>
    internal static readonly Export NodeAddPreHook = new(Libraries.TorchCpu,
        null,
        "?add_pre_hook@Node@autograd@torch@@QEAAX$$QEAV?$unique_ptr@UFunctionPreHook@autograd@torch@@U?$default_delete@UFunctionPreHook@autograd@torch@@@std@@@std@@@Z");

    /// <summary><c>uintptr_t Node::add_post_hook(std::unique_ptr&lt;FunctionPostHook&gt;&amp;&amp;)</c>: the same for <c>post_hooks_</c>.</summary>
    internal static readonly Export NodeAddPostHook = new(Libraries.TorchCpu,
        null,
        "?add_post_hook@Node@autograd@torch@@QEAA_K$$QEAV?$unique_ptr@UFunctionPostHook@autograd@torch@@U?$default_delete@UFunctionPostHook@autograd@torch@@@std@@@std@@@Z");

    /// <summary><c>std::vector&lt;std::unique_ptr&lt;FunctionPreHook&gt;&gt;&amp; Node::pre_hooks() noexcept</c>: the MSVC first-use check compares it with the offset.</summary>
    internal static readonly Export NodePreHooks = new(Libraries.TorchCpu,
        null,
        "?pre_hooks@Node@autograd@torch@@QEAAAEAV?$vector@V?$unique_ptr@UFunctionPreHook@autograd@torch@@U?$default_delete@UFunctionPreHook@autograd@torch@@@std@@@std@@V?$allocator@V?$unique_ptr@UFunctionPreHook@autograd@torch@@U?$default_delete@UFunctionPreHook@autograd@torch@@@std@@@std@@@2@@std@@XZ");

    /// <summary><c>virtual std::vector&lt;std::unique_ptr&lt;FunctionPreHook&gt;&gt;&amp; Node::tensor_pre_hooks() noexcept</c> (the base class's, called directly).</summary>
    internal static readonly Export NodeTensorPreHooks = new(Libraries.TorchCpu,
        null,
        "?tensor_pre_hooks@Node@autograd@torch@@UEAAAEAV?$vector@V?$unique_ptr@UFunctionPreHook@autograd@torch@@U?$default_delete@UFunctionPreHook@autograd@torch@@@std@@@std@@V?$allocator@V?$unique_ptr@UFunctionPreHook@autograd@torch@@U?$default_delete@UFunctionPreHook@autograd@torch@@@std@@@std@@@2@@std@@XZ");

    /// <summary><c>std::vector&lt;std::unique_ptr&lt;FunctionPostHook&gt;&gt;&amp; Node::post_hooks() noexcept</c>.</summary>
    internal static readonly Export NodePostHooks = new(Libraries.TorchCpu,
        null,
        "?post_hooks@Node@autograd@torch@@QEAAAEAV?$vector@V?$unique_ptr@UFunctionPostHook@autograd@torch@@U?$default_delete@UFunctionPostHook@autograd@torch@@@std@@@std@@V?$allocator@V?$unique_ptr@UFunctionPostHook@autograd@torch@@U?$default_delete@UFunctionPostHook@autograd@torch@@@std@@@std@@@2@@std@@XZ");

    /// <summary>
    /// <c>std::unique_ptr&lt;PostAccumulateGradHook&gt;&amp; torch::autograd::impl::post_acc_grad_hooks(const Variable&amp;)</c>:
    /// the address of the tensor's hook pointer (materialising its autograd meta). Throws only for an undefined tensor.
    /// </summary>
    internal static readonly Export PostAccGradHooks = new(Libraries.TorchCpu,
        "_ZN5torch8autograd4impl19post_acc_grad_hooksERKN2at6TensorE",
        "?post_acc_grad_hooks@impl@autograd@torch@@YAAEAV?$unique_ptr@UPostAccumulateGradHook@autograd@torch@@U?$default_delete@UPostAccumulateGradHook@autograd@torch@@@std@@@std@@AEBVTensor@at@@@Z");

    /// <summary>
    /// <c>void torch::autograd::impl::set_post_acc_grad_hooks(const at::TensorBase&amp;, std::unique_ptr&lt;PostAccumulateGradHook&gt;)</c>:
    /// the unique_ptr by value, through the address of a caller-made temporary the callee moves from (Itanium: the caller
    /// destroys the temporary; MSVC: the callee does). Destroys the hook it replaces. Throws only for an undefined tensor.
    /// </summary>
    internal static readonly Export SetPostAccGradHooks = new(Libraries.TorchCpu,
        "_ZN5torch8autograd4impl23set_post_acc_grad_hooksERKN2at10TensorBaseESt10unique_ptrINS0_22PostAccumulateGradHookESt14default_deleteIS7_EE",
        "?set_post_acc_grad_hooks@impl@autograd@torch@@YAXAEBVTensorBase@at@@V?$unique_ptr@UPostAccumulateGradHook@autograd@torch@@U?$default_delete@UPostAccumulateGradHook@autograd@torch@@@std@@@std@@@Z");

    /// <summary><c>int torch::autograd::get_current_graph_task_id()</c> (a 32-bit int): the running pass's id on this thread, -1 outside a pass.</summary>
    internal static readonly Export GraphTaskId = new(Libraries.TorchCpu,
        "_ZN5torch8autograd25get_current_graph_task_idEv",
        "?get_current_graph_task_id@autograd@torch@@YAHXZ");

    /// <summary><c>const std::unordered_set&lt;Node*&gt;* get_current_graph_task_nodes_in_graph()</c>: null outside a pass.</summary>
    internal static readonly Export GraphTaskNodesInGraph = new(Libraries.TorchCpu,
        "_ZN5torch8autograd37get_current_graph_task_nodes_in_graphEv",
        "?get_current_graph_task_nodes_in_graph@autograd@torch@@YAPEBV?$unordered_set@PEAUNode@autograd@torch@@U?$hash@PEAUNode@autograd@torch@@@std@@U?$equal_to@PEAUNode@autograd@torch@@@5@V?$allocator@PEAUNode@autograd@torch@@@5@@std@@XZ");

    /// <summary><c>const std::unordered_map&lt;Node*, GraphTask::ExecInfo&gt;* get_current_graph_task_exec_info()</c>: null outside a pass.</summary>
    internal static readonly Export GraphTaskExecInfo = new(Libraries.TorchCpu,
        "_ZN5torch8autograd32get_current_graph_task_exec_infoEv",
        "?get_current_graph_task_exec_info@autograd@torch@@YAPEBV?$unordered_map@PEAUNode@autograd@torch@@UExecInfo@GraphTask@23@U?$hash@PEAUNode@autograd@torch@@@std@@U?$equal_to@PEAUNode@autograd@torch@@@7@V?$allocator@U?$pair@QEAUNode@autograd@torch@@UExecInfo@GraphTask@23@@std@@@7@@std@@XZ");

    // ---- torch.func (functorch): NativeFunctorch, NativeMethods.Functorch; MSVC names read from torch_cpu.dll's
    // export table, their calling facts checked at first use by NativeFunctorch (AbiFacts.Msvc.Functorch). ----

    /// <summary>
    /// <c>at::functorch::initAndPushDynamicLayer(TransformType, optional&lt;SymInt&gt;, optional&lt;RandomnessType&gt;,
    /// optional&lt;bool&gt;, optional&lt;bool&gt;, optional&lt;bool&gt;)</c>.
    /// </summary>
    internal static readonly Export FunctorchInitAndPushDynamicLayer = new(Libraries.TorchCpu,
        "_ZN2at9functorch23initAndPushDynamicLayerENS0_13TransformTypeESt8optionalIN3c106SymIntEES2_INS0_14RandomnessTypeEES2_IbES8_S8_",
        "?initAndPushDynamicLayer@functorch@at@@YA_JW4TransformType@12@V?$optional@VSymInt@c10@@@std@@V?$optional@W4RandomnessType@functorch@at@@@5@V?$optional@_N@5@33@Z");

    /// <summary><c>DynamicLayer at::functorch::popDynamicLayerAndDeleteMetadata()</c>.</summary>
    internal static readonly Export FunctorchPopDynamicLayer = new(Libraries.TorchCpu,
        "_ZN2at9functorch32popDynamicLayerAndDeleteMetadataEv",
        "?popDynamicLayerAndDeleteMetadata@functorch@at@@YA?AUDynamicLayer@12@XZ");

    /// <summary><c>int64_t at::functorch::DynamicLayer::layerId() const</c>.</summary>
    internal static readonly Export FunctorchLayerId = new(Libraries.TorchCpu,
        "_ZNK2at9functorch12DynamicLayer7layerIdEv",
        "?layerId@DynamicLayer@functorch@at@@QEBA_JXZ");

    /// <summary><c>TransformType at::functorch::DynamicLayer::key() const</c>.</summary>
    internal static readonly Export FunctorchLayerKey = new(Libraries.TorchCpu,
        "_ZNK2at9functorch12DynamicLayer3keyEv",
        "?key@DynamicLayer@functorch@at@@QEBA?AW4TransformType@23@XZ");

    /// <summary><c>const std::shared_ptr&lt;bool&gt;&amp; at::functorch::getLifeHandleForLevel(int64_t)</c>.</summary>
    internal static readonly Export FunctorchGetLifeHandleForLevel = new(Libraries.TorchCpu,
        "_ZN2at9functorch21getLifeHandleForLevelEl",
        "?getLifeHandleForLevel@functorch@at@@YAAEBV?$shared_ptr@_N@std@@_J@Z");

    /// <summary><c>at::Tensor at::functorch::addBatchDim(at::Tensor, int64_t, int64_t)</c>.</summary>
    internal static readonly Export FunctorchAddBatchDim = new(Libraries.TorchCpu,
        "_ZN2at9functorch11addBatchDimENS_6TensorEll",
        "?addBatchDim@functorch@at@@YA?AVTensor@2@V32@_J1@Z");

    /// <summary><c>std::tuple&lt;at::Tensor, std::optional&lt;int64_t&gt;&gt; at::functorch::unwrapTensorAtLevel(const at::Tensor&amp;, int64_t)</c>.</summary>
    internal static readonly Export FunctorchUnwrapTensorAtLevel = new(Libraries.TorchCpu,
        "_ZN2at9functorch19unwrapTensorAtLevelERKNS_6TensorEl",
        "?unwrapTensorAtLevel@functorch@at@@YA?AV?$tuple@VTensor@at@@V?$optional@_J@std@@@std@@AEBVTensor@2@_J@Z");

    /// <summary><c>bool at::functorch::isBatchedAtLevel(const at::Tensor&amp;, int64_t)</c>.</summary>
    internal static readonly Export FunctorchIsBatchedAtLevel = new(Libraries.TorchCpu,
        "_ZN2at9functorch16isBatchedAtLevelERKNS_6TensorEl",
        "?isBatchedAtLevel@functorch@at@@YA_NAEBVTensor@2@_J@Z");

    /// <summary><c>at::Tensor at::functorch::makeTensorWrapper(const at::Tensor&amp;, int64_t, bool)</c>.</summary>
    internal static readonly Export FunctorchMakeTensorWrapper = new(Libraries.TorchCpu,
        "_ZN2at9functorch17makeTensorWrapperERKNS_6TensorElb",
        "?makeTensorWrapper@functorch@at@@YA?AVTensor@2@AEBV32@_J_N@Z");

    /// <summary><c>at::Tensor at::functorch::unwrapIfDead(const at::Tensor&amp;)</c>.</summary>
    internal static readonly Export FunctorchUnwrapIfDead = new(Libraries.TorchCpu,
        "_ZN2at9functorch12unwrapIfDeadERKNS_6TensorE",
        "?unwrapIfDead@functorch@at@@YA?AVTensor@2@AEBV32@@Z");

    /// <summary><c>void at::functorch::setInplaceRequiresGradAllowed(bool)</c>.</summary>
    internal static readonly Export FunctorchSetInplaceRequiresGradAllowed = new(Libraries.TorchCpu,
        "_ZN2at9functorch29setInplaceRequiresGradAllowedEb",
        "?setInplaceRequiresGradAllowed@functorch@at@@YAX_N@Z");

    /// <summary><c>bool at::functorch::getInplaceRequiresGradAllowed()</c>.</summary>
    internal static readonly Export FunctorchGetInplaceRequiresGradAllowed = new(Libraries.TorchCpu,
        "_ZN2at9functorch29getInplaceRequiresGradAllowedEv",
        "?getInplaceRequiresGradAllowed@functorch@at@@YA_NXZ");

    /// <summary><c>void at::functorch::setVmapFallbackWarningEnabled(bool)</c>.</summary>
    internal static readonly Export FunctorchSetVmapFallbackWarningEnabled = new(Libraries.TorchCpu,
        "_ZN2at9functorch29setVmapFallbackWarningEnabledEb",
        "?setVmapFallbackWarningEnabled@functorch@at@@YAX_N@Z");

    /// <summary><c>const std::vector&lt;DynamicLayer&gt;&amp; at::functorch::getDynamicLayerStack()</c>: this thread's layer stack.</summary>
    internal static readonly Export FunctorchGetDynamicLayerStack = new(Libraries.TorchCpu,
        "_ZN2at9functorch20getDynamicLayerStackEv",
        "?getDynamicLayerStack@functorch@at@@YAAEBV?$vector@UDynamicLayer@functorch@at@@V?$allocator@UDynamicLayer@functorch@at@@@std@@@std@@XZ");

    // ---- end torch.func ----

    // --- The engine override (saved-tensor hooks, checkpointing, anomaly traces): NativeEngine, NativeSavedTensorsHooks,
    // NativeAnomalyMetadata; MSVC names read from torch_cpu.dll's export table, checked at first use by NativeEngine.
    // (Their allocator is OperatorNew/OperatorDelete above.) ---

    /// <summary><c>void torch::autograd::impl::bump_version(const at::Tensor&amp;)</c>.</summary>
    internal static readonly Export AutogradBumpVersion = new(Libraries.TorchCpu,
        "_ZN5torch8autograd4impl12bump_versionERKN2at6TensorE",
        "?bump_version@impl@autograd@torch@@YAXAEBVTensor@at@@@Z");

    // --- Tensor hooks (NativeHooks, HookLists, TensorOwners, StdFunctionHooks) ---

    /// <summary>
    /// <c>unsigned at::TensorBase::_register_hook(std::function&lt;at::TensorBase(const at::TensorBase&amp;)&gt;) const</c>:
    /// the function by value, through the address of a caller-made temporary (Itanium: the caller destroys it; MSVC: the callee).
    /// </summary>
    internal static readonly Export TensorRegisterHook = new(Libraries.TorchCpu,
        "_ZNK2at10TensorBase14_register_hookESt8functionIFS0_RKS0_EE",
        "?_register_hook@TensorBase@at@@IEBAIV?$function@$$A6A?AVTensorBase@at@@AEBV12@@Z@std@@@Z");

    /// <summary><c>torch::autograd::AutogradMeta* torch::autograd::impl::get_autograd_meta(const at::TensorBase&amp;)</c>: reads a field, never throws.</summary>
    internal static readonly Export AutogradMetaOf = new(Libraries.TorchCpu,
        "_ZN5torch8autograd4impl17get_autograd_metaERKN2at10TensorBaseE",
        "?get_autograd_meta@impl@autograd@torch@@YAPEAUAutogradMeta@23@AEBVTensorBase@at@@@Z");

    /// <summary>
    /// The <c>TensorImpl*</c> of every undefined tensor: on Linux the exported object <c>UndefinedTensorImpl::_singleton</c>
    /// itself (its address is the answer); on Windows the exported function <c>static TensorImpl* UndefinedTensorImpl::singleton()</c>
    /// (inline elsewhere), which returns it.
    /// </summary>
    internal static readonly Export UndefinedTensorImpl = new(Libraries.C10,
        "_ZN3c1019UndefinedTensorImpl10_singletonE",
        "?singleton@UndefinedTensorImpl@c10@@SAPEAUTensorImpl@2@XZ");

    /// <summary>One C++ export under each ABI's name (null: not verified under that ABI).</summary>
    internal sealed class Export(string library, string? itanium, string? msvc)
    {
        private IntPtr _address;

        /// <summary>The export's name on this platform, or null when it may not be called here.</summary>
        public string? Name => Abi switch
        {
            CxxAbi.Itanium => itanium,
            CxxAbi.Msvc => msvc,
            _ => null,
        };

        /// <summary>Whether this platform has a verified name for the export (it is still resolved only when called).</summary>
        public bool IsAvailable => Name is not null;

        /// <summary>
        /// The export's address, resolved once. Throws <see cref="PlatformSupport.NotSupported(string, string)"/>
        /// (<paramref name="feature"/>, <paramref name="reason"/>) where the platform has no verified name, and the same
        /// shape naming the symbol where the library lacks it: no native call is attempted either way.
        /// </summary>
        public IntPtr Address(string feature, string reason)
        {
            IntPtr address = Volatile.Read(ref _address);
            if (address != IntPtr.Zero)
            {
                return address;
            }
            if (Name is not { } name)
            {
                throw msvc is null ? PlatformSupport.NotSupported(feature, reason)
                    : PlatformSupport.NotSupported(feature, reason, PlatformSupport.VerifiedOnLinuxAndWindows);
            }
            if (!NativeLibrary.TryLoad(library, typeof(CxxExports).Assembly, null, out IntPtr handle)
                || !NativeLibrary.TryGetExport(handle, name, out address))
            {
                throw PlatformSupport.NotSupported(feature, $"{reason}, and {library} does not export {name}", PlatformSupport.VerifiedOnThisAbi);
            }
            Volatile.Write(ref _address, address);
            return address;
        }
    }
}
