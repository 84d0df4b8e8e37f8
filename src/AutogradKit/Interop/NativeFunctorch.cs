using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// libtorch's functorch transforms, for <see cref="TorchFunc"/>: pushing and popping dynamic layers (vmap and grad
/// levels), batching a tensor at a level and taking the batch back out, wrapping a tensor for a grad level and
/// unwrapping it once its level is gone. These are the C++ functions behind PyTorch's <c>_vmap_increment_nesting</c>,
/// <c>_add_batch_dim</c>, <c>_remove_batch_dim</c>, <c>_grad_increment_nesting</c>, <c>_wrap_for_grad</c> and
/// <c>_unwrap_for_grad</c> (torch/csrc/functorch/init.cpp), which are pybind helpers and not exported.
/// </summary>
/// <remarks>
/// <para>Every call here is a direct C++ export with no error channel, so every argument is checked before it (a
/// libtorch error would end the process): a layer is popped only by the code that pushed it, in LIFO order checked
/// against a per-thread depth, and a tensor is batched or wrapped only at the top level, in range, and when it is not
/// already batched at that level or above (a tensor that escaped an earlier transform).</para>
/// <para>The layer stack is libtorch's and thread-local, like the depth kept here. Layout and calling facts
/// (<see cref="AbiFacts.Functorch"/> on Linux x64, <see cref="AbiFacts.Msvc.Functorch"/> on Windows x64) are checked
/// once, on a fresh thread; on a mismatch every call throws <see cref="NotSupportedException"/>, and on a platform
/// with neither <see cref="PlatformNotSupportedException"/>. The two platforms share this code and differ only in
/// the facts (<see cref="Facts"/>).</para>
/// <para>Thread-safety: every method acts on the calling thread's stack only; safe from any thread.</para>
/// </remarks>
internal static unsafe class NativeFunctorch
{
    private static readonly Lazy<Exception?> Verified = new(
        () => FirstUseCheck.Run(VerifyOrFailure, "AutogradKit functorch layout check"),
        LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>This platform's layout and calling facts.</summary>
    private static readonly Facts F = CxxExports.IsMsvc ? Facts.Msvc : Facts.Itanium;

    /// <summary>How many layers this thread has pushed and not popped: libtorch's stack depth, as nothing else pushes.</summary>
    [ThreadStatic]
    private static int s_depth;

    /// <summary>The highest level any thread has pushed: a tensor that escaped a transform is batched at most this high.</summary>
    private static int s_highestLevel;

    /// <summary>The calling thread's number of open transforms (0 outside every transform).</summary>
    public static int Depth => s_depth;

    /// <summary>Pushes a vmap layer over a batch of <paramref name="batchSize"/>; returns its level.</summary>
    /// <exception cref="NotSupportedException">The first-use check failed on this libtorch.</exception>
    public static int PushVmap(long batchSize, Randomness randomness)
    {
        EnsureSupported();
        if (batchSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "A batch size is not negative.");
        }
        int type = randomness switch
        {
            Randomness.Error => AbiFacts.Functorch.RandomnessError,
            Randomness.Same => AbiFacts.Functorch.RandomnessSame,
            Randomness.Different => AbiFacts.Functorch.RandomnessDifferent,
            _ => throw new ArgumentOutOfRangeException(nameof(randomness), randomness, "Not a Randomness."),
        };
        var size = new OptionalSymInt { Value = batchSize, Engaged = 1 };
        ulong engagedRandomness = (uint)type | (1UL << 32);
        long level = NativeMethods.Functorch_initAndPushDynamicLayer(AbiFacts.Functorch.TransformVmap, &size, engagedRandomness, 0, 0, 0);
        return Pushed(level);
    }

    /// <summary>Pushes a grad layer that restores <paramref name="previousGradMode"/> below it; returns its level.</summary>
    /// <exception cref="NotSupportedException">The first-use check failed on this libtorch.</exception>
    public static int PushGrad(bool previousGradMode)
    {
        EnsureSupported();
        var none = default(OptionalSymInt);
        ushort engagedGradMode = (ushort)((previousGradMode ? 1 : 0) | 0x100);
        long level = NativeMethods.Functorch_initAndPushDynamicLayer(AbiFacts.Functorch.TransformGrad, &none, 0, engagedGradMode, 0, 0);
        return Pushed(level);
    }

    private static int Pushed(long level)
    {
        s_depth++;
        if (level != s_depth)
        {
            // Something else pushed layers on this thread: pop ours again and refuse, before anything runs under it.
            PopChecked((int)level, expectedTransform: -1);
            throw new InvalidOperationException($"libtorch's functorch layer stack has {level - 1} layers where AutogradKit pushed {s_depth}.");
        }
        int highest;
        do
        {
            highest = Volatile.Read(ref s_highestLevel);
        }
        while (level > highest && Interlocked.CompareExchange(ref s_highestLevel, (int)level, highest) != highest);
        return (int)level;
    }

    /// <summary>Pops the vmap layer <paramref name="level"/>, the top one, pushed by <see cref="PushVmap"/>.</summary>
    public static void PopVmap(int level) => Pop(level, AbiFacts.Functorch.TransformVmap);

    /// <summary>Pops the grad layer <paramref name="level"/>, the top one, pushed by <see cref="PushGrad"/>; its wrappers become dead.</summary>
    public static void PopGrad(int level) => Pop(level, AbiFacts.Functorch.TransformGrad);

    private static void Pop(int level, int transform)
    {
        if (level != s_depth || level < 1)
        {
            throw new InvalidOperationException($"Popping functorch level {level} while {s_depth} levels are open on this thread.");
        }
        int onStack = StackDepth();
        if (onStack != level)
        {
            // popDynamicLayerAndDeleteMetadata would assert (a C++ exception) on a stack that lost our layer. libtorch
            // puts a layer back in a guard's destructor while an error unwinds (WithoutTop, DynamicLayer.cpp); a C++
            // runtime that skips it (Wine 8.0's) leaves fewer layers: follow the stack and refuse, never call.
            s_depth = Math.Min(s_depth, onStack);
            throw new InvalidOperationException($"libtorch's functorch layer stack has {onStack} layers where AutogradKit pushed {level}; layer {level} was not popped.");
        }
        PopChecked(level, transform);
    }

    /// <summary>The number of layers on this thread's libtorch stack (<c>getDynamicLayerStack().size()</c>).</summary>
    private static int StackDepth()
    {
        IntPtr* vector = NativeMethods.Functorch_getDynamicLayerStack();
        return (int)((vector[1] - vector[0]) / F.LayerSize);
    }

    private static void PopChecked(int level, int expectedTransform)
    {
        byte* layer = stackalloc byte[F.LayerBufferSize];
        NativeMethods.Functorch_popDynamicLayerAndDeleteMetadata(layer);
        s_depth--;
        long id = NativeMethods.Functorch_DynamicLayer_layerId(layer);
        int key = NativeMethods.Functorch_DynamicLayer_key(layer);
        IntPtr control = *(IntPtr*)(layer + F.LayerLifeHandleOffset + F.SharedPtrControlOffset);
        if (control != IntPtr.Zero)
        {
            SharedNodeRef.Release(control);
        }
        if (id != level || (expectedTransform >= 0 && key != expectedTransform))
        {
            throw new InvalidOperationException($"Popped functorch layer {id} of transform {key}, expected layer {level} of transform {expectedTransform}.");
        }
    }

    /// <summary>
    /// <c>_add_batch_dim(tensor, dim, level)</c>: <paramref name="tensor"/> seen with its dimension <paramref name="dim"/>
    /// hidden as the batch of <paramref name="level"/>, which must be the top level (a vmap one).
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is batched at this level or above already (it escaped an earlier vmap).</exception>
    public static Tensor AddBatchDim(Tensor tensor, long dim, int level)
    {
        long rank = tensor.dim();
        if (dim < 0 || dim >= rank)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"A batch dimension of a {rank}-dimensional tensor.");
        }
        CheckTopLevel(level);
        CheckNotEscaped(tensor, level);
        IntPtr copy = NativeMethods.THSTensor_alias(tensor.Handle);
        if (copy == IntPtr.Zero)
        {
            throw new ArgumentException("An undefined tensor cannot be batched.", nameof(tensor));
        }
        IntPtr result = NativeMethods.OperatorNew((nuint)IntPtr.Size);
        try
        {
            NativeMethods.Functorch_addBatchDim((IntPtr*)result, (IntPtr*)copy, dim, level);
        }
        finally
        {
            ReleaseByValueArgument(copy);
            GC.KeepAlive(tensor);
        }
        return Tensor.UnsafeCreateTensor(result);
    }

    /// <summary>
    /// Releases the temporary a by-value <c>at::Tensor</c> argument was passed in (a TorchSharp handle): destroyed by
    /// the caller under the Itanium ABI, by the callee under MSVC's, whose caller frees only the memory.
    /// </summary>
    private static void ReleaseByValueArgument(IntPtr temporary)
    {
        if (F.CalleeDestroysByValueArguments)
        {
            NativeMethods.OperatorDelete(temporary);
        }
        else
        {
            NativeMethods.THSTensor_dispose(temporary);
        }
    }

    /// <summary>
    /// The value and batch dimension of <paramref name="tensor"/> when it is batched at exactly <paramref name="level"/>;
    /// else null (the tensor does not vary along that batch).
    /// </summary>
    public static (Tensor Value, long Dim)? UnwrapAtLevel(Tensor tensor, int level)
    {
        EnsureSupported();
        byte* tuple = stackalloc byte[F.UnwrapSize];
        NativeMethods.Functorch_unwrapTensorAtLevel(tuple, tensor.Handle, level);
        GC.KeepAlive(tensor);
        // The tuple's tensor is moved into a handle of its own: its one reference changes owner, so no destructor runs.
        IntPtr handle = NativeMethods.OperatorNew((nuint)IntPtr.Size);
        *(IntPtr*)handle = *(IntPtr*)(tuple + F.UnwrapTensorOffset);
        var value = Tensor.UnsafeCreateTensor(handle);
        if (tuple[F.UnwrapDimEngagedOffset] == 0)
        {
            value.Dispose();
            return null;
        }
        return (value, *(long*)(tuple + F.UnwrapDimOffset));
    }

    /// <summary>
    /// <c>_wrap_for_grad(tensor, level)</c>: <paramref name="tensor"/> wrapped for the grad transform of
    /// <paramref name="level"/>, which must be the top level (a grad one). Dead wrappers of earlier transforms are
    /// unwrapped first, as libtorch does when such a tensor reaches an operator.
    /// </summary>
    public static Tensor WrapForGrad(Tensor tensor, int level)
    {
        CheckTopLevel(level);
        using Tensor alive = UnwrapDead(tensor);
        IntPtr result = NativeMethods.OperatorNew((nuint)IntPtr.Size);
        NativeMethods.Functorch_makeTensorWrapper((IntPtr*)result, alive.Handle, level, isImmutable: false);
        GC.KeepAlive(alive);
        return Tensor.UnsafeCreateTensor(result);
    }

    /// <summary>
    /// PyTorch's <c>_create_differentiable</c>: <c>requires_grad_()</c> on a tensor wrapped for the top grad level,
    /// with functorch's in-place requires-grad guard lifted for the call only.
    /// </summary>
    public static void MakeDifferentiable(Tensor wrapped)
    {
        EnsureSupported();
        bool before = NativeMethods.Functorch_getInplaceRequiresGradAllowed();
        NativeMethods.Functorch_setInplaceRequiresGradAllowed(true);
        try
        {
            Ensure.Run(() => wrapped.requires_grad_(true));
        }
        finally
        {
            NativeMethods.Functorch_setInplaceRequiresGradAllowed(before);
        }
    }

    /// <summary>
    /// <paramref name="tensor"/> without the wrappers of grad levels that have been popped (PyTorch's
    /// <c>_unwrap_for_grad</c> of a level, taken just after the level is gone); a new handle.
    /// </summary>
    public static Tensor UnwrapDead(Tensor tensor)
    {
        EnsureSupported();
        IntPtr current = NativeMethods.THSTensor_alias(tensor.Handle);
        GC.KeepAlive(tensor);
        if (current == IntPtr.Zero)
        {
            throw new ArgumentException("An undefined tensor cannot be transformed.", nameof(tensor));
        }
        while (true)
        {
            IntPtr next = NativeMethods.OperatorNew((nuint)IntPtr.Size);
            NativeMethods.Functorch_unwrapIfDead((IntPtr*)next, current);
            bool same = *(IntPtr*)next == *(IntPtr*)current;
            NativeMethods.THSTensor_dispose(current);
            current = next;
            if (same)
            {
                return Tensor.UnsafeCreateTensor(current);
            }
        }
    }

    private static void CheckTopLevel(int level)
    {
        EnsureSupported();
        if (level < 1 || level != s_depth)
        {
            throw new InvalidOperationException($"functorch level {level} is not the top of this thread's {s_depth} open levels.");
        }
    }

    private static void CheckNotEscaped(Tensor tensor, int level)
    {
        int highest = Volatile.Read(ref s_highestLevel);
        for (int l = level; l <= highest; l++)
        {
            if (NativeMethods.Functorch_isBatchedAtLevel(tensor.Handle, l))
            {
                GC.KeepAlive(tensor);
                throw new ArgumentException(
                    "vmap: a tensor batched by an earlier vmap (one that escaped its function) cannot be an input of another vmap.",
                    nameof(tensor));
            }
        }
        GC.KeepAlive(tensor);
    }

    private static void EnsureSupported()
    {
        if (Verified.Value is { } failure)
        {
            throw failure;
        }
    }

    private static Exception? VerifyOrFailure()
    {
        if (PlatformSupport.RefusedOnUnverifiedAbi("torch.func transforms", "they call libtorch's functorch C++ API directly") is { } refused)
        {
            return refused;
        }
        try
        {
            LibTorchLoader.EnsureLoaded();
            string? mismatch = VerifyVmapLayer() ?? VerifyGradLayer();
            // PyTorch's Python side never shows the fallback's warning (its vmap decomposes those operators instead).
            NativeMethods.Functorch_setVmapFallbackWarningEnabled(false);
            return mismatch is null
                ? null
                : new NotSupportedException($"torch.func transforms need {F.VerifiedOn}; the first-use check of libtorch's functorch failed: {mismatch}");
        }
        catch (PlatformNotSupportedException e)
        {
            // An export missing from this libtorch: refused by CxxExports before any call.
            return e;
        }
        catch (Exception e) when (e is ExternalException or InvalidOperationException)
        {
            return new NotSupportedException($"torch.func transforms need {F.VerifiedOn}; the first-use check of libtorch's functorch failed.", e);
        }
    }

    /// <summary>
    /// A vmap layer over a batch of 3 on this fresh thread (level 1): its life handle found where the layout says,
    /// dead after the pop; a tensor batched at dimension 1 comes back as its own value and dimension 1; the by-value
    /// argument's one reference consumed by <c>addBatchDim</c> (moved into the BatchedTensor, whose value is then the
    /// only owner), so that releasing the temporary as <see cref="Facts.CalleeDestroysByValueArguments"/> says neither
    /// leaks nor frees it twice.
    /// </summary>
    private static string? VerifyVmapLayer()
    {
        using var scope = torch.NewDisposeScope();
        Tensor known = torch.arange(6, ScalarType.Float32).reshape(2, 3);
        IntPtr knownImpl = *(IntPtr*)known.Handle;
        var size = new OptionalSymInt { Value = 3, Engaged = 1 };
        long level = NativeMethods.Functorch_initAndPushDynamicLayer(AbiFacts.Functorch.TransformVmap, &size, (uint)AbiFacts.Functorch.RandomnessError | (1UL << 32), 0, 0, 0);
        IntPtr* life = stackalloc IntPtr[2];
        life[0] = life[1] = IntPtr.Zero;
        byte* layer = stackalloc byte[F.LayerBufferSize];
        string? mismatch = null;
        if (level != 1)
        {
            mismatch = $"a fresh thread's first layer has id {level}";
        }
        else
        {
            IntPtr handle = NativeMethods.Functorch_getLifeHandleForLevel(1);
            IntPtr* stack = NativeMethods.Functorch_getDynamicLayerStack();
            if (stack[1] - stack[0] != F.LayerSize || handle != stack[0] + F.LayerLifeHandleOffset)
            {
                mismatch = $"getDynamicLayerStack()'s vector spans {stack[1] - stack[0]} bytes for one layer, life handle at {handle - stack[0]}";
            }
            life[0] = *(IntPtr*)handle;
            life[1] = *(IntPtr*)(handle + F.SharedPtrControlOffset);
            // THSTensor_alias copies the at::Tensor: a second reference to the known TensorImpl.
            IntPtr copy = NativeMethods.THSTensor_alias(known.Handle);
            int countBefore = StrongCount(knownImpl);
            IntPtr batchedHandle = NativeMethods.OperatorNew((nuint)IntPtr.Size);
            NativeMethods.Functorch_addBatchDim((IntPtr*)batchedHandle, (IntPtr*)copy, 1, 1);
            int countAfter = StrongCount(knownImpl);
            ReleaseByValueArgument(copy);
            using var batched = Tensor.UnsafeCreateTensor(batchedHandle);
            byte* tuple = stackalloc byte[F.UnwrapSize];
            NativeMethods.Functorch_unwrapTensorAtLevel(tuple, batched.Handle, 1);
            IntPtr valueImpl = *(IntPtr*)(tuple + F.UnwrapTensorOffset);
            if (mismatch is not null)
            {
                // Reported below, after the pop.
            }
            else if (countBefore != 2 || countAfter != 2)
            {
                mismatch = $"addBatchDim's by-value argument: strong count {countBefore} before the call and {countAfter} after, expected 2 and 2";
            }
            else if (valueImpl != knownImpl || *(long*)(tuple + F.UnwrapDimOffset) != 1 || tuple[F.UnwrapDimEngagedOffset] != 1)
            {
                mismatch = "unwrapTensorAtLevel's tuple is not laid out as expected";
            }
            else
            {
                // The tuple's reference to the known tensor is handed to a handle of its own and released.
                IntPtr owned = NativeMethods.OperatorNew((nuint)IntPtr.Size);
                *(IntPtr*)owned = valueImpl;
                NativeMethods.THSTensor_dispose(owned);
                if (!batched.shape.SequenceEqual([2L]))
                {
                    mismatch = $"a [2, 3] tensor batched at dimension 1 has shape [{string.Join(", ", batched.shape)}]";
                }
            }
        }
        NativeMethods.Functorch_popDynamicLayerAndDeleteMetadata(layer);
        if (mismatch is not null)
        {
            return mismatch;
        }
        IntPtr layerAlive = *(IntPtr*)(layer + F.LayerLifeHandleOffset);
        IntPtr layerControl = *(IntPtr*)(layer + F.LayerLifeHandleOffset + F.SharedPtrControlOffset);
        if (NativeMethods.Functorch_DynamicLayer_layerId(layer) != 1 || NativeMethods.Functorch_DynamicLayer_key(layer) != AbiFacts.Functorch.TransformVmap)
        {
            mismatch = "the popped layer's id or transform";
        }
        else if (layerAlive != life[0] || layerControl != life[1])
        {
            mismatch = "the popped layer's life handle is not at the expected offset";
        }
        else if (*(byte*)life[0] != 0 || SharedNodeRef.UseCount(life[1]) != 1)
        {
            mismatch = "the popped layer's life handle is not dead with one owner";
        }
        else
        {
            SharedNodeRef.Release(layerControl);
        }
        return mismatch;
    }

    /// <summary>A grad layer (level 1 again): a tensor wrapped at it is a new tensor, and its own value once the layer is popped.</summary>
    private static string? VerifyGradLayer()
    {
        using var scope = torch.NewDisposeScope();
        Tensor known = torch.ones(2, ScalarType.Float32);
        IntPtr knownImpl = *(IntPtr*)known.Handle;
        var none = default(OptionalSymInt);
        long level = NativeMethods.Functorch_initAndPushDynamicLayer(AbiFacts.Functorch.TransformGrad, &none, 0, 0x101, 0, 0);
        byte* layer = stackalloc byte[F.LayerBufferSize];
        IntPtr wrapped = IntPtr.Zero;
        if (level == 1)
        {
            wrapped = NativeMethods.OperatorNew((nuint)IntPtr.Size);
            NativeMethods.Functorch_makeTensorWrapper((IntPtr*)wrapped, known.Handle, 1, false);
        }
        NativeMethods.Functorch_popDynamicLayerAndDeleteMetadata(layer);
        IntPtr control = *(IntPtr*)(layer + F.LayerLifeHandleOffset + F.SharedPtrControlOffset);
        bool keyRight = NativeMethods.Functorch_DynamicLayer_key(layer) == AbiFacts.Functorch.TransformGrad;
        if (level != 1 || !keyRight)
        {
            return $"a grad layer pushed as id {level}";
        }
        // The wrapper shares the layer's life handle: two owners until the wrapper goes.
        bool shared = SharedNodeRef.UseCount(control) == 2;
        using var wrapper = Tensor.UnsafeCreateTensor(wrapped);
        IntPtr wrapperImpl = *(IntPtr*)wrapped;
        using Tensor unwrapped = UnwrapDeadUnchecked(wrapper);
        bool unwrappedRight = *(IntPtr*)unwrapped.Handle == knownImpl && wrapperImpl != knownImpl;
        wrapper.Dispose();
        SharedNodeRef.Release(control);
        return !shared ? "a TensorWrapper does not share its layer's life handle"
            : !unwrappedRight ? "unwrapIfDead does not give a dead wrapper's value"
            : null;
    }

    private static Tensor UnwrapDeadUnchecked(Tensor tensor)
    {
        IntPtr next = NativeMethods.OperatorNew((nuint)IntPtr.Size);
        NativeMethods.Functorch_unwrapIfDead((IntPtr*)next, tensor.Handle);
        GC.KeepAlive(tensor);
        return Tensor.UnsafeCreateTensor(next);
    }

    /// <summary>The strong count of a live <c>TensorImpl</c> (<see cref="AbiFacts.IntrusivePtr"/>).</summary>
    private static int StrongCount(IntPtr impl) => Volatile.Read(ref *(int*)(impl + AbiFacts.IntrusivePtr.StrongCountOffset));

    /// <summary>
    /// The facts one platform's functorch calls depend on (<see cref="AbiFacts.Functorch"/>,
    /// <see cref="AbiFacts.Msvc.Functorch"/>), so that one code path serves both ABIs.
    /// </summary>
    /// <remarks>Immutable; thread-safe.</remarks>
    private sealed record Facts(
        string VerifiedOn,
        int LayerLifeHandleOffset,
        int LayerBufferSize,
        int LayerSize,
        int SharedPtrControlOffset,
        int UnwrapDimOffset,
        int UnwrapDimEngagedOffset,
        int UnwrapTensorOffset,
        int UnwrapSize,
        bool CalleeDestroysByValueArguments)
    {
        /// <summary>Linux x64: GCC and libstdc++.</summary>
        public static readonly Facts Itanium = new(
            AbiFacts.VerifiedOn,
            AbiFacts.Functorch.LayerLifeHandleOffset,
            AbiFacts.Functorch.LayerBufferSize,
            AbiFacts.Functorch.LayerSize,
            AbiFacts.SharedPtr.ControlOffset,
            AbiFacts.Functorch.UnwrapDimOffset,
            AbiFacts.Functorch.UnwrapDimEngagedOffset,
            AbiFacts.Functorch.UnwrapTensorOffset,
            AbiFacts.Functorch.UnwrapSize,
            AbiFacts.Functorch.CalleeDestroysByValueArguments);

        /// <summary>Windows x64: MSVC and its STL.</summary>
        public static readonly Facts Msvc = new(
            AbiFacts.Msvc.VerifiedOn,
            AbiFacts.Msvc.Functorch.LayerLifeHandleOffset,
            AbiFacts.Msvc.Functorch.LayerBufferSize,
            AbiFacts.Msvc.Functorch.LayerSize,
            AbiFacts.Msvc.SharedPtr.ControlOffset,
            AbiFacts.Msvc.Functorch.UnwrapDimOffset,
            AbiFacts.Msvc.Functorch.UnwrapDimEngagedOffset,
            AbiFacts.Msvc.Functorch.UnwrapTensorOffset,
            AbiFacts.Msvc.Functorch.UnwrapSize,
            AbiFacts.Msvc.Functorch.CalleeDestroysByValueArguments);
    }
}
