namespace AutogradKit;

/// <summary>
/// Every fact about libtorch's and the C++ runtime's binary layout that AutogradKit relies on, in one place, each with
/// the header it comes from. They hold for the platform in <see cref="VerifiedOn"/> only: each is checked at first use
/// against an object whose answer is known (the check that covers it is named), and code that depends on one fails
/// with <see cref="NotSupportedException"/> or <see cref="PlatformNotSupportedException"/> instead of reading memory
/// that was not verified. docs/interop.md says how to re-derive them when libtorch changes.
/// </summary>
/// <remarks>Constants only; thread-safe.</remarks>
internal static class AbiFacts
{
    /// <summary>The libtorch, C++ runtime and platform these facts were read from and checked on.</summary>
    public const string VerifiedOn = "libtorch 2.10.0 (TorchSharp 0.107.0), Linux x64, libstdc++ (Itanium C++ ABI)";

    /// <summary>libstdc++'s <c>std::string</c> (bits/basic_string.h): <c>_M_p</c>, <c>_M_string_length</c>, a 16-byte local buffer.</summary>
    /// <remarks>Checked by <see cref="NodeLayout"/> (a node's name read through <c>Node::name()</c>).</remarks>
    internal static class StdString
    {
        /// <summary><c>sizeof(std::string)</c>.</summary>
        public const int Size = 32;

        /// <summary>Offset of <c>_M_string_length</c>.</summary>
        public const int LengthOffset = 8;

        /// <summary>Offset of the local (small-string) buffer, which <c>_M_p</c> points at for short strings.</summary>
        public const int LocalBufferOffset = 16;

        /// <summary>Capacity of the local buffer, without the terminating NUL.</summary>
        public const int LocalCapacity = 15;
    }

    /// <summary>
    /// libstdc++'s <c>std::shared_ptr&lt;T&gt;</c> ({T*, control block*}) and its control block
    /// <c>_Sp_counted_base&lt;_S_atomic&gt;</c> (bits/shared_ptr_base.h).
    /// </summary>
    /// <remarks>Checked by <see cref="NodeLayout"/> against a node whose counts are known.</remarks>
    internal static class SharedPtr
    {
        /// <summary>Offset of the control block pointer in a <c>shared_ptr</c>.</summary>
        public const int ControlOffset = 8;

        /// <summary>Offset of <c>int _M_use_count</c> in the control block.</summary>
        public const int UseCountOffset = 8;

        /// <summary>Offset of <c>int _M_weak_count</c> in the control block.</summary>
        public const int WeakCountOffset = 12;

        /// <summary>Control block vtable slot of <c>_M_dispose()</c> (after the complete and deleting destructors).</summary>
        public const int DisposeSlot = 2;

        /// <summary>Control block vtable slot of <c>_M_destroy()</c>.</summary>
        public const int DestroySlot = 3;
    }

    /// <summary>libstdc++'s <c>std::vector&lt;T&gt;</c> (bits/stl_vector.h): <c>_M_start</c>, <c>_M_finish</c>, <c>_M_end_of_storage</c>.</summary>
    internal static class Vector
    {
        /// <summary>Offset of <c>_M_finish</c>.</summary>
        public const int FinishOffset = 8;

        /// <summary>Offset of <c>_M_end_of_storage</c>.</summary>
        public const int CapacityOffset = 16;
    }

    /// <summary>
    /// libstdc++'s <c>std::function&lt;R(Args…)&gt;</c> (bits/std_function.h): <c>_Any_data _M_functor</c> (16 bytes),
    /// <c>_M_manager</c>, <c>_M_invoker</c>. An empty function has a null manager.
    /// </summary>
    /// <remarks>Checked by <see cref="HookAbi"/> (a hook registered, copied, called and destroyed by libtorch).</remarks>
    internal static class StdFunction
    {
        /// <summary><c>sizeof(std::function)</c>.</summary>
        public const int Size = 32;

        /// <summary>Offset of <c>_M_manager</c>.</summary>
        public const int ManagerOffset = 16;

        /// <summary><c>_Manager_operation::__get_type_info</c>.</summary>
        public const int GetTypeInfo = 0;

        /// <summary><c>_Manager_operation::__get_functor_ptr</c>.</summary>
        public const int GetFunctorPointer = 1;

        /// <summary><c>_Manager_operation::__clone_functor</c>.</summary>
        public const int CloneFunctor = 2;

        /// <summary><c>_Manager_operation::__destroy_functor</c>.</summary>
        public const int DestroyFunctor = 3;
    }

    /// <summary><c>torch::autograd::Node</c> (torch/csrc/autograd/function.h) and <c>Edge</c> (edge.h).</summary>
    /// <remarks>Checked by <see cref="NodeLayout"/> on the graphs of <c>a + b</c> and <c>unbind</c>.</remarks>
    internal static class Node
    {
        /// <summary>
        /// Offset of <c>edge_list next_edges_</c>: after the vtable pointer, <c>enable_shared_from_this</c>'s weak_ptr,
        /// <c>sequence_nr_</c>, <c>topological_nr_</c>, <c>has_parent_</c>, <c>thread_id_</c> and <c>std::mutex mutex_</c>.
        /// </summary>
        public const int NextEdgesOffset = 96;

        /// <summary><c>sizeof(Edge)</c>: <c>std::shared_ptr&lt;Node&gt; function</c> (16 bytes), then <c>uint32_t input_nr</c>, padded.</summary>
        public const int EdgeSize = 24;

        /// <summary>Offset of <c>input_nr</c> in an <c>Edge</c>.</summary>
        public const int InputNrOffset = 16;

        /// <summary>
        /// How far into an <c>AccumulateGrad</c> (torch/csrc/autograd/functions/accumulate_grad.h) the first-use check
        /// searches for <c>Variable variable</c>, whose offset it then uses.
        /// </summary>
        public const int VariableSearchLimit = 1024;
    }

    /// <summary><c>torch::autograd::AutogradMeta</c> (torch/csrc/autograd/variable.h).</summary>
    /// <remarks>Checked by <see cref="HookLists"/>: the word must change from null to the list libtorch copied the check's hook into.</remarks>
    internal static class AutogradMeta
    {
        /// <summary>
        /// Offset of <c>std::shared_ptr&lt;hooks_list&gt; cpp_hooks_list_</c>: vtable pointer (8), <c>std::string name_</c>
        /// (32), <c>Variable grad_</c> (8), <c>std::shared_ptr&lt;Node&gt; grad_fn_</c> (16), <c>std::weak_ptr&lt;Node&gt;
        /// grad_accumulator_</c> (16), <c>std::shared_ptr&lt;ForwardGrad&gt; fw_grad_</c> (16),
        /// <c>std::vector&lt;std::unique_ptr&lt;FunctionPreHook&gt;&gt; hooks_</c> (24).
        /// </summary>
        public const int CppHooksListOffset = 120;
    }

    /// <summary>
    /// The virtual table of <c>torch::autograd::Node</c> (torch/csrc/autograd/function.h), as TorchSharp's
    /// <c>CSharpNode</c> has it (Itanium ABI: two words before slot 0, offset-to-top and type_info).
    /// </summary>
    /// <remarks>Checked by <see cref="CustomNodeAbi"/>: the type_info name and the exported functions in four slots.</remarks>
    internal static class NodeVtable
    {
        /// <summary>Slots of <c>CSharpNode</c>'s vtable, after the offset-to-top and type_info words.</summary>
        /// <remarks>
        /// from torch/csrc/autograd/function.h (libtorch 2.10): <c>~Node</c> (complete, deleting), <c>name</c>,
        /// <c>tensor_pre_hooks</c>, <c>tensor_post_acc_grad_hooks</c>, <c>release_variables</c>,
        /// <c>will_release_variables</c>, <c>is_traceable</c>, <c>passes_state_transparently</c>, <c>compiled_args</c>,
        /// <c>apply_with_saved</c>, <c>is_aot_backward</c>, <c>apply</c>; <c>CSharpNode</c> (TorchSharp's THSAutograd.h)
        /// adds none.
        /// </remarks>
        public const int SlotCount = 13;

        /// <summary>from torch/csrc/autograd/function.h: <c>virtual std::string name() const</c>.</summary>
        public const int NameSlot = 2;

        /// <summary>from torch/csrc/autograd/function.h: <c>virtual void release_variables()</c>.</summary>
        public const int ReleaseVariablesSlot = 5;

        /// <summary>from torch/csrc/autograd/function.h: <c>virtual void will_release_variables()</c>.</summary>
        public const int WillReleaseVariablesSlot = 6;

        /// <summary>from torch/csrc/autograd/function.h: <c>virtual bool is_aot_backward() const</c>, the last before <c>apply</c>.</summary>
        public const int IsAotBackwardSlot = 11;

        /// <summary>The Itanium ABI's words before slot 0: offset-to-top, then the type_info pointer.</summary>
        public const int PrefixWords = 2;
    }

    /// <summary>
    /// c10's intrusive reference count (c10/util/intrusive_ptr.h) as an <c>at::Tensor</c> handle reaches it: the handle
    /// TorchSharp holds is a heap <c>at::Tensor</c>, whose only member is <c>intrusive_ptr&lt;TensorImpl&gt; impl_</c>.
    /// </summary>
    /// <remarks>
    /// Checked by <see cref="TensorOwners"/> against a leaf whose strong count is known (1 alone, 2 while a graph's
    /// <c>AccumulateGrad</c> holds it, 1 again once that graph is freed).
    /// </remarks>
    internal static class IntrusivePtr
    {
        /// <summary>Offset of the <c>TensorImpl*</c> in an <c>at::Tensor</c>.</summary>
        public const int TargetOffset = 0;

        /// <summary>
        /// Offset in <c>intrusive_ptr_target</c> (after its vtable pointer) of the 32-bit strong count: libtorch 2.10's
        /// <c>combined_refcount_</c> keeps it in the low half (and older ones' <c>refcount_</c> starts there too).
        /// </summary>
        public const int StrongCountOffset = 8;
    }

    /// <summary>
    /// The virtual table of <c>torch::autograd::Engine</c> (torch/csrc/autograd/engine.h), the object
    /// <c>Engine::get_default_engine()</c> returns when no Python engine is installed; AutogradKit points the engine at a
    /// copy of it whose <see cref="SavedVariableHooksSlot"/> and <see cref="MakeAnomalyMetadataSlot"/> are C# functions.
    /// </summary>
    /// <remarks>
    /// Checked by <see cref="NativeEngine"/>: the object's vptr is the exported <c>vtable for torch::autograd::Engine</c>
    /// (+16), its type_info is <c>typeinfo for torch::autograd::Engine</c>, the exported functions sit in slots 0–3 and
    /// 6–8, slot 5 returns a null hooks pointer and slot 4 an <c>AnomalyMetadata</c> (the two are not exported; nm of
    /// libtorch_cpu.so's symbol table names them <c>Engine::make_anomaly_metadata()</c> and
    /// <c>Engine::get_default_saved_variable_hooks()</c>).
    /// </remarks>
    internal static class EngineVtable
    {
        /// <summary>
        /// from torch/csrc/autograd/engine.h (libtorch 2.10): <c>~Engine</c> (complete, deleting), <c>execute</c>,
        /// <c>execute_with_graph_task</c>, <c>make_anomaly_metadata</c>, <c>get_default_saved_variable_hooks</c>,
        /// <c>thread_on_exception</c>, <c>thread_init</c>, <c>thread_main</c>.
        /// </summary>
        public const int SlotCount = 9;

        /// <summary>from torch/csrc/autograd/engine.h: <c>virtual std::unique_ptr&lt;AnomalyMetadata&gt; make_anomaly_metadata()</c> (sret).</summary>
        public const int MakeAnomalyMetadataSlot = 4;

        /// <summary>from torch/csrc/autograd/engine.h: <c>virtual std::unique_ptr&lt;SavedVariableHooks&gt; get_default_saved_variable_hooks()</c> (sret).</summary>
        public const int SavedVariableHooksSlot = 5;

        /// <summary>The exported functions in the other slots, checked one by one.</summary>
        public static readonly (int Slot, string Symbol)[] ExportedSlots =
        [
            (0, "_ZN5torch8autograd6EngineD1Ev"),
            (1, "_ZN5torch8autograd6EngineD0Ev"),
            (2, "_ZN5torch8autograd6Engine7executeERKSt6vectorINS0_4EdgeESaIS3_EERKS2_IN2at6TensorESaIS9_EEbbbS7_"),
            (3, "_ZN5torch8autograd6Engine23execute_with_graph_taskERKSt10shared_ptrINS0_9GraphTaskEES2_INS0_4NodeEEONS0_11InputBufferE"),
            (6, "_ZN5torch8autograd6Engine19thread_on_exceptionERKSt10shared_ptrINS0_9GraphTaskEERKS2_INS0_4NodeEERSt9exception"),
            (7, "_ZN5torch8autograd6Engine11thread_initEiRKSt10shared_ptrINS0_10ReadyQueueEEb"),
            (8, "_ZN5torch8autograd6Engine11thread_mainERKSt10shared_ptrINS0_9GraphTaskEE"),
        ];

        /// <summary>The Itanium ABI's words before slot 0: offset-to-top, then the type_info pointer.</summary>
        public const int PrefixWords = 2;
    }

    /// <summary>
    /// <c>torch::autograd::SavedVariableHooks</c> (torch/csrc/autograd/saved_variable_hooks.h), the object the engine's
    /// <see cref="EngineVtable.SavedVariableHooksSlot"/> returns and each <c>SavedVariable</c> owns.
    /// </summary>
    /// <remarks>
    /// Slot order read from libtorch_python.so's <c>vtable for torch::autograd::PySavedVariableHooks</c> (nm and its
    /// relocations: call_pack_hook, call_unpack_hook, two destructors, retrieve_unpack_hook_data); checked at first use
    /// by <see cref="NativeEngine"/> on a known graph (two packs of <c>x</c> and two unpacks for <c>x * x</c>, gradient 2x).
    /// </remarks>
    internal static class SavedVariableHooks
    {
        /// <summary>from torch/csrc/autograd/saved_variable_hooks.h: <c>virtual void call_pack_hook(const at::Tensor&amp;)</c>.</summary>
        public const int PackSlot = 0;

        /// <summary>from torch/csrc/autograd/saved_variable_hooks.h: <c>virtual at::Tensor call_unpack_hook()</c> (sret).</summary>
        public const int UnpackSlot = 1;

        /// <summary>from torch/csrc/autograd/saved_variable_hooks.h: <c>virtual ~SavedVariableHooks()</c>, complete object destructor.</summary>
        public const int CompleteDestructorSlot = 2;

        /// <summary>from torch/csrc/autograd/saved_variable_hooks.h: the deleting destructor <c>std::unique_ptr</c> calls.</summary>
        public const int DeletingDestructorSlot = 3;

        /// <summary>from torch/csrc/autograd/saved_variable_hooks.h: <c>retrieve_unpack_hook_data() const</c> (compiled autograd only; sret).</summary>
        public const int RetrieveUnpackHookDataSlot = 4;

        /// <summary>Number of slots.</summary>
        public const int SlotCount = 5;

        /// <summary><c>sizeof(std::optional&lt;std::pair&lt;c10::SafePyObject, c10::SafePyObject&gt;&gt;)</c>: two 16-byte SafePyObjects and the engaged flag, padded.</summary>
        public const int RetrievedDataSize = 40;
    }

    /// <summary>
    /// <c>torch::autograd::AnomalyMetadata</c> (torch/csrc/autograd/anomaly_mode.h): what each node made under anomaly mode
    /// owns; <c>store_stack()</c> runs when the node is made, <c>print_stack(name)</c> when backward fails in it.
    /// </summary>
    /// <remarks>
    /// Checked by <see cref="NativeEngine"/> (through <see cref="NativeAnomalyMetadata"/>) on an object the base engine's
    /// <c>make_anomaly_metadata()</c> made: its vptr is the exported vtable (+16), the exported functions are in the five
    /// slots, and the fields are an empty <c>std::string</c> and a null <c>shared_ptr</c> where this says. The size is
    /// read from the base factory's <c>operator new(0x38)</c> and the deleting destructor's <c>operator delete(p, 0x38)</c>.
    /// </remarks>
    internal static class AnomalyMetadata
    {
        /// <summary>from torch/csrc/autograd/anomaly_mode.h: <c>sizeof(AnomalyMetadata)</c>: vptr, <c>std::string traceback_</c>, <c>std::shared_ptr&lt;Node&gt; parent_</c>.</summary>
        public const int Size = 56;

        /// <summary>Offset of <c>std::string traceback_</c>.</summary>
        public const int TracebackOffset = 8;

        /// <summary>Offset of <c>std::shared_ptr&lt;Node&gt; parent_</c>.</summary>
        public const int ParentOffset = 40;

        /// <summary>from torch/csrc/autograd/anomaly_mode.h: <c>virtual void store_stack()</c>.</summary>
        public const int StoreStackSlot = 2;

        /// <summary>from torch/csrc/autograd/anomaly_mode.h: <c>virtual void print_stack(const std::string&amp; current_node_name)</c>.</summary>
        public const int PrintStackSlot = 3;

        /// <summary>from torch/csrc/autograd/anomaly_mode.h: <c>virtual void assign_parent(const std::shared_ptr&lt;Node&gt;&amp;)</c>.</summary>
        public const int AssignParentSlot = 4;

        /// <summary>Number of slots: two destructors and the three above.</summary>
        public const int SlotCount = 5;

        /// <summary>The exported functions in the base class's slots.</summary>
        public static readonly (int Slot, string Symbol)[] ExportedSlots =
        [
            (0, "_ZN5torch8autograd15AnomalyMetadataD1Ev"),
            (1, "_ZN5torch8autograd15AnomalyMetadataD0Ev"),
            (StoreStackSlot, "_ZN5torch8autograd15AnomalyMetadata11store_stackEv"),
            (PrintStackSlot, "_ZN5torch8autograd15AnomalyMetadata11print_stackERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE"),
            (AssignParentSlot, "_ZN5torch8autograd15AnomalyMetadata13assign_parentERKSt10shared_ptrINS0_4NodeEE"),
        ];
    }

    /// <summary>
    /// libtorch's functorch transforms (aten/src/ATen/functorch/, libtorch 2.10): enum values passed to
    /// <c>initAndPushDynamicLayer</c>, and the returned <c>DynamicLayer</c>'s life handle that the caller releases.
    /// </summary>
    /// <remarks>Checked by <see cref="NativeFunctorch"/> on a fresh thread: a layer's id and key through its exported
    /// accessors, its life handle against <c>getLifeHandleForLevel</c>, a BatchedTensor's value and dimension through
    /// <c>unwrapTensorAtLevel</c>, a dead TensorWrapper through <c>unwrapIfDead</c>.</remarks>
    internal static class Functorch
    {
        /// <summary>from aten/src/ATen/functorch/Interpreter.h: <c>TransformType::Vmap</c> (after <c>Torch</c>).</summary>
        public const int TransformVmap = 1;

        /// <summary>from aten/src/ATen/functorch/Interpreter.h: <c>TransformType::Grad</c>.</summary>
        public const int TransformGrad = 2;

        /// <summary>from aten/src/ATen/functorch/Interpreter.h: <c>RandomnessType::Error</c>.</summary>
        public const int RandomnessError = 0;

        /// <summary>from aten/src/ATen/functorch/Interpreter.h: <c>RandomnessType::Same</c>.</summary>
        public const int RandomnessSame = 1;

        /// <summary>from aten/src/ATen/functorch/Interpreter.h: <c>RandomnessType::Different</c>.</summary>
        public const int RandomnessDifferent = 2;

        /// <summary>
        /// from aten/src/ATen/functorch/Interpreter.h: offset of <c>std::shared_ptr&lt;bool&gt; is_alive_</c> in
        /// <c>Interpreter</c> (after <c>TransformType type_</c>, <c>int64_t level_</c> and
        /// <c>std::optional&lt;LocalDispatchKeySet&gt; savedLocalDispatchKeySet_</c>), the only member of
        /// <c>DynamicLayer</c> (DynamicLayer.h).
        /// </summary>
        public const int LayerLifeHandleOffset = 40;

        /// <summary>
        /// Bytes reserved for a returned <c>DynamicLayer</c>: more than its size (an <c>Interpreter</c>: 56 bytes of
        /// members, then a <c>std::variant</c> of metas of at most 16 bytes and its index).
        /// </summary>
        public const int LayerBufferSize = 256;

        /// <summary>
        /// from libstdc++'s bits/tuple (elements laid out last first): in a
        /// <c>std::tuple&lt;at::Tensor, std::optional&lt;int64_t&gt;&gt;</c>, offset of the <c>optional</c>'s value.
        /// </summary>
        public const int UnwrapDimOffset = 0;

        /// <summary>from libstdc++'s optional: offset of the engaged flag of a <c>std::optional&lt;int64_t&gt;</c>.</summary>
        public const int UnwrapDimEngagedOffset = 8;

        /// <summary>from libstdc++'s bits/tuple: offset of the <c>at::Tensor</c> in that tuple.</summary>
        public const int UnwrapTensorOffset = 16;

        /// <summary><c>sizeof(std::tuple&lt;at::Tensor, std::optional&lt;int64_t&gt;&gt;)</c>.</summary>
        public const int UnwrapSize = 24;

        /// <summary>
        /// from aten/src/ATen/functorch/DynamicLayer.h and Interpreter.h: <c>sizeof(DynamicLayer)</c>, the stride of
        /// <c>getDynamicLayerStack()</c>'s vector — 56 bytes of <c>Interpreter</c> members, then the
        /// <c>std::variant</c> of metas (the 16-byte <c>VmapInterpreterMeta</c>, then its index, padded: 24).
        /// </summary>
        public const int LayerSize = 80;

        /// <summary>
        /// from the Itanium C++ ABI (§3.1.2.3, non-trivial parameters): a by-value <c>at::Tensor</c> argument (of
        /// <c>addBatchDim</c>) is a temporary the caller destroys after the call.
        /// </summary>
        public const bool CalleeDestroysByValueArguments = false;
    }

    /// <summary>
    /// Node hooks: <c>torch::autograd::Node</c>'s hook vectors (torch/csrc/autograd/function.h) and the hook objects
    /// libtorch keeps in them and in <c>AutogradMeta</c> (torch/csrc/autograd/function_hook.h).
    /// </summary>
    /// <remarks>
    /// Checked by <see cref="NodeHookAbi"/> on the node of <c>x * x</c>: the virtual <c>tensor_pre_hooks()</c> must
    /// return the node's address plus <see cref="TensorPreHooksOffset"/>, that vector must gain exactly one entry when a
    /// tensor hook is registered on <c>x * x</c>, the vectors at <see cref="PreHooksOffset"/> and
    /// <see cref="PostHooksOffset"/> must be empty, and a pre-hook, a post-hook and a post-accumulate-grad hook placed
    /// there must be called in PyTorch's order with the known gradients and destroyed with their node or tensor.
    /// </remarks>
    internal static class NodeHooks
    {
        /// <summary>
        /// from torch/csrc/autograd/function.h: offset of <c>std::vector&lt;std::unique_ptr&lt;FunctionPreHook&gt;&gt;
        /// pre_hooks_</c>, after <c>next_edges_</c> (96, 24 bytes), <c>PyObject* pyobj_</c> (8)
        /// and <c>std::unique_ptr&lt;AnomalyMetadata&gt; anomaly_metadata_</c> (8).
        /// </summary>
        public const int PreHooksOffset = 136;

        /// <summary>from torch/csrc/autograd/function.h: offset of <c>tensor_pre_hooks_</c>, right after <c>pre_hooks_</c>.</summary>
        public const int TensorPreHooksOffset = 160;

        /// <summary>
        /// from torch/csrc/autograd/function.h: offset of <c>std::vector&lt;std::unique_ptr&lt;FunctionPostHook&gt;&gt;
        /// post_hooks_</c>, after <c>tensor_pre_hooks_</c> (24 bytes) and <c>std::unordered_map&lt;size_t,
        /// std::unique_ptr&lt;FunctionPreHook&gt;&gt; retains_grad_hooks_</c> (56 bytes).
        /// </summary>
        public const int PostHooksOffset = 240;

        /// <summary>from torch/csrc/autograd/function.h: <c>Node</c>'s vtable slot of <c>virtual std::vector&lt;std::unique_ptr&lt;FunctionPreHook&gt;&gt;&amp; tensor_pre_hooks()</c>.</summary>
        public const int TensorPreHooksSlot = 3;

        /// <summary>from torch/csrc/autograd/function_hook.h: slot of the complete-object destructor of every hook class.</summary>
        public const int DestructorSlot = 0;

        /// <summary>from torch/csrc/autograd/function_hook.h: slot of the deleting destructor (what <c>std::unique_ptr</c>'s <c>delete</c> calls).</summary>
        public const int DeletingDestructorSlot = 1;

        /// <summary>
        /// from torch/csrc/autograd/function_hook.h: slot of <c>operator()</c> — <c>variable_list (const variable_list&amp;)</c>
        /// for <c>FunctionPreHook</c>, <c>variable_list (const variable_list&amp; outputs, const variable_list&amp; inputs)</c>
        /// for <c>FunctionPostHook</c>, <c>void (const Variable&amp;)</c> for <c>PostAccumulateGradHook</c>.
        /// </summary>
        public const int CallSlot = 2;

        /// <summary>
        /// from torch/csrc/autograd/function_hook.h: how many slots a hook vtable of ours has — <c>compiled_args</c> (all
        /// three classes) and <c>apply_with_saved</c> (<c>PostAccumulateGradHook</c>) follow <c>operator()</c>; both serve
        /// compiled autograd only, which TorchSharp never runs, and ours do nothing.
        /// </summary>
        public const int SlotCount = 5;

        /// <summary>Size of one of our hook objects: the vtable pointer, then our table id.</summary>
        public const int ObjectSize = 16;

        /// <summary>
        /// from torch/csrc/autograd/variable.h: <c>torch::autograd::impl::post_acc_grad_hooks(const Variable&amp;)</c>
        /// returns a reference to <c>AutogradMeta::post_acc_grad_hooks_</c> (a <c>std::unique_ptr</c>, one word).
        /// </summary>
        public const int UniquePtrSize = 8;
    }

    /// <summary>
    /// The engine's current graph task as <c>register_multi_grad_hook</c> reads it (torch/csrc/autograd/graph_task.h,
    /// engine.cpp): <c>std::unordered_set&lt;Node*&gt; nodes_in_graph_</c> and <c>std::unordered_map&lt;Node*,
    /// ExecInfo&gt; exec_info_</c>, walked as libstdc++'s <c>_Hashtable</c> (bits/hashtable.h) singly linked node list.
    /// </summary>
    /// <remarks>
    /// Checked by <see cref="GraphTaskAbi"/>: inside passes over <c>(x * 2).exp().sum()</c> whose sets are known (a full
    /// backward: nodes_in_graph holds ExpBackward0, MulBackward0 and AccumulateGrad, exec_info is empty; a backward with
    /// inputs = [x * 2]: exec_info holds the root, ExpBackward0 and MulBackward0 as needed, without captures).
    /// </remarks>
    internal static class GraphTask
    {
        /// <summary>from bits/hashtable.h: offset of <c>_M_before_begin._M_nxt</c> (after <c>_M_buckets</c>, <c>_M_bucket_count</c>).</summary>
        public const int BeforeBeginOffset = 16;

        /// <summary>from bits/hashtable.h: offset of <c>size_t _M_element_count</c>.</summary>
        public const int ElementCountOffset = 24;

        /// <summary>
        /// from bits/hashtable_policy.h: offset of the value in a node (<c>_M_nxt</c>, then the value; <c>std::hash</c> of
        /// a pointer is a fast hash, so no hash code is cached).
        /// </summary>
        public const int NodeValueOffset = 8;

        /// <summary>from torch/csrc/autograd/graph_task.h: offset of <c>bool ExecInfo::needed_</c> after the map's key.</summary>
        public const int NeededOffset = 8;

        /// <summary>from torch/csrc/autograd/graph_task.h: offset of <c>std::unique_ptr&lt;std::vector&lt;Capture&gt;&gt; ExecInfo::captures_</c> after the key.</summary>
        public const int CapturesOffset = 16;

        /// <summary>An upper bound on the nodes walked in one set, so that a corrupt list can never loop forever.</summary>
        public const int MaxNodes = 1 << 24;
    }

    /// <summary>
    /// The same facts for Windows x64, where TorchSharp ships libtorch built with MSVC (its C++ ABI and its STL); each
    /// beside the Linux fact it replaces and checked at first use the same way. Read from MSVC's STL headers
    /// (<c>xstring</c>, <c>memory</c>) and libtorch 2.10's, and verified from C# against TorchSharp 0.107.0's win-x64
    /// <c>torch_cpu.dll</c> under Wine 8.0.
    /// </summary>
    internal static class Msvc
    {
        /// <summary>The libtorch, C++ runtime and platform these facts were read from and checked on.</summary>
        public const string VerifiedOn = "libtorch 2.10.0 (TorchSharp 0.107.0), Windows x64, MSVC (checked under Wine 8.0)";

        /// <summary>
        /// from the MSVC C++ ABI: a class's one virtual destructor slot is its scalar deleting destructor,
        /// <c>void* (this, unsigned flags)</c>, which frees the object after destroying it when this bit of
        /// <c>flags</c> is set (<c>delete p</c>) and only destroys it otherwise (a destructor called in place).
        /// </summary>
        public const uint DeletingDestructorFreeFlag = 1;

        /// <summary>
        /// from xmemory (<c>_Big_allocation_threshold</c>, <c>_Allocate_manually_vector_aligned</c>): a
        /// <c>std::allocator</c> block of this many bytes or more (a string's or a vector's buffer) is over-aligned to
        /// <see cref="BigAllocationAlignment"/> with the address <c>operator new</c> gave stored in the word before it, and
        /// freed from there, so it cannot be handed to <c>free</c> directly.
        /// </summary>
        public const int BigAllocationThreshold = 4096;

        /// <summary>from xmemory: <c>_Big_allocation_alignment</c>.</summary>
        public const int BigAllocationAlignment = 32;

        /// <summary>from xmemory: <c>_Non_user_size</c> (<c>sizeof(void*) + _Big_allocation_alignment - 1</c>), the extra bytes of a big block.</summary>
        public const int BigAllocationExtra = 39;

        /// <summary>
        /// MSVC's <c>std::string</c> (xstring, <c>_String_val</c>): a 16-byte union <c>_Bx</c> (the local buffer, or the
        /// heap pointer in its first word), then <c>size_t _Mysize</c>, then <c>size_t _Myres</c> (the capacity; the
        /// local buffer is in use while it is 15).
        /// </summary>
        /// <remarks>Checked by <see cref="NodeLayout"/> (a node's name read through <c>Node::name()</c>).</remarks>
        /// <summary>
        /// The MSVC C++ exception record (vcruntime's ehdata.h: <c>EHExceptionRecord</c>, x64) and the throw info its third
        /// parameter points at (<c>_ThrowInfo</c>, <c>_CatchableTypeArray</c>, <c>_CatchableType</c>, image-relative), as
        /// <see cref="WineCxxRuntimeRepair"/> reads them to copy a thrown object the way Microsoft's
        /// <c>__ExceptionPtrRethrow</c> does; with the <c>EXCEPTION_RECORD</c> offsets of winnt.h (x64).
        /// </summary>
        /// <remarks>Checked by <c>WineCxxRuntimeRepairTests</c> (a libtorch error rethrown from the engine's future reaches the caller with its text).</remarks>
        internal static class CxxException
        {
            /// <summary><c>EH_EXCEPTION_NUMBER</c>: <c>'msc' | 0xE0000000</c>.</summary>
            public const uint Code = 0xE06D7363;

            /// <summary><c>EH_MAGIC_NUMBER1</c>, the first parameter of a C++ exception.</summary>
            public const ulong Magic = 0x19930520;

            /// <summary>x64 C++ exceptions carry four parameters: magic, object, throw info, image base.</summary>
            public const uint ParameterCount = 4;

            /// <summary><c>EXCEPTION_RECORD.ExceptionFlags</c>.</summary>
            public const int FlagsOffset = 4;

            /// <summary><c>EXCEPTION_RECORD.NumberParameters</c>.</summary>
            public const int ParameterCountOffset = 24;

            /// <summary><c>EXCEPTION_RECORD.ExceptionInformation</c>.</summary>
            public const int ParametersOffset = 32;

            /// <summary><c>EXCEPTION_UNWINDING | EXCEPTION_EXIT_UNWIND</c>: dropped when the record is raised again.</summary>
            public const uint UnwindingFlags = 0x6;

            /// <summary><c>_ThrowInfo.pCatchableTypeArray</c> (image-relative).</summary>
            public const int CatchableTypesOffset = 12;

            /// <summary><c>_CatchableType.sizeOrOffset</c>: the thrown object's size.</summary>
            public const int TypeSizeOffset = 20;

            /// <summary><c>_CatchableType.copyFunction</c> (image-relative; zero for a trivially copyable type).</summary>
            public const int TypeCopyConstructorOffset = 24;

            /// <summary><c>CT_IsSimpleType</c>: copied with <c>memcpy</c>.</summary>
            public const uint SimpleType = 1;

            /// <summary><c>CT_HasVirtualBase</c>: the copy constructor takes a third argument, 1 for the most derived object.</summary>
            public const uint HasVirtualBase = 4;
        }

        internal static class StdString
        {
            /// <summary><c>sizeof(std::string)</c>.</summary>
            public const int Size = 32;

            /// <summary>from xstring: offset of <c>_Mysize</c>.</summary>
            public const int LengthOffset = 16;

            /// <summary>from xstring: offset of <c>_Myres</c>.</summary>
            public const int CapacityOffset = 24;

            /// <summary>from xstring: <c>_BUF_SIZE - 1</c>, the capacity of the local buffer at offset 0.</summary>
            public const int LocalCapacity = 15;
        }

        /// <summary>
        /// MSVC's <c>std::shared_ptr&lt;T&gt;</c> (memory: <c>_Ptr_base</c> {<c>_Ptr</c>, <c>_Rep</c>}) and its control block
        /// <c>_Ref_count_base</c>: vtable pointer, <c>_Uses</c>, <c>_Weaks</c>.
        /// </summary>
        /// <remarks>
        /// Checked by <see cref="NodeLayout"/>: the counts against a node whose count is known, and the release slot by
        /// freeing an <c>AccumulateGrad</c> through it (its leaf's <c>TensorImpl</c> count must drop by one).
        /// </remarks>
        internal static class SharedPtr
        {
            /// <summary>from memory: offset of <c>_Rep</c> in a <c>shared_ptr</c>.</summary>
            public const int ControlOffset = 8;

            /// <summary>from memory: offset of <c>_Atomic_counter_t _Uses</c> in <c>_Ref_count_base</c>.</summary>
            public const int UseCountOffset = 8;

            /// <summary>from memory: offset of <c>_Atomic_counter_t _Weaks</c>.</summary>
            public const int WeakCountOffset = 12;

            /// <summary>from memory: vtable slot of <c>virtual void _Destroy() noexcept</c> (destroys the object).</summary>
            public const int DisposeSlot = 0;

            /// <summary>from memory: vtable slot of <c>virtual void _Delete_this() noexcept</c> (frees the block).</summary>
            public const int DestroySlot = 1;

            /// <summary>
            /// from memory (<c>_Ref_count_obj2</c>: vtable pointer, two counts, then the object): where
            /// <c>std::make_shared</c> puts the object in its block, as it does <c>AccumulateGrad</c>.
            /// </summary>
            public const int MakeSharedObjectOffset = 16;
        }

        /// <summary><c>torch::autograd::Node</c> (torch/csrc/autograd/function.h) and <c>Edge</c> (edge.h) as MSVC lays them out.</summary>
        /// <remarks>Checked by <see cref="NodeLayout"/>: the offset against the exported <c>Node::next_edges()</c>, the edges on the graphs of <c>a + b</c> and <c>unbind</c>.</remarks>
        internal static class Node
        {
            /// <summary>
            /// from torch/csrc/autograd/function.h: offset of <c>edge_list next_edges_</c> (MSVC's <c>std::mutex</c> is 80
            /// bytes where libstdc++'s is 40).
            /// </summary>
            public const int NextEdgesOffset = 136;

            /// <summary>from torch/csrc/autograd/edge.h: <c>sizeof(Edge)</c>: the 16-byte <c>shared_ptr&lt;Node&gt;</c>, then <c>uint32_t input_nr</c>, padded.</summary>
            public const int EdgeSize = 24;

            /// <summary>from torch/csrc/autograd/edge.h: offset of <c>input_nr</c> in an <c>Edge</c>.</summary>
            public const int InputNrOffset = 16;

            /// <summary>The vftable MSVC exports for <c>AccumulateGrad</c>: the first word of every <c>AccumulateGrad</c> node.</summary>
            public const string AccumulateGradVftable = "??_7AccumulateGrad@autograd@torch@@6B@";
        }

        /// <summary>
        /// libtorch's functorch transforms (aten/src/ATen/functorch/, libtorch 2.10) as MSVC builds them: where the
        /// returned <c>DynamicLayer</c> keeps its life handle, how <c>std::tuple</c> lays out
        /// <c>unwrapTensorAtLevel</c>'s result, and who destroys a by-value <c>at::Tensor</c> argument. The enum values
        /// (<see cref="AbiFacts.Functorch.TransformVmap"/> and the rest) are the header's and do not depend on the compiler.
        /// </summary>
        /// <remarks>
        /// Checked by <see cref="NativeFunctorch"/> on a fresh thread, as the Linux facts are, plus: the layer stride
        /// (<see cref="LayerSize"/>) against <c>getDynamicLayerStack()</c> and <c>getLifeHandleForLevel</c>, and the
        /// ownership of <c>addBatchDim</c>'s by-value argument: the known <c>TensorImpl</c>'s strong count
        /// (<see cref="AbiFacts.IntrusivePtr"/>) is 2 (the tensor and our temporary) before the call and 2 (the tensor
        /// and the BatchedTensor) after it — our temporary's reference was consumed; 3 would mean it still owns one.
        /// That the callee, not the caller, destroys the temporary was read from <c>addBatchDim</c>'s disassembly (it
        /// moves the argument out, leaves the undefined tensor in it, and releases it before returning). Verified under
        /// Wine 8.0 against TorchSharp 0.107.0's torch_cpu.dll.
        /// </remarks>
        internal static class Functorch
        {
            /// <summary>
            /// from aten/src/ATen/functorch/Interpreter.h: offset of <c>std::shared_ptr&lt;bool&gt; is_alive_</c> in
            /// <c>Interpreter</c> — <c>TransformType type_</c> (4, padded to 8), <c>int64_t level_</c>, MSVC's
            /// <c>std::optional&lt;LocalDispatchKeySet&gt;</c> (16 bytes of value, then the flag, padded: 24) — as with GCC.
            /// </summary>
            public const int LayerLifeHandleOffset = 40;

            /// <summary>Bytes reserved for a returned <c>DynamicLayer</c>: more than its size (56 bytes of members, then a <c>std::variant</c>).</summary>
            public const int LayerBufferSize = 256;

            /// <summary>
            /// from aten/src/ATen/functorch/DynamicLayer.h and MSVC's variant (the storage, then the index): the stride
            /// of <c>getDynamicLayerStack()</c>'s vector, as with GCC.
            /// </summary>
            public const int LayerSize = 80;

            /// <summary>
            /// from MSVC's tuple (<c>tuple&lt;_This, _Rest...&gt;</c> derives from <c>tuple&lt;_Rest...&gt;</c>, so the last
            /// element comes first, as in libstdc++): offset of the <c>optional&lt;int64_t&gt;</c>'s value.
            /// </summary>
            public const int UnwrapDimOffset = 0;

            /// <summary>from MSVC's optional (<c>_Optional_destruct_base</c>: the value, then <c>bool _Has_value</c>): the engaged flag.</summary>
            public const int UnwrapDimEngagedOffset = 8;

            /// <summary>from MSVC's tuple: offset of <c>_Myfirst</c>, the <c>at::Tensor</c>, after its base (the 16-byte optional).</summary>
            public const int UnwrapTensorOffset = 16;

            /// <summary><c>sizeof(std::tuple&lt;at::Tensor, std::optional&lt;int64_t&gt;&gt;)</c> under MSVC.</summary>
            public const int UnwrapSize = 24;

            /// <summary>
            /// from the MSVC x64 calling convention: a by-value argument of a class with a non-trivial copy constructor
            /// (<c>at::Tensor</c>, <c>std::optional&lt;SymInt&gt;</c>) is passed as the address of a caller-made temporary
            /// that the CALLEE destroys; the caller frees only the temporary's memory. (A plain <c>SymInt</c>'s destructor
            /// frees nothing, so the batch-size optional needs nothing either way.)
            /// </summary>
            public const bool CalleeDestroysByValueArguments = true;
        }

        /// <summary>
        /// TorchSharp's <c>CSharpNode</c> (THSAutograd.h, a <c>torch::autograd::Node</c> adding no virtuals) as MSVC lays out
        /// its vftable and RTTI, for <see cref="CustomNodeAbi"/>: the Windows twin of <see cref="NodeVtable"/>.
        /// </summary>
        /// <remarks>
        /// Derived from torch/csrc/autograd/function.h (libtorch 2.10) under MSVC's rules (one scalar deleting destructor
        /// slot, declaration order, no overloaded virtuals in <c>Node</c>) and verified under Wine 8.0 against TorchSharp
        /// 0.107.0's win-x64 <c>LibTorchSharp.dll</c>: slots 1–10 of a fresh <c>CSharpNode</c> are import thunks
        /// (<c>jmp qword ptr [rip+disp32]</c>) whose cells hold the <c>torch_cpu.dll</c> exports <c>Node::name</c>,
        /// <c>tensor_pre_hooks</c>, <c>tensor_post_acc_grad_hooks</c>, <c>release_variables</c>,
        /// <c>will_release_variables</c>, <c>is_traceable</c>, <c>passes_state_transparently</c>, <c>compiled_args</c>,
        /// <c>apply_with_saved</c>, <c>is_aot_backward</c> in that order, the same as the exported
        /// <c>??_7Node@autograd@torch@@6B@</c>; slots 0 and 11 are <c>LibTorchSharp.dll</c>'s own (destructor,
        /// <c>apply</c>). torch_cpu.dll folds identical functions, so <c>release_variables</c> and
        /// <c>will_release_variables</c> share one address, as do the three <c>return false</c> ones: the slots with unique
        /// functions around them pin the order. Checked at first use by <see cref="CustomNodeAbi"/> (the RTTI name and all
        /// ten slots).
        /// </remarks>
        internal static class CustomNodes
        {
            /// <summary>
            /// from torch/csrc/autograd/function.h: <c>~Node</c> (one scalar deleting destructor), <c>name</c>,
            /// <c>tensor_pre_hooks</c>, <c>tensor_post_acc_grad_hooks</c>, <c>release_variables</c>,
            /// <c>will_release_variables</c>, <c>is_traceable</c>, <c>passes_state_transparently</c>,
            /// <c>compiled_args</c>, <c>apply_with_saved</c>, <c>is_aot_backward</c>, <c>apply</c>.
            /// </summary>
            public const int SlotCount = 12;

            /// <summary>from torch/csrc/autograd/function.h: <c>virtual std::string name() const</c> (this in RCX, the result's address in RDX).</summary>
            public const int NameSlot = 1;

            /// <summary>from torch/csrc/autograd/function.h: <c>virtual void release_variables()</c>.</summary>
            public const int ReleaseVariablesSlot = 4;

            /// <summary>The word before slot 0: the RTTI complete object locator (MSVC has no offset-to-top word).</summary>
            public const int PrefixWords = 1;

            /// <summary>The exported <c>torch_cpu.dll</c> functions slots 1–10 reach through their import thunks.</summary>
            public static readonly (int Slot, string Symbol)[] ExportedSlots =
            [
                (NameSlot, "?name@Node@autograd@torch@@UEBA?AV?$basic_string@DU?$char_traits@D@std@@V?$allocator@D@2@@std@@XZ"),
                (2, "?tensor_pre_hooks@Node@autograd@torch@@UEAAAEAV?$vector@V?$unique_ptr@UFunctionPreHook@autograd@torch@@U?$default_delete@UFunctionPreHook@autograd@torch@@@std@@@std@@V?$allocator@V?$unique_ptr@UFunctionPreHook@autograd@torch@@U?$default_delete@UFunctionPreHook@autograd@torch@@@std@@@std@@@2@@std@@XZ"),
                (3, "?tensor_post_acc_grad_hooks@Node@autograd@torch@@UEBAAEAV?$unique_ptr@UPostAccumulateGradHook@autograd@torch@@U?$default_delete@UPostAccumulateGradHook@autograd@torch@@@std@@@std@@XZ"),
                (ReleaseVariablesSlot, "?release_variables@Node@autograd@torch@@UEAAXXZ"),
                (5, "?will_release_variables@Node@autograd@torch@@UEAAXXZ"),
                (6, "?is_traceable@Node@autograd@torch@@UEAA_NXZ"),
                (7, "?passes_state_transparently@Node@autograd@torch@@UEAA_NXZ"),
                (8, "?compiled_args@Node@autograd@torch@@UEBAXAEAVCompiledNodeArgs@2dynamo@3@@Z"),
                (9, "?apply_with_saved@Node@autograd@torch@@UEAA?AV?$vector@VTensor@at@@V?$allocator@VTensor@at@@@std@@@std@@AEBV45@AEAVSwapSavedVariables@2dynamo@3@@Z"),
                (10, "?is_aot_backward@Node@autograd@torch@@UEBA_NXZ"),
            ];

            /// <summary>
            /// The first two bytes of an x64 import thunk, <c>jmp qword ptr [rip+disp32]</c> (FF 25, then the 32-bit
            /// displacement from the thunk's end, 6 bytes in): how <c>LibTorchSharp.dll</c>'s vftable reaches a
            /// <c>torch_cpu.dll</c> virtual.
            /// </summary>
            public const ushort ImportThunkOpcode = 0x25FF;

            /// <summary>The length of an import thunk: the displacement counts from here.</summary>
            public const int ImportThunkLength = 6;

            /// <summary>
            /// from ehdata.h/rttidata.h (x64 <c>_RTTICompleteObjectLocator</c>): <c>signature</c> 1 means the locator's
            /// fields are image-relative offsets.
            /// </summary>
            public const uint LocatorSignature = 1;

            /// <summary>from rttidata.h: offset of <c>pTypeDescriptor</c> (an image-relative offset) in the locator.</summary>
            public const int LocatorTypeDescriptorOffset = 12;

            /// <summary>from rttidata.h: offset of <c>pSelf</c>, the locator's own image-relative offset (so image base = locator − pSelf).</summary>
            public const int LocatorSelfOffset = 20;

            /// <summary>from rttidata.h (<c>_TypeDescriptor</c>: <c>pVFTable</c>, <c>spare</c>, then <c>name</c>): offset of the decorated name.</summary>
            public const int TypeDescriptorNameOffset = 16;

            /// <summary>The decorated RTTI name of <c>struct CSharpNode</c> (TorchSharp's THSAutograd.h), read under Wine.</summary>
            public const string TypeName = ".?AUCSharpNode@@";

            /// <summary>from xstring: offset of the local buffer <c>_Bx._Buf</c>, whose first word holds <c>_Bx._Ptr</c> once on the heap.</summary>
            public const int StringLocalBufferOffset = 0;
        }

        /// <summary>
        /// Node hooks and post-accumulate-grad hooks as MSVC lays them out: <c>Node</c>'s hook vectors
        /// (torch/csrc/autograd/function.h) and the hook classes' vftables (torch/csrc/autograd/function_hook.h). Read from
        /// the exported accessors' code and the exported vftables of TorchSharp 0.107.0's win-x64 <c>torch_cpu.dll</c>.
        /// </summary>
        /// <remarks>
        /// Checked by <see cref="NodeHookAbi"/>: each offset against the exported accessor (<c>Node::pre_hooks()</c>,
        /// <c>tensor_pre_hooks()</c>, <c>post_hooks()</c>) on the node of <c>x * x</c>, the vftable shape against the
        /// exported <c>??_7FunctionPreHook</c>/<c>??_7FunctionPostHook</c>/<c>??_7PostAccumulateGradHook</c> (their
        /// <c>compiled_args</c> export at <see cref="CompiledArgsSlot"/>), and the whole by hooks that must run in PyTorch's
        /// order with known gradients and be destroyed with their node and tensor.
        /// </remarks>
        internal static class NodeHooks
        {
            /// <summary>from torch/csrc/autograd/function.h: offset of <c>pre_hooks_</c> (after <c>next_edges_</c> at 136, <c>pyobj_</c> and <c>anomaly_metadata_</c>); <c>Node::pre_hooks()</c> returns node+176.</summary>
            public const int PreHooksOffset = 176;

            /// <summary>from torch/csrc/autograd/function.h: offset of <c>tensor_pre_hooks_</c>; <c>Node::tensor_pre_hooks()</c> returns node+200.</summary>
            public const int TensorPreHooksOffset = 200;

            /// <summary>
            /// from torch/csrc/autograd/function.h: offset of <c>post_hooks_</c>, after <c>retains_grad_hooks_</c> at 224 (an
            /// MSVC <c>std::unordered_map</c> is 64 bytes: traits, <c>std::list</c>, bucket vector, mask, max index);
            /// <c>Node::post_hooks()</c> returns node+288.
            /// </summary>
            public const int PostHooksOffset = 288;

            /// <summary>from function_hook.h (<c>virtual ~FunctionPreHook()</c>, first declared): the scalar deleting destructor, <c>(this, unsigned flags)</c>, flags &amp; 1 = free.</summary>
            public const int DeletingDestructorSlot = 0;

            /// <summary>
            /// from function_hook.h: slot of <c>operator()</c>, <c>this</c> first and, for the two returning <c>variable_list</c>,
            /// the hidden result pointer second (returned in RAX).
            /// </summary>
            public const int CallSlot = 1;

            /// <summary>from function_hook.h: slot of <c>compiled_args</c> (all three classes; the exported vftables hold the export there).</summary>
            public const int CompiledArgsSlot = 2;

            /// <summary>
            /// Slots of our vftables: <c>apply_with_saved</c> (<c>PostAccumulateGradHook</c> only) follows <c>compiled_args</c>;
            /// both serve compiled autograd only, which TorchSharp never runs, and ours do nothing.
            /// </summary>
            public const int SlotCount = 4;

            /// <summary>The RTTI complete object locator's word before a vftable (vftable[-1]); ours copy the exported class's.</summary>
            public const int PrefixWords = 1;
        }

        /// <summary>
        /// The engine's current graph task as MSVC lays it out: <c>nodes_in_graph_</c> and <c>exec_info_</c> are MSVC
        /// <c>std::unordered_set</c>/<c>std::unordered_map</c> (xhash: traits, then a <c>std::list</c> {sentinel pointer,
        /// size}, whose nodes are {next, prev, value}, a circular list back to the sentinel).
        /// </summary>
        /// <remarks>Checked by <see cref="GraphTaskAbi"/> as <see cref="AbiFacts.GraphTask"/> is.</remarks>
        internal static class GraphTask
        {
            /// <summary>from xhash (<c>_Hash::_List</c> after the 8-byte <c>_Traitsobj</c>) and list: offset of the list's sentinel pointer <c>_Myhead</c>.</summary>
            public const int ListHeadOffset = 8;

            /// <summary>from list: offset of <c>_Mysize</c>, the element count.</summary>
            public const int ElementCountOffset = 16;

            /// <summary>from list (<c>_List_node</c>: <c>_Next</c>, <c>_Prev</c>, <c>_Myval</c>): offset of the value in a node.</summary>
            public const int NodeValueOffset = 16;
        }

        /// <summary>
        /// Tensor hooks under MSVC: its <c>std::function&lt;at::TensorBase(const at::TensorBase&amp;)&gt;</c>
        /// (functional, <c>_Func_class</c>), the <c>_Func_base</c> implementation object AutogradKit builds inside it,
        /// and what <see cref="HookLists"/> and <see cref="TensorOwners"/> read of <c>AutogradMeta</c>.
        /// </summary>
        /// <remarks>
        /// Checked by <see cref="HookAbi"/> (a hook registered, moved, copied, called and destroyed by libtorch, the
        /// list's only entry found where libtorch copied it) and by <see cref="TensorOwners"/> (counts on a known graph),
        /// under Wine 8.0 against TorchSharp 0.107.0's win-x64 <c>torch_cpu.dll</c>.
        /// </remarks>
        internal static class TensorHooks
        {
            /// <summary>
            /// from functional (<c>_Func_class::_Storage</c>): <c>sizeof(std::function)</c>, a union of
            /// <c>_Small_object_num_ptrs</c> (6 + 16 / 8 = 8) pointers.
            /// </summary>
            public const int StdFunctionSize = 64;

            /// <summary>
            /// from functional (<c>_Getimpl()</c>: <c>_Ptrs[_Small_object_num_ptrs - 1]</c>): offset of the
            /// <c>_Func_base*</c>; null in an empty function, the function's own address when the implementation is
            /// stored in place (<c>_Local()</c>), as AutogradKit's always is.
            /// </summary>
            public const int ImplOffset = 56;

            /// <summary>from functional: <c>virtual _Func_base* _Copy(void* _Where) const</c> (copy-construct into <c>_Where</c> when small).</summary>
            public const int CopySlot = 0;

            /// <summary>from functional: <c>virtual _Func_base* _Move(void* _Where) noexcept</c> (move-construct into <c>_Where</c>; the source is then <c>_Delete_this(false)</c>ed).</summary>
            public const int MoveSlot = 1;

            /// <summary>
            /// from functional: <c>virtual at::TensorBase _Do_call(const at::TensorBase&amp;)</c>: <c>this</c> in RCX, the
            /// result's hidden pointer in RDX (returned in RAX), the argument's address in R8.
            /// </summary>
            public const int CallSlot = 2;

            /// <summary>from functional: <c>virtual const type_info&amp; _Target_type() const noexcept</c> (<c>target_type()</c>, which libtorch never asks).</summary>
            public const int TargetTypeSlot = 3;

            /// <summary>from functional: <c>virtual void _Delete_this(bool _Deallocate) noexcept</c> (the destructor; <c>_Deallocate</c> is false for an in-place implementation).</summary>
            public const int DeleteThisSlot = 4;

            /// <summary>from functional: <c>virtual const void* _Get() const noexcept</c> (private, declared last: <c>target()</c> only).</summary>
            public const int GetSlot = 5;

            /// <summary>from functional: the number of <c>_Func_base</c>'s virtual functions (no virtual destructor: <c>_Delete_this</c> replaces it).</summary>
            public const int SlotCount = 6;

            /// <summary>
            /// Size of AutogradKit's implementation object: its vtable pointer, then the <see cref="HookTable"/> id. It must
            /// fit the in-place storage before <see cref="ImplOffset"/> (<c>_Space_size</c>, 56 bytes).
            /// </summary>
            public const int ImplSize = 16;

            /// <summary>
            /// from torch/csrc/autograd/variable.h: offset of <c>std::shared_ptr&lt;hooks_list&gt; cpp_hooks_list_</c> in
            /// <c>AutogradMeta</c> under MSVC: vtable pointer (8), <c>std::string name_</c> (32), <c>Variable grad_</c> (8),
            /// <c>grad_fn_</c> (16), <c>grad_accumulator_</c> (16), <c>fw_grad_</c> (16), <c>hooks_</c> (24) — the same
            /// sizes as libstdc++'s.
            /// </summary>
            public const int CppHooksListOffset = 120;

            /// <summary>
            /// from vector (<c>_Vector_val</c>: <c>_Myfirst</c>, <c>_Mylast</c>, <c>_Myend</c>): offset of the end of the
            /// elements in a <c>std::vector</c>, which starts with its first element's address.
            /// </summary>
            public const int VectorLastOffset = 8;

            /// <summary>
            /// from c10/util/intrusive_ptr.h: offset of the 32-bit strong count in a <c>TensorImpl</c> (after its vtable
            /// pointer, the low half of <c>combined_refcount_</c>), as under libstdc++; an <c>at::Tensor</c> is the
            /// <c>TensorImpl*</c> alone.
            /// </summary>
            public const int StrongCountOffset = 8;
        }

        /// <summary>
        /// The engine override on MSVC: <c>torch::autograd::Engine</c>'s vftable (torch/csrc/autograd/engine.h), the
        /// <c>SavedVariableHooks</c> (saved_variable_hooks.h) and <c>AnomalyMetadata</c> (anomaly_mode.h) objects ours
        /// stand in for, and how MSVC calls their virtual functions — the facts of <see cref="AbiFacts.EngineVtable"/>,
        /// <see cref="AbiFacts.SavedVariableHooks"/> and <see cref="AbiFacts.AnomalyMetadata"/> for Windows x64.
        /// </summary>
        /// <remarks>
        /// <para>Read from the headers with MSVC's rules (one scalar deleting destructor slot, <c>(this, flags)</c>, at the
        /// destructor's place; no vtable slot for RTTI but the complete object locator at vftable[-1]) and verified
        /// against TorchSharp 0.107.0's win-x64 <c>torch_cpu.dll</c>: its exported vftables
        /// (<c>??_7Engine@autograd@torch@@6B@</c>, <c>??_7AnomalyMetadata@…</c>, <c>??_7SavedVariableHooks@…</c>) read from
        /// the file hold the exported virtuals exactly in these slots. Checked at first use by <see cref="NativeEngine"/>
        /// (through <see cref="EngineAbi"/>) as on Linux: the engine's vptr is the exported vftable, every exported slot
        /// is its function, the hooks slot returns null, the anomaly slot makes an <c>AnomalyMetadata</c> whose vptr,
        /// slots and fields are these, and the installed override packs and unpacks <c>x * x</c> as PyTorch.</para>
        /// <para>RTTI: our objects' vftable[-1] (where MSVC keeps the complete object locator) is null. No code in
        /// <c>torch_cpu.dll</c> takes <c>dynamic_cast</c> or <c>typeid</c> of a <c>SavedVariableHooks</c> or an
        /// <c>AnomalyMetadata</c>: a scan of its <c>.text</c> for RIP-relative references to their type descriptors
        /// (<c>.?AUSavedVariableHooks@autograd@torch@@</c>, <c>.?AUAnomalyMetadata@autograd@torch@@</c>) finds none, where
        /// the same scan finds the <c>dynamic_cast&lt;AccumulateGrad*&gt;(Node*)</c> sites (two references to each
        /// descriptor); <c>static_cast</c> is all libtorch_python uses on them, and it is never loaded here.</para>
        /// </remarks>
        internal static class Engine
        {
            /// <summary>from torch/csrc/autograd/engine.h: MSVC's exported vftable of <c>torch::autograd::Engine</c> (the default engine's vptr).</summary>
            public const string EngineVftable = "??_7Engine@autograd@torch@@6B@";

            /// <summary>MSVC puts one word before slot 0: the complete object locator.</summary>
            public const int PrefixWords = 1;

            /// <summary>
            /// from torch/csrc/autograd/engine.h: the scalar deleting destructor, <c>execute</c>,
            /// <c>execute_with_graph_task</c>, <c>make_anomaly_metadata</c>, <c>get_default_saved_variable_hooks</c>,
            /// <c>thread_on_exception</c>, <c>thread_init</c>, <c>thread_main</c> (no overloads, so declaration order).
            /// </summary>
            public const int SlotCount = 8;

            /// <summary>from torch/csrc/autograd/engine.h: <c>make_anomaly_metadata()</c>; exported, checked in the vftable.</summary>
            public const int MakeAnomalyMetadataSlot = 3;

            /// <summary>from torch/csrc/autograd/engine.h: <c>get_default_saved_variable_hooks()</c>; exported, checked in the vftable.</summary>
            public const int SavedVariableHooksSlot = 4;

            /// <summary>The exported functions in the engine's slots (all but the destructor), checked one by one.</summary>
            public static readonly (int Slot, string Symbol)[] ExportedSlots =
            [
                (1, "?execute@Engine@autograd@torch@@UEAA?AV?$vector@VTensor@at@@V?$allocator@VTensor@at@@@std@@@std@@AEBV?$vector@UEdge@autograd@torch@@V?$allocator@UEdge@autograd@torch@@@std@@@5@AEBV45@_N220@Z"),
                (2, "?execute_with_graph_task@Engine@autograd@torch@@UEAA?AV?$intrusive_ptr@UFuture@ivalue@c10@@U?$intrusive_target_default_null_type@UFuture@ivalue@c10@@@detail@3@@c10@@AEBV?$shared_ptr@UGraphTask@autograd@torch@@@std@@V?$shared_ptr@UNode@autograd@torch@@@7@$$QEAUInputBuffer@23@@Z"),
                (MakeAnomalyMetadataSlot, "?make_anomaly_metadata@Engine@autograd@torch@@UEAA?AV?$unique_ptr@UAnomalyMetadata@autograd@torch@@U?$default_delete@UAnomalyMetadata@autograd@torch@@@std@@@std@@XZ"),
                (SavedVariableHooksSlot, "?get_default_saved_variable_hooks@Engine@autograd@torch@@UEAA?AV?$unique_ptr@USavedVariableHooks@autograd@torch@@U?$default_delete@USavedVariableHooks@autograd@torch@@@std@@@std@@XZ"),
                (5, "?thread_on_exception@Engine@autograd@torch@@UEAAXAEBV?$shared_ptr@UGraphTask@autograd@torch@@@std@@AEBV?$shared_ptr@UNode@autograd@torch@@@5@AEAVexception@5@@Z"),
                (6, "?thread_init@Engine@autograd@torch@@UEAAXHAEBV?$shared_ptr@UReadyQueue@autograd@torch@@@std@@_N@Z"),
                (7, "?thread_main@Engine@autograd@torch@@MEAAXAEBV?$shared_ptr@UGraphTask@autograd@torch@@@std@@@Z"),
            ];

            /// <summary>
            /// MSVC x64: a member function returning a class by value (<c>std::unique_ptr</c>, <c>at::Tensor</c>,
            /// <c>std::optional</c>) takes <c>this</c> first (RCX) and the hidden result pointer second (RDX); Itanium
            /// passes the result pointer first. Verified by the first-use check's calls of the base engine's two slots.
            /// </summary>
            public const bool MemberResultFirst = false;

            /// <summary>
            /// The destructor words of every vftable here: one scalar deleting destructor <c>void* (this, unsigned flags)</c>,
            /// deleting when <c>flags &amp; 1</c> (Itanium has two, complete and deleting).
            /// </summary>
            public const int DestructorSlots = 1;

            /// <summary>from torch/csrc/autograd/saved_variable_hooks.h: <c>call_pack_hook(const at::Tensor&amp;)</c>.</summary>
            public const int HooksPackSlot = 0;

            /// <summary>from torch/csrc/autograd/saved_variable_hooks.h: <c>call_unpack_hook()</c> (result second).</summary>
            public const int HooksUnpackSlot = 1;

            /// <summary>from torch/csrc/autograd/saved_variable_hooks.h: <c>virtual ~SavedVariableHooks()</c>, the scalar deleting destructor.</summary>
            public const int HooksDestructorSlot = 2;

            /// <summary>from torch/csrc/autograd/saved_variable_hooks.h: <c>retrieve_unpack_hook_data() const</c> (exported; compiled autograd only).</summary>
            public const int HooksRetrieveUnpackHookDataSlot = 3;

            /// <summary>Number of <c>SavedVariableHooks</c> slots.</summary>
            public const int HooksSlotCount = 4;

            /// <summary>
            /// from MSVC's optional (<c>_Optional_destruct_base</c>: the value, then <c>bool _Has_value</c>):
            /// <c>sizeof(std::optional&lt;std::pair&lt;c10::SafePyObject, c10::SafePyObject&gt;&gt;)</c>, 32 bytes and the flag, padded.
            /// </summary>
            public const int RetrievedDataSize = 40;

            /// <summary>from torch/csrc/autograd/anomaly_mode.h: MSVC's exported vftable of <c>AnomalyMetadata</c>.</summary>
            public const string AnomalyVftable = "??_7AnomalyMetadata@autograd@torch@@6B@";

            /// <summary>
            /// from torch/csrc/autograd/anomaly_mode.h: <c>sizeof(AnomalyMetadata)</c>: vptr, the 32-byte MSVC
            /// <c>std::string traceback_</c> at 8, the <c>std::shared_ptr&lt;Node&gt; parent_</c> at 40 — as on Linux.
            /// </summary>
            public const int AnomalySize = 56;

            /// <summary>from torch/csrc/autograd/anomaly_mode.h: <c>store_stack()</c>.</summary>
            public const int AnomalyStoreStackSlot = 1;

            /// <summary>from torch/csrc/autograd/anomaly_mode.h: <c>print_stack(const std::string&amp;)</c>.</summary>
            public const int AnomalyPrintStackSlot = 2;

            /// <summary>from torch/csrc/autograd/anomaly_mode.h: <c>assign_parent(const std::shared_ptr&lt;Node&gt;&amp;)</c>.</summary>
            public const int AnomalyAssignParentSlot = 3;

            /// <summary>Number of <c>AnomalyMetadata</c> slots.</summary>
            public const int AnomalySlotCount = 4;

            /// <summary>The exported functions in <c>AnomalyMetadata</c>'s slots (its destructor is not exported).</summary>
            public static readonly (int Slot, string Symbol)[] AnomalyExportedSlots =
            [
                (AnomalyStoreStackSlot, "?store_stack@AnomalyMetadata@autograd@torch@@UEAAXXZ"),
                (AnomalyPrintStackSlot, "?print_stack@AnomalyMetadata@autograd@torch@@UEAAXAEBV?$basic_string@DU?$char_traits@D@std@@V?$allocator@D@2@@std@@@Z"),
                (AnomalyAssignParentSlot, "?assign_parent@AnomalyMetadata@autograd@torch@@UEAAXAEBV?$shared_ptr@UNode@autograd@torch@@@std@@@Z"),
            ];
        }
    }
}
