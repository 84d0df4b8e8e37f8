using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace AutogradKit;

/// <summary>
/// The anomaly metadata AutogradKit's engine override gives libtorch's nodes (<c>make_anomaly_metadata()</c>, slot
/// <see cref="AbiFacts.EngineVtable.MakeAnomalyMetadataSlot"/>): a C++ <c>torch::autograd::AnomalyMetadata</c> subclass
/// built in unmanaged memory — the base's fields as its constructor leaves them (<see cref="AbiFacts.AnomalyMetadata"/>),
/// then a <see cref="GCHandle"/> to the C# forward trace — whose <c>store_stack()</c> captures the C# stack
/// (<see cref="AnomalyTraces.Capture"/>) and whose <c>print_stack(name)</c> hands it to the failing pass
/// (<see cref="AnomalyTraces.Report"/>) instead of printing libtorch's C++ frames. <c>assign_parent</c> and the base
/// destructor stay libtorch's.
/// </summary>
/// <remarks>
/// Thread-safety: libtorch makes and fills metadata on the thread creating a node (only while anomaly mode is on), reads
/// it on the thread running the failing node, and destroys it with the node on any thread; each object is used by one
/// at a time. The first-use check runs once inside <see cref="NativeEngine"/>'s.
/// </remarks>
internal static unsafe partial class NativeAnomalyMetadata
{
    /// <summary>Our object: the base class, then the trace's GCHandle.</summary>
    private static readonly int HandleOffset = EngineAbi.AnomalySize;

    private static IntPtr* s_vtable;
    private static IntPtr* s_baseSlots;

    /// <summary>How many of our metadata objects libtorch holds (for tests).</summary>
    internal static long Live => Interlocked.Read(ref s_live);

    private static long s_live;

    /// <summary>
    /// Builds the subclass vtable from libtorch's (checked by <see cref="CheckBaseFactory"/> first) and returns the C#
    /// <c>make_anomaly_metadata()</c> for the engine's slot.
    /// </summary>
    internal static IntPtr Factory(IntPtr torch)
    {
        IntPtr* baseSlots = EngineAbi.Slots(torch, EngineAbi.AnomalyVtable);
        s_baseSlots = baseSlots;
        IntPtr* slots = EngineAbi.AllocateVtable(EngineAbi.AnomalySlotCount);
        if (EngineAbi.AnomalyTypeInfo is { } baseTypeInfo)
        {
            // Itanium's type_info word; MSVC's locator word stays null (AbiFacts.Msvc.Engine: nothing asks for it).
            slots[-1] = TypeInfo.MakeDerived("N10AutogradKit15AnomalyMetadataE", NativeLibrary.GetExport(torch, baseTypeInfo));
        }
        if (EngineAbi.DestructorSlots == 1)
        {
            slots[0] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr>)&ScalarDeletingDestructor;
        }
        else
        {
            slots[0] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&CompleteDestructor;
            slots[1] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&DeletingDestructor;
        }
        slots[EngineAbi.AnomalyStoreStackSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&StoreStack;
        slots[EngineAbi.AnomalyPrintStackSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, byte*, void>)&PrintStack;
        slots[EngineAbi.AnomalyAssignParentSlot] = baseSlots[EngineAbi.AnomalyAssignParentSlot];
        s_vtable = slots;
        return (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr*>)&Make;
    }

    /// <summary>
    /// <c>make_anomaly_metadata()</c>: a new object, owned by the node's <c>unique_ptr</c>; <c>this</c> and the result
    /// pointer in the ABI's order (<see cref="EngineAbi.ResultOf"/>).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr* Make(IntPtr first, IntPtr second)
    {
        IntPtr* result = EngineAbi.ResultOf(first, second);
        byte* self = (byte*)NativeMethods.OperatorNew((nuint)(HandleOffset + IntPtr.Size));
        new Span<byte>(self, HandleOffset + IntPtr.Size).Clear();
        *(IntPtr**)self = s_vtable;
        EngineAbi.InitEmptyString(self + EngineAbi.AnomalyTracebackOffset);
        Interlocked.Increment(ref s_live);
        *result = (IntPtr)self;
        return result;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void StoreStack(IntPtr self)
    {
        try
        {
            string trace = AnomalyTraces.Capture();
            ref IntPtr slot = ref *(IntPtr*)((byte*)self + HandleOffset);
            if (slot != IntPtr.Zero)
            {
                GCHandle.FromIntPtr(slot).Free();
            }
            slot = GCHandle.ToIntPtr(GCHandle.Alloc(trace));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // No trace then; never unwind into libtorch.
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void PrintStack(IntPtr self, byte* name)
    {
        try
        {
            IntPtr slot = *(IntPtr*)((byte*)self + HandleOffset);
            string? trace = slot == IntPtr.Zero ? null : (string?)GCHandle.FromIntPtr(slot).Target;
            AnomalyTraces.Report(Encoding.UTF8.GetString(EngineAbi.StringBytes(name)), trace);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The error still reaches the caller, without its trace.
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void CompleteDestructor(IntPtr self) => Destroy(self);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void DeletingDestructor(IntPtr self)
    {
        Destroy(self);
        NativeMethods.OperatorDelete(self);
    }

    /// <summary>MSVC's one destructor slot: destroys, and frees when <c>flags &amp; 1</c>; returns <c>this</c>.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr ScalarDeletingDestructor(IntPtr self, uint flags)
    {
        Destroy(self);
        return NativeMethods.FreeIfDeleting(self, flags);
    }

    private static void Destroy(IntPtr self)
    {
        ref IntPtr slot = ref *(IntPtr*)((byte*)self + HandleOffset);
        if (slot != IntPtr.Zero)
        {
            GCHandle.FromIntPtr(slot).Free();
            slot = IntPtr.Zero;
        }
        Interlocked.Decrement(ref s_live);
        // The base destructor (not deleting) frees traceback_ and parent_ (libtorch's own members).
        EngineAbi.Destroy(s_baseSlots, self, delete: false);
    }

    /// <summary>
    /// Calls the base engine's <c>make_anomaly_metadata()</c> (slot <paramref name="factory"/>) and checks the object it
    /// returns against <see cref="AbiFacts.AnomalyMetadata"/>, then deletes it; null when everything matches.
    /// </summary>
    internal static string? CheckBaseFactory(IntPtr torch, IntPtr factory, IntPtr engine)
    {
        IntPtr made = EngineAbi.CallReturningPointer(factory, engine);
        if (made == IntPtr.Zero)
        {
            return $"vtable slot {EngineAbi.MakeAnomalyMetadataSlot} made no AnomalyMetadata.";
        }
        IntPtr* vptr = *(IntPtr**)made;
        if (vptr != EngineAbi.Slots(torch, EngineAbi.AnomalyVtable))
        {
            // Not ours to delete through an unknown table: leaked, the process is refused the feature anyway.
            return $"vtable slot {EngineAbi.MakeAnomalyMetadataSlot} made an object that is not an AnomalyMetadata.";
        }
        string? failure = null;
        foreach ((int slot, string symbol) in EngineAbi.AnomalyExportedSlots)
        {
            if (!NativeLibrary.TryGetExport(torch, symbol, out IntPtr address) || vptr[slot] != address)
            {
                failure ??= $"AnomalyMetadata's vtable slot {slot} is not {symbol}.";
            }
        }
        if (!EngineAbi.IsEmptyString((byte*)made + EngineAbi.AnomalyTracebackOffset)
            || *(IntPtr*)((byte*)made + EngineAbi.AnomalyParentOffset) != IntPtr.Zero
            || *(IntPtr*)((byte*)made + EngineAbi.AnomalyParentOffset + AbiFacts.SharedPtr.ControlOffset) != IntPtr.Zero)
        {
            failure ??= "a new AnomalyMetadata's traceback_ and parent_ are not where libtorch 2.10's header puts them.";
        }
        EngineAbi.Destroy(vptr, made, delete: true);
        return failure;
    }
}
