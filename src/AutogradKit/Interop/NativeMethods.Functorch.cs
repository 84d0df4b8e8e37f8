using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// libtorch's functorch exports (aten/src/ATen/functorch/DynamicLayer.h, BatchedTensorImpl.h, TensorWrapper.h,
/// PlumbingHelper.h, libtorch 2.10), called through <see cref="CxxExports"/> by their Itanium or MSVC name. None of them
/// catches: each caller in <see cref="NativeFunctorch"/> checks every argument first so that none can throw.
/// </summary>
/// <remarks>
/// <para>One signature serves both ABIs (checked at first use by <see cref="NativeFunctorch"/>): a free function
/// returning a class by value takes the hidden result pointer as its first argument (System V sret in RDI, MSVC in
/// RCX) and a member function takes <c>this</c> first; a by-value <c>at::Tensor</c> or <c>std::optional&lt;SymInt&gt;</c>
/// is passed as the address of a caller-made temporary under both; the trivially copyable optionals of 8 bytes or less
/// travel in registers (value in the low byte or int, engaged flag right after it) under both. What differs is who
/// destroys a by-value argument (<see cref="AbiFacts.Msvc.Functorch.CalleeDestroysByValueArguments"/>) and which
/// allocator makes a tensor shell (<see cref="CxxExports.OperatorNew"/>).</para>
/// <para>Thread-safety: stateless; the functorch stack they act on is the calling thread's.</para>
/// </remarks>
internal static unsafe partial class NativeMethods
{
    private const string FunctorchFeature = "torch.func transforms";

    private const string FunctorchReason = "they call libtorch's functorch C++ API directly";

    /// <summary>
    /// <c>int64_t initAndPushDynamicLayer(TransformType, std::optional&lt;c10::SymInt&gt; batch_size,
    /// std::optional&lt;RandomnessType&gt;, std::optional&lt;bool&gt; prev_grad_mode, std::optional&lt;bool&gt;
    /// prev_fwd_grad_mode, std::optional&lt;bool&gt; functionalize_add_back_views)</c>: the new layer's id (1 + the old
    /// depth). Throws (<c>bad_optional_access</c>) when the optional its transform needs is empty.
    /// </summary>
    internal static long Functorch_initAndPushDynamicLayer(int transform, OptionalSymInt* batchSize, ulong randomness, ushort prevGradMode, ushort prevFwdGradMode, ushort functionalizeAddBackViews) =>
        ((delegate* unmanaged<int, OptionalSymInt*, ulong, ushort, ushort, ushort, long>)CxxExports.FunctorchInitAndPushDynamicLayer.Address(FunctorchFeature, FunctorchReason))(
            transform, batchSize, randomness, prevGradMode, prevFwdGradMode, functionalizeAddBackViews);

    /// <summary>
    /// <c>DynamicLayer popDynamicLayerAndDeleteMetadata()</c>: pops the top layer, marks its tensors dead and writes it
    /// to <paramref name="layer"/> (the caller must release what it owns: its life handle). Asserts (throws) on an empty stack.
    /// </summary>
    internal static void Functorch_popDynamicLayerAndDeleteMetadata(byte* layer) =>
        ((delegate* unmanaged<byte*, byte*>)CxxExports.FunctorchPopDynamicLayer.Address(FunctorchFeature, FunctorchReason))(layer);

    /// <summary><c>int64_t DynamicLayer::layerId() const</c>. Reads a field.</summary>
    internal static long Functorch_DynamicLayer_layerId(byte* layer) =>
        ((delegate* unmanaged<byte*, long>)CxxExports.FunctorchLayerId.Address(FunctorchFeature, FunctorchReason))(layer);

    /// <summary><c>TransformType DynamicLayer::key() const</c> (an enum: returned in EAX under both ABIs). Reads a field.</summary>
    internal static int Functorch_DynamicLayer_key(byte* layer) =>
        ((delegate* unmanaged<byte*, int>)CxxExports.FunctorchLayerKey.Address(FunctorchFeature, FunctorchReason))(layer);

    /// <summary>
    /// <c>const std::shared_ptr&lt;bool&gt;&amp; getLifeHandleForLevel(int64_t level)</c>: the address of the life handle
    /// of the layer with that id, inside the stack. Asserts (throws) when no such layer is on the stack.
    /// </summary>
    internal static IntPtr Functorch_getLifeHandleForLevel(long level) =>
        ((delegate* unmanaged<long, IntPtr>)CxxExports.FunctorchGetLifeHandleForLevel.Address(FunctorchFeature, FunctorchReason))(level);

    /// <summary>
    /// <c>const std::vector&lt;DynamicLayer&gt;&amp; getDynamicLayerStack()</c>: the address of this thread's layer stack
    /// (a <c>std::vector</c>: begin, end, capacity pointers under both ABIs). Never throws.
    /// </summary>
    internal static IntPtr* Functorch_getDynamicLayerStack() =>
        ((delegate* unmanaged<IntPtr*>)CxxExports.FunctorchGetDynamicLayerStack.Address(FunctorchFeature, FunctorchReason))();

    /// <summary>
    /// <c>at::Tensor addBatchDim(at::Tensor tensor, int64_t dim, int64_t level)</c>: a BatchedTensor whose physical
    /// dimension <paramref name="dim"/> is the batch of level <paramref name="level"/>, written to
    /// <paramref name="result"/>. <paramref name="tensorCopy"/> is the by-value argument's temporary, which MSVC's callee
    /// destroys (<see cref="AbiFacts.Msvc.Functorch.CalleeDestroysByValueArguments"/>). Asserts (throws) for an undefined
    /// tensor, a dimension out of range, or a tensor already batched at this level or a higher one.
    /// </summary>
    internal static void Functorch_addBatchDim(IntPtr* result, IntPtr* tensorCopy, long dim, long level) =>
        ((delegate* unmanaged<IntPtr*, IntPtr*, long, long, IntPtr*>)CxxExports.FunctorchAddBatchDim.Address(FunctorchFeature, FunctorchReason))(result, tensorCopy, dim, level);

    /// <summary>
    /// <c>std::tuple&lt;at::Tensor, std::optional&lt;int64_t&gt;&gt; unwrapTensorAtLevel(const at::Tensor&amp;, int64_t level)</c>
    /// (written to <paramref name="tuple"/>): the value and batch dimension of a tensor batched at exactly that level,
    /// else the tensor itself and no dimension. Never throws.
    /// </summary>
    internal static void Functorch_unwrapTensorAtLevel(byte* tuple, IntPtr tensor, long level) =>
        ((delegate* unmanaged<byte*, IntPtr, long, byte*>)CxxExports.FunctorchUnwrapTensorAtLevel.Address(FunctorchFeature, FunctorchReason))(tuple, tensor, level);

    /// <summary><c>bool isBatchedAtLevel(const at::Tensor&amp;, int64_t level)</c>. Never throws.</summary>
    internal static bool Functorch_isBatchedAtLevel(IntPtr tensor, long level) =>
        ((delegate* unmanaged<IntPtr, long, byte>)CxxExports.FunctorchIsBatchedAtLevel.Address(FunctorchFeature, FunctorchReason))(tensor, level) != 0;

    /// <summary>
    /// <c>at::Tensor makeTensorWrapper(const at::Tensor&amp;, int64_t level, bool is_immutable)</c> (written to
    /// <paramref name="result"/>): the tensor wrapped for the grad transform of that level. Asserts (throws) when the level
    /// is not on the stack, the tensor is undefined, or it is already wrapped at this level or a higher one.
    /// </summary>
    internal static void Functorch_makeTensorWrapper(IntPtr* result, IntPtr tensor, long level, bool isImmutable) =>
        ((delegate* unmanaged<IntPtr*, IntPtr, long, byte, IntPtr*>)CxxExports.FunctorchMakeTensorWrapper.Address(FunctorchFeature, FunctorchReason))(result, tensor, level, isImmutable ? (byte)1 : (byte)0);

    /// <summary>
    /// <c>at::Tensor unwrapIfDead(const at::Tensor&amp;)</c> (written to <paramref name="result"/>): the wrapped value of a
    /// TensorWrapper whose layer has been popped, else the tensor itself. Never throws.
    /// </summary>
    internal static void Functorch_unwrapIfDead(IntPtr* result, IntPtr tensor) =>
        ((delegate* unmanaged<IntPtr*, IntPtr, IntPtr*>)CxxExports.FunctorchUnwrapIfDead.Address(FunctorchFeature, FunctorchReason))(result, tensor);

    /// <summary>
    /// <c>void setInplaceRequiresGradAllowed(bool)</c>: lets <c>requires_grad_()</c> run on a tensor of a functorch level
    /// (as <c>enable_inplace_requires_grad</c> does in PyTorch's grad transform). Sets a thread-local flag; never throws.
    /// </summary>
    internal static void Functorch_setInplaceRequiresGradAllowed(bool allowed) =>
        ((delegate* unmanaged<byte, void>)CxxExports.FunctorchSetInplaceRequiresGradAllowed.Address(FunctorchFeature, FunctorchReason))(allowed ? (byte)1 : (byte)0);

    /// <summary><c>bool getInplaceRequiresGradAllowed()</c>. Reads a thread-local flag.</summary>
    internal static bool Functorch_getInplaceRequiresGradAllowed() =>
        ((delegate* unmanaged<byte>)CxxExports.FunctorchGetInplaceRequiresGradAllowed.Address(FunctorchFeature, FunctorchReason))() != 0;

    /// <summary>
    /// <c>void setVmapFallbackWarningEnabled(bool)</c>: whether vmap's slow per-example fallback (an operator with no
    /// batching rule) prints a warning. A process-wide flag; never throws.
    /// </summary>
    internal static void Functorch_setVmapFallbackWarningEnabled(bool enabled) =>
        ((delegate* unmanaged<byte, void>)CxxExports.FunctorchSetVmapFallbackWarningEnabled.Address(FunctorchFeature, FunctorchReason))(enabled ? (byte)1 : (byte)0);


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
