using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// libtorch's functorch exports (aten/src/ATen/functorch/DynamicLayer.h, BatchedTensorImpl.h, TensorWrapper.h,
/// PlumbingHelper.h, libtorch 2.10). None of them catches: each caller in <see cref="NativeFunctorch"/> checks every
/// argument first so that none can throw. Functions returning a class by value write it through the hidden first
/// (System V sret) pointer; a by-value <c>at::Tensor</c> parameter is passed as the address of a caller-owned copy
/// the caller destroys after the call (Itanium C++ ABI).
/// </summary>
internal static partial class NativeMethods
{
    /// <summary>
    /// <c>int64_t initAndPushDynamicLayer(TransformType, std::optional&lt;c10::SymInt&gt; batch_size,
    /// std::optional&lt;RandomnessType&gt;, std::optional&lt;bool&gt; prev_grad_mode, std::optional&lt;bool&gt;
    /// prev_fwd_grad_mode, std::optional&lt;bool&gt; functionalize_add_back_views)</c>: the new layer's id (1 + the old
    /// depth). <c>optional&lt;SymInt&gt;</c> is not trivially copyable, so it is passed by address; the trivially
    /// copyable optionals travel in registers (value in the low byte or int, engaged flag right after it).
    /// Throws (<c>bad_optional_access</c>) when the optional its transform needs is empty.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch23initAndPushDynamicLayerENS0_13TransformTypeESt8optionalIN3c106SymIntEES2_INS0_14RandomnessTypeEES2_IbES8_S8_")]
    internal static unsafe partial long Functorch_initAndPushDynamicLayer(int transform, OptionalSymInt* batchSize, ulong randomness, ushort prevGradMode, ushort prevFwdGradMode, ushort functionalizeAddBackViews);

    /// <summary>
    /// <c>DynamicLayer popDynamicLayerAndDeleteMetadata()</c>: pops the top layer, marks its tensors dead and returns it
    /// (sret; the caller must release what it owns: its life handle). Asserts (throws) on an empty stack.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch32popDynamicLayerAndDeleteMetadataEv")]
    internal static unsafe partial void Functorch_popDynamicLayerAndDeleteMetadata(byte* layer);

    /// <summary><c>int64_t DynamicLayer::layerId() const</c>. Reads a field.</summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNK2at9functorch12DynamicLayer7layerIdEv")]
    internal static unsafe partial long Functorch_DynamicLayer_layerId(byte* layer);

    /// <summary><c>TransformType DynamicLayer::key() const</c>. Reads a field.</summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZNK2at9functorch12DynamicLayer3keyEv")]
    internal static unsafe partial int Functorch_DynamicLayer_key(byte* layer);

    /// <summary>
    /// <c>const std::shared_ptr&lt;bool&gt;&amp; getLifeHandleForLevel(int64_t level)</c>: the address of the life handle
    /// of the layer with that id, inside the stack. Asserts (throws) when no such layer is on the stack.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch21getLifeHandleForLevelEl")]
    internal static partial IntPtr Functorch_getLifeHandleForLevel(long level);

    /// <summary>
    /// <c>at::Tensor addBatchDim(at::Tensor tensor, int64_t dim, int64_t level)</c>: a BatchedTensor whose physical
    /// dimension <paramref name="dim"/> is the batch of level <paramref name="level"/>. Asserts (throws) for an undefined
    /// tensor, a dimension out of range, or a tensor already batched at this level or a higher one.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch11addBatchDimENS_6TensorEll")]
    internal static unsafe partial void Functorch_addBatchDim(IntPtr* result, IntPtr* tensorCopy, long dim, long level);

    /// <summary>
    /// <c>std::tuple&lt;at::Tensor, std::optional&lt;int64_t&gt;&gt; unwrapTensorAtLevel(const at::Tensor&amp;, int64_t level)</c>
    /// (sret): the value and batch dimension of a tensor batched at exactly that level, else the tensor itself and no
    /// dimension. Never throws.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch19unwrapTensorAtLevelERKNS_6TensorEl")]
    internal static unsafe partial void Functorch_unwrapTensorAtLevel(byte* tuple, IntPtr tensor, long level);

    /// <summary><c>bool isBatchedAtLevel(const at::Tensor&amp;, int64_t level)</c>. Never throws.</summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch16isBatchedAtLevelERKNS_6TensorEl")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool Functorch_isBatchedAtLevel(IntPtr tensor, long level);

    /// <summary>
    /// <c>at::Tensor makeTensorWrapper(const at::Tensor&amp;, int64_t level, bool is_immutable)</c> (sret): the tensor
    /// wrapped for the grad transform of that level. Asserts (throws) when the level is not on the stack, the tensor is
    /// undefined, or it is already wrapped at this level or a higher one.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch17makeTensorWrapperERKNS_6TensorElb")]
    internal static unsafe partial void Functorch_makeTensorWrapper(IntPtr* result, IntPtr tensor, long level, [MarshalAs(UnmanagedType.U1)] bool isImmutable);

    /// <summary>
    /// <c>at::Tensor unwrapIfDead(const at::Tensor&amp;)</c> (sret): the wrapped value of a TensorWrapper whose layer has
    /// been popped, else the tensor itself. Never throws.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch12unwrapIfDeadERKNS_6TensorE")]
    internal static unsafe partial void Functorch_unwrapIfDead(IntPtr* result, IntPtr tensor);

    /// <summary>
    /// <c>void setInplaceRequiresGradAllowed(bool)</c>: lets <c>requires_grad_()</c> run on a tensor of a functorch level
    /// (as <c>enable_inplace_requires_grad</c> does in PyTorch's grad transform). Sets a thread-local flag; never throws.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch29setInplaceRequiresGradAllowedEb")]
    internal static partial void Functorch_setInplaceRequiresGradAllowed([MarshalAs(UnmanagedType.U1)] bool allowed);

    /// <summary><c>bool getInplaceRequiresGradAllowed()</c>. Reads a thread-local flag.</summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch29getInplaceRequiresGradAllowedEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool Functorch_getInplaceRequiresGradAllowed();

    /// <summary>
    /// <c>void setVmapFallbackWarningEnabled(bool)</c>: whether vmap's slow per-example fallback (an operator with no
    /// batching rule) prints a warning. A process-wide flag; never throws.
    /// </summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN2at9functorch29setVmapFallbackWarningEnabledEb")]
    internal static partial void Functorch_setVmapFallbackWarningEnabled([MarshalAs(UnmanagedType.U1)] bool enabled);

    /// <summary>libstdc++'s <c>operator new(size_t)</c>: the 8-byte shell an owning <c>at::Tensor*</c> handle lives in.</summary>
    [LibraryImport(Libraries.CxxRuntime, EntryPoint = "_Znwm")]
    internal static partial IntPtr OperatorNewForTensor(nuint size);
}

/// <summary>
/// <c>std::optional&lt;c10::SymInt&gt;</c> (c10/core/SymInt.h: one <c>int64_t data_</c>, a plain value for any
/// non-negative size; then the optional's engaged flag), passed by address.
/// </summary>
/// <remarks>A value type built and used on one thread.</remarks>
[StructLayout(LayoutKind.Sequential)]
internal struct OptionalSymInt
{
    /// <summary>The integer (a SymInt that is not symbolic stores the value itself).</summary>
    public long Value;

    /// <summary>Whether the optional holds a value.</summary>
    public byte Engaged;
}
