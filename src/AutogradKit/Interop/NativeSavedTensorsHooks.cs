using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The C++ <c>torch::autograd::SavedVariableHooks</c> objects AutogradKit gives libtorch, built in unmanaged memory:
/// a vtable pointer and a <see cref="GCHandle"/> to the managed state of one saved tensor (its scope's functions, the
/// packed object). libtorch's <c>SavedVariable</c> owns each through a <c>std::unique_ptr</c> and deletes it with the
/// graph node (or when backward frees the node's saved tensors).
/// </summary>
/// <remarks>
/// <para>A C# exception never unwinds into libtorch. One thrown by <c>pack</c> is kept by its scope
/// (<see cref="SavedTensorsHooksEntry.RecordPackError"/>) and the operation is made to fail: the tensor's version counter
/// is bumped, so libtorch's check after <c>call_pack_hook</c> raises its catchable "A saved tensor pack hook is
/// modifying its input in place" error (TorchSharp turns it into an exception in the operation's caller; the tensor
/// keeps the extra version). One thrown by <c>unpack</c> is recorded for the backward pass that ran it
/// (<see cref="HookErrors.Record"/>) and libtorch gets an empty tensor on the meta device, which the backward formula or the engine's
/// gradient check rejects; the pass then rethrows the original exception.</para>
/// <para>Thread-safety: libtorch calls pack on the thread running the operation, unpack on the thread running backward,
/// and the destructor on whatever thread frees the node (the finalizer's included); each object is used by one at a time.</para>
/// </remarks>
internal static unsafe class NativeSavedTensorsHooks
{
    // Built on the first Create, which only the installed engine override calls: on Linux the vtable needs libstdc++'s
    // type_info, and a type initializer that failed off Linux would throw across native frames whenever a test merely
    // read Live (under Wine 8.0 that later kills the process in exception dispatch).
    private static readonly Lazy<IntPtr> Vtable = new(() => (IntPtr)BuildVtable(), LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lazy<IntPtr> FailureImpl = new(MakeFailureImpl, LazyThreadSafetyMode.ExecutionAndPublication);

    private static long s_live;

    /// <summary>How many hooks objects libtorch holds (saved tensors packed by a scope and not yet freed), for tests.</summary>
    internal static long Live => Interlocked.Read(ref s_live);

    private sealed class SavedSlot(SavedTensorsHooksEntry entry)
    {
        public readonly SavedTensorsHooksEntry Entry = entry;
        public Tensor? Given;
        public object? Packed;
        public bool PackFailed;
    }

    /// <summary>A new hooks object (owned by the caller, libtorch's <c>unique_ptr</c>) for one tensor saved under <paramref name="entry"/>.</summary>
    internal static IntPtr Create(SavedTensorsHooksEntry entry)
    {
        IntPtr self = NativeMethods.OperatorNew((nuint)(2 * IntPtr.Size));
        ((IntPtr*)self)[0] = Vtable.Value;
        ((IntPtr*)self)[1] = GCHandle.ToIntPtr(GCHandle.Alloc(new SavedSlot(entry)));
        Interlocked.Increment(ref s_live);
        return self;
    }

    private static SavedSlot SlotOf(IntPtr self) => (SavedSlot)GCHandle.FromIntPtr(((IntPtr*)self)[1]).Target!;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void CallPackHook(IntPtr self, IntPtr tensor)
    {
        SavedSlot slot = SlotOf(self);
        try
        {
            Interlocked.Increment(ref slot.Entry._packCount);
            if (slot.Entry.Tensorless)
            {
                slot.Packed = slot.Entry.Pack!(null!);
                return;
            }
            IntPtr handle = NativeMethods.THSTensor_alias(tensor);
            if (handle == IntPtr.Zero)
            {
                throw Ensure.PendingError("could not wrap the tensor passed to a pack hook");
            }
            // Ours to dispose when the saved tensor is freed; the pack function may keep it as the packed object.
            Tensor given = Tensor.UnsafeCreateTensor(handle).DetachFromDisposeScope();
            if (!given.is_leaf)
            {
                // A node's own output, held through a GCHandle the node owns, would keep the graph alive forever (a
                // cycle no collector sees): a non-leaf is handed over detached, as libtorch saves outputs itself.
                // Unpacking gives it its grad_fn back (SavedVariable::unpack).
                Tensor detached = given.detach().DetachFromDisposeScope();
                given.Dispose();
                given = detached;
            }
            slot.Given = given;
            slot.Packed = slot.Entry.Pack!(slot.Given);
        }
        catch (Exception e)
        {
            slot.PackFailed = true;
            slot.Entry.RecordPackError(e);
            // libtorch compares the version before and after call_pack_hook: a changed one fails the operation with a
            // catchable error, the only way out of it that does not unwind through these frames.
            NativeMethods.Autograd_bump_version(tensor);
        }
    }

    /// <summary><c>call_unpack_hook()</c>: <c>this</c> and the result pointer in the ABI's order (<see cref="EngineAbi.ResultOf"/>).</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr* CallUnpackHook(IntPtr first, IntPtr second)
    {
        IntPtr* result = EngineAbi.ResultOf(first, second);
        IntPtr self = EngineAbi.ThisOf(first, second);
        IntPtr impl;
        try
        {
            SavedSlot slot = SlotOf(self);
            if (slot.PackFailed)
            {
                throw new AutogradException("The pack hook of this saved tensor failed; it cannot be unpacked.");
            }
            Tensor? unpacked = slot.Entry.Unpack!(slot.Packed!);
            if (unpacked is null)
            {
                // PyTorch's TypeError for an unpack hook returning None.
                throw new AutogradException("Output of saved tensor unpack_hook expected to be a Tensor but got result of type NoneType");
            }
            ObjectDisposedException.ThrowIf(unpacked.IsInvalid, unpacked);
            impl = StdFunctionHooks.TakeImpl(NativeMethods.THSTensor_alias(unpacked.Handle));
            GC.KeepAlive(unpacked);
            if (slot.Entry.OwnsResults)
            {
                unpacked.Dispose();
            }
        }
        catch (Exception e)
        {
            HookErrors.Record(e);
            impl = FailureTensorImpl();
        }
        *result = impl;
        return result;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void CompleteDestructor(IntPtr self) => Release(self);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void DeletingDestructor(IntPtr self)
    {
        Release(self);
        NativeMethods.OperatorDelete(self);
    }

    /// <summary>MSVC's one destructor slot: destroys, and frees when <c>flags &amp; 1</c>; returns <c>this</c>.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr ScalarDeletingDestructor(IntPtr self, uint flags)
    {
        Release(self);
        return NativeMethods.FreeIfDeleting(self, flags);
    }

    /// <summary><c>retrieve_unpack_hook_data()</c>: compiled autograd's question, answered with an empty optional.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr* RetrieveUnpackHookData(IntPtr first, IntPtr second)
    {
        IntPtr* result = EngineAbi.ResultOf(first, second);
        new Span<byte>(result, EngineAbi.RetrievedDataSize).Clear();
        return result;
    }

    private static void Release(IntPtr self)
    {
        IntPtr word = ((IntPtr*)self)[1];
        if (word == IntPtr.Zero)
        {
            return;
        }
        ((IntPtr*)self)[1] = IntPtr.Zero;
        Interlocked.Decrement(ref s_live);
        GCHandle handle = GCHandle.FromIntPtr(word);
        var slot = (SavedSlot)handle.Target!;
        handle.Free();
        try
        {
            slot.Given?.Dispose();
            if (slot.Entry.OwnsResults)
            {
                (slot.Packed as IDisposable)?.Dispose();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A destructor has no one to tell; never unwind into libtorch.
        }
    }

    /// <summary>
    /// A TensorImpl* (+1 reference) every backward formula or the engine's gradient check rejects: an empty tensor on
    /// the meta device, so that a failed unpack ends the pass instead of computing with a tensor the hook never gave.
    /// </summary>
    private static IntPtr FailureTensorImpl()
    {
        try
        {
            IntPtr impl = FailureImpl.Value;
            return StdFunctionHooks.TakeImpl(NativeMethods.THSTensor_alias((IntPtr)(&impl)));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return StdFunctionHooks.UndefinedTensorImpl;
        }
    }

    private static IntPtr MakeFailureImpl()
    {
        // Kept for the process: one empty meta tensor whose impl every failed unpack shares (+1 each).
        using Tensor failure = torch.empty([0], dtype: ScalarType.Float32, device: new Device(DeviceType.META)).DetachFromDisposeScope();
        return StdFunctionHooks.TakeImpl(NativeMethods.THSTensor_alias(failure.Handle));
    }

    private static IntPtr* BuildVtable()
    {
        IntPtr* slots = EngineAbi.AllocateVtable(EngineAbi.HooksSlotCount);
        if (!CxxExports.IsMsvc)
        {
            // Itanium's type_info word; MSVC's locator word stays null (AbiFacts.Msvc.Engine: nothing asks for it).
            slots[-1] = TypeInfo.Make("N10AutogradKit17SavedTensorsHooksE");
        }
        slots[EngineAbi.HooksPackSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void>)&CallPackHook;
        slots[EngineAbi.HooksUnpackSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr*>)&CallUnpackHook;
        if (EngineAbi.DestructorSlots == 1)
        {
            slots[EngineAbi.HooksDestructorSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr>)&ScalarDeletingDestructor;
        }
        else
        {
            slots[EngineAbi.HooksDestructorSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&CompleteDestructor;
            slots[EngineAbi.HooksDestructorSlot + 1] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&DeletingDestructor;
        }
        slots[EngineAbi.HooksRetrieveSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr*>)&RetrieveUnpackHookData;
        return slots;
    }
}
