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
    private const string VtableSymbol = "_ZTVN5torch8autograd15AnomalyMetadataE";
    private const string TypeInfoSymbol = "_ZTIN5torch8autograd15AnomalyMetadataE";

    /// <summary>Our object: the base class, then the trace's GCHandle.</summary>
    private const int HandleOffset = AbiFacts.AnomalyMetadata.Size;

    private static IntPtr* s_vtable;
    private static IntPtr s_baseDestructor;

    /// <summary>How many of our metadata objects libtorch holds (for tests).</summary>
    internal static long Live => Interlocked.Read(ref s_live);

    private static long s_live;

    /// <summary>
    /// Builds the subclass vtable from libtorch's (checked by <see cref="CheckBaseFactory"/> first) and returns the C#
    /// <c>make_anomaly_metadata()</c> for the engine's slot.
    /// </summary>
    internal static IntPtr Factory(IntPtr torch)
    {
        IntPtr* baseSlots = (IntPtr*)(NativeLibrary.GetExport(torch, VtableSymbol) + 2 * IntPtr.Size);
        s_baseDestructor = baseSlots[0];
        int words = 2 + AbiFacts.AnomalyMetadata.SlotCount;
        var table = (IntPtr*)NativeMemory.AllocZeroed((nuint)(words * IntPtr.Size));
        table[1] = TypeInfo.MakeDerived("N10AutogradKit15AnomalyMetadataE", NativeLibrary.GetExport(torch, TypeInfoSymbol));
        IntPtr* slots = table + 2;
        slots[0] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&CompleteDestructor;
        slots[1] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&DeletingDestructor;
        slots[AbiFacts.AnomalyMetadata.StoreStackSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&StoreStack;
        slots[AbiFacts.AnomalyMetadata.PrintStackSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, byte**, void>)&PrintStack;
        slots[AbiFacts.AnomalyMetadata.AssignParentSlot] = baseSlots[AbiFacts.AnomalyMetadata.AssignParentSlot];
        s_vtable = slots;
        return (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr*, IntPtr, IntPtr*>)&Make;
    }

    /// <summary><c>make_anomaly_metadata()</c>: a new object, owned by the node's <c>unique_ptr</c> (sret).</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr* Make(IntPtr* result, IntPtr engine)
    {
        byte* self = (byte*)NativeMethods.OperatorNew((nuint)(HandleOffset + IntPtr.Size));
        new Span<byte>(self, HandleOffset + IntPtr.Size).Clear();
        *(IntPtr**)self = s_vtable;
        byte* traceback = self + AbiFacts.AnomalyMetadata.TracebackOffset;
        *(byte**)traceback = traceback + AbiFacts.StdString.LocalBufferOffset; // an empty std::string in its local buffer
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
    private static void PrintStack(IntPtr self, byte** name)
    {
        try
        {
            IntPtr slot = *(IntPtr*)((byte*)self + HandleOffset);
            string? trace = slot == IntPtr.Zero ? null : (string?)GCHandle.FromIntPtr(slot).Target;
            long length = *(long*)((byte*)name + AbiFacts.StdString.LengthOffset);
            AnomalyTraces.Report(Encoding.UTF8.GetString(*name, (int)length), trace);
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

    private static void Destroy(IntPtr self)
    {
        ref IntPtr slot = ref *(IntPtr*)((byte*)self + HandleOffset);
        if (slot != IntPtr.Zero)
        {
            GCHandle.FromIntPtr(slot).Free();
            slot = IntPtr.Zero;
        }
        Interlocked.Decrement(ref s_live);
        // The base destructor frees traceback_ and parent_ (libtorch's own members).
        ((delegate* unmanaged[Cdecl]<IntPtr, void>)s_baseDestructor)(self);
    }

    /// <summary>
    /// Calls the base engine's <c>make_anomaly_metadata()</c> (slot <paramref name="factory"/>) and checks the object it
    /// returns against <see cref="AbiFacts.AnomalyMetadata"/>, then deletes it; null when everything matches.
    /// </summary>
    internal static string? CheckBaseFactory(IntPtr torch, IntPtr factory, IntPtr engine)
    {
        IntPtr made = IntPtr.Zero;
        ((delegate* unmanaged[Cdecl]<IntPtr*, IntPtr, IntPtr*>)factory)(&made, engine);
        if (made == IntPtr.Zero)
        {
            return $"vtable slot {AbiFacts.EngineVtable.MakeAnomalyMetadataSlot} made no AnomalyMetadata.";
        }
        IntPtr* vptr = *(IntPtr**)made;
        IntPtr* expected = (IntPtr*)(NativeLibrary.GetExport(torch, VtableSymbol) + 2 * IntPtr.Size);
        if (vptr != expected)
        {
            // Not ours to delete through an unknown table: leaked, the process is refused the feature anyway.
            return $"vtable slot {AbiFacts.EngineVtable.MakeAnomalyMetadataSlot} made an object that is not an AnomalyMetadata.";
        }
        string? failure = null;
        foreach ((int slot, string symbol) in AbiFacts.AnomalyMetadata.ExportedSlots)
        {
            if (!NativeLibrary.TryGetExport(torch, symbol, out IntPtr address) || vptr[slot] != address)
            {
                failure ??= $"AnomalyMetadata's vtable slot {slot} is not {symbol}.";
            }
        }
        byte* traceback = (byte*)made + AbiFacts.AnomalyMetadata.TracebackOffset;
        if (*(IntPtr*)traceback != (IntPtr)(traceback + AbiFacts.StdString.LocalBufferOffset)
            || *(long*)(traceback + AbiFacts.StdString.LengthOffset) != 0
            || *(IntPtr*)((byte*)made + AbiFacts.AnomalyMetadata.ParentOffset) != IntPtr.Zero
            || *(IntPtr*)((byte*)made + AbiFacts.AnomalyMetadata.ParentOffset + AbiFacts.SharedPtr.ControlOffset) != IntPtr.Zero)
        {
            failure ??= "a new AnomalyMetadata's traceback_ and parent_ are not where libtorch 2.10's header puts them.";
        }
        ((delegate* unmanaged[Cdecl]<IntPtr, void>)vptr[1])(made);
        return failure;
    }
}
