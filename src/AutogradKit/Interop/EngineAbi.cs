using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// This process's facts for the engine override — the engine's vtable, the <c>SavedVariableHooks</c> and
/// <c>AnomalyMetadata</c> objects, and how their virtual functions are called — picked once by <see cref="CxxExports.Abi"/>
/// from <see cref="AbiFacts.EngineVtable"/>, <see cref="AbiFacts.SavedVariableHooks"/>, <see cref="AbiFacts.AnomalyMetadata"/>
/// and <see cref="AbiFacts.StdString"/> (Linux x64) or <see cref="AbiFacts.Msvc.Engine"/> and
/// <see cref="AbiFacts.Msvc.StdString"/> (Windows x64), so that <see cref="NativeEngine"/>,
/// <see cref="NativeSavedTensorsHooks"/> and <see cref="NativeAnomalyMetadata"/> run one code path that differs only in
/// these values. Nothing here is trusted before <see cref="NativeEngine"/>'s first-use check has passed.
/// </summary>
/// <remarks>Immutable after type initialisation (which reads no native memory); thread-safe.</remarks>
internal static unsafe class EngineAbi
{
    /// <summary>Words before slot 0 of every vtable here: Itanium's offset-to-top and type_info, MSVC's complete object locator.</summary>
    public static readonly int PrefixWords = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.PrefixWords : AbiFacts.EngineVtable.PrefixWords;

    /// <summary>Where an exported vtable symbol points, in words before slot 0 (Itanium: at offset-to-top; MSVC's <c>??_7</c>: at slot 0).</summary>
    private static readonly int SymbolWordsBeforeSlots = CxxExports.IsMsvc ? 0 : AbiFacts.EngineVtable.PrefixWords;

    /// <summary>The engine's vtable symbol.</summary>
    public static readonly string EngineVtable = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.EngineVftable : "_ZTVN5torch8autograd6EngineE";

    /// <summary>The engine's type_info symbol (the word before slot 0), or null where that word is not a type_info (MSVC).</summary>
    public static readonly string? EngineTypeInfo = CxxExports.IsMsvc ? null : "_ZTIN5torch8autograd6EngineE";

    /// <summary>Number of engine slots.</summary>
    public static readonly int EngineSlotCount = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.SlotCount : AbiFacts.EngineVtable.SlotCount;

    /// <summary>The engine's <c>make_anomaly_metadata()</c> slot.</summary>
    public static readonly int MakeAnomalyMetadataSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.MakeAnomalyMetadataSlot : AbiFacts.EngineVtable.MakeAnomalyMetadataSlot;

    /// <summary>The engine's <c>get_default_saved_variable_hooks()</c> slot.</summary>
    public static readonly int SavedVariableHooksSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.SavedVariableHooksSlot : AbiFacts.EngineVtable.SavedVariableHooksSlot;

    /// <summary>The engine's exported virtual functions and their slots.</summary>
    public static readonly (int Slot, string Symbol)[] EngineExportedSlots = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.ExportedSlots : AbiFacts.EngineVtable.ExportedSlots;

    /// <summary>Whether a member function returning a class by value takes the result pointer before <c>this</c> (Itanium) or after it (MSVC).</summary>
    public static readonly bool MemberResultFirst = !CxxExports.IsMsvc;

    /// <summary>Destructor words at slot 0 of every vtable here: Itanium's complete and deleting destructors, or MSVC's one scalar deleting destructor.</summary>
    public static readonly int DestructorSlots = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.DestructorSlots : 2;

    /// <summary><c>SavedVariableHooks::call_pack_hook</c>'s slot.</summary>
    public static readonly int HooksPackSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.HooksPackSlot : AbiFacts.SavedVariableHooks.PackSlot;

    /// <summary><c>SavedVariableHooks::call_unpack_hook</c>'s slot.</summary>
    public static readonly int HooksUnpackSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.HooksUnpackSlot : AbiFacts.SavedVariableHooks.UnpackSlot;

    /// <summary>The first destructor slot of <c>SavedVariableHooks</c> (<see cref="DestructorSlots"/> words).</summary>
    public static readonly int HooksDestructorSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.HooksDestructorSlot : AbiFacts.SavedVariableHooks.CompleteDestructorSlot;

    /// <summary><c>SavedVariableHooks::retrieve_unpack_hook_data</c>'s slot.</summary>
    public static readonly int HooksRetrieveSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.HooksRetrieveUnpackHookDataSlot : AbiFacts.SavedVariableHooks.RetrieveUnpackHookDataSlot;

    /// <summary>Number of <c>SavedVariableHooks</c> slots.</summary>
    public static readonly int HooksSlotCount = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.HooksSlotCount : AbiFacts.SavedVariableHooks.SlotCount;

    /// <summary>Size of <c>retrieve_unpack_hook_data()</c>'s result.</summary>
    public static readonly int RetrievedDataSize = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.RetrievedDataSize : AbiFacts.SavedVariableHooks.RetrievedDataSize;

    /// <summary><c>AnomalyMetadata</c>'s vtable symbol.</summary>
    public static readonly string AnomalyVtable = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.AnomalyVftable : "_ZTVN5torch8autograd15AnomalyMetadataE";

    /// <summary><c>AnomalyMetadata</c>'s type_info symbol, or null where our subclass gets no RTTI (MSVC; see <see cref="AbiFacts.Msvc.Engine"/>).</summary>
    public static readonly string? AnomalyTypeInfo = CxxExports.IsMsvc ? null : "_ZTIN5torch8autograd15AnomalyMetadataE";

    /// <summary><c>sizeof(AnomalyMetadata)</c>.</summary>
    public static readonly int AnomalySize = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.AnomalySize : AbiFacts.AnomalyMetadata.Size;

    /// <summary>Offset of <c>traceback_</c> (the same under both ABIs).</summary>
    public static readonly int AnomalyTracebackOffset = AbiFacts.AnomalyMetadata.TracebackOffset;

    /// <summary>Offset of <c>parent_</c> (the same under both ABIs).</summary>
    public static readonly int AnomalyParentOffset = AbiFacts.AnomalyMetadata.ParentOffset;

    /// <summary><c>store_stack()</c>'s slot.</summary>
    public static readonly int AnomalyStoreStackSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.AnomalyStoreStackSlot : AbiFacts.AnomalyMetadata.StoreStackSlot;

    /// <summary><c>print_stack(name)</c>'s slot.</summary>
    public static readonly int AnomalyPrintStackSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.AnomalyPrintStackSlot : AbiFacts.AnomalyMetadata.PrintStackSlot;

    /// <summary><c>assign_parent(node)</c>'s slot.</summary>
    public static readonly int AnomalyAssignParentSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.AnomalyAssignParentSlot : AbiFacts.AnomalyMetadata.AssignParentSlot;

    /// <summary>Number of <c>AnomalyMetadata</c> slots.</summary>
    public static readonly int AnomalySlotCount = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.AnomalySlotCount : AbiFacts.AnomalyMetadata.SlotCount;

    /// <summary><c>AnomalyMetadata</c>'s exported virtual functions and their slots.</summary>
    public static readonly (int Slot, string Symbol)[] AnomalyExportedSlots = CxxExports.IsMsvc ? AbiFacts.Msvc.Engine.AnomalyExportedSlots : AbiFacts.AnomalyMetadata.ExportedSlots;

    /// <summary>Slot 0 of the vtable <paramref name="symbol"/> names in <paramref name="library"/>.</summary>
    public static IntPtr* Slots(IntPtr library, string symbol) =>
        (IntPtr*)(NativeLibrary.GetExport(library, symbol) + SymbolWordsBeforeSlots * IntPtr.Size);

    /// <summary>A new vtable (unmanaged, zeroed, never freed) of <paramref name="slotCount"/> slots and this ABI's prefix; slot 0's address.</summary>
    public static IntPtr* AllocateVtable(int slotCount)
    {
        var table = (IntPtr*)NativeMemory.AllocZeroed((nuint)((PrefixWords + slotCount) * IntPtr.Size));
        return table + PrefixWords;
    }

    /// <summary>
    /// The result pointer of a member function returning a class by value, called with its two first arguments
    /// (<paramref name="first"/>, <paramref name="second"/>): one is <c>this</c>, the other the hidden result pointer.
    /// </summary>
    public static IntPtr* ResultOf(IntPtr first, IntPtr second) => (IntPtr*)(MemberResultFirst ? first : second);

    /// <summary>The <c>this</c> of the same call (the argument <see cref="ResultOf"/> did not pick).</summary>
    public static IntPtr ThisOf(IntPtr first, IntPtr second) => MemberResultFirst ? second : first;

    /// <summary>Calls a member function <paramref name="function"/> of <paramref name="self"/> returning a one-word class (a <c>unique_ptr</c>) by value.</summary>
    public static IntPtr CallReturningPointer(IntPtr function, IntPtr self)
    {
        IntPtr result = IntPtr.Zero;
        var call = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr*>)function;
        _ = MemberResultFirst ? call((IntPtr)(&result), self) : call(self, (IntPtr)(&result));
        return result;
    }

    /// <summary>
    /// Runs the destructor in <paramref name="slots"/> of the object <paramref name="self"/>: the deleting one when
    /// <paramref name="delete"/> (Itanium's second word, MSVC's scalar deleting destructor with flag 1), else the complete
    /// object destructor (Itanium's first word, MSVC's with flag 0). Itanium's destructors ignore the second argument.
    /// </summary>
    public static void Destroy(IntPtr* slots, IntPtr self, bool delete) =>
        ((delegate* unmanaged[Cdecl]<IntPtr, uint, IntPtr>)slots[delete ? DestructorSlots - 1 : 0])(self, delete ? 1u : 0u);

    /// <summary>Makes the 32 bytes at <paramref name="text"/> an empty <c>std::string</c> in its local buffer.</summary>
    public static void InitEmptyString(byte* text)
    {
        new Span<byte>(text, AbiFacts.StdString.Size).Clear();
        if (CxxExports.IsMsvc)
        {
            *(long*)(text + AbiFacts.Msvc.StdString.CapacityOffset) = AbiFacts.Msvc.StdString.LocalCapacity;
        }
        else
        {
            *(byte**)text = text + AbiFacts.StdString.LocalBufferOffset;
        }
    }

    /// <summary>Whether the 32 bytes at <paramref name="text"/> are an empty <c>std::string</c> in its local buffer.</summary>
    public static bool IsEmptyString(byte* text) => CxxExports.IsMsvc
        ? *(long*)(text + AbiFacts.Msvc.StdString.LengthOffset) == 0 && *(long*)(text + AbiFacts.Msvc.StdString.CapacityOffset) == AbiFacts.Msvc.StdString.LocalCapacity && *text == 0
        : *(byte**)text == text + AbiFacts.StdString.LocalBufferOffset && *(long*)(text + AbiFacts.StdString.LengthOffset) == 0;

    /// <summary>The UTF-8 bytes of the <c>std::string</c> at <paramref name="text"/> (which libtorch made).</summary>
    public static ReadOnlySpan<byte> StringBytes(byte* text)
    {
        if (CxxExports.IsMsvc)
        {
            long length = *(long*)(text + AbiFacts.Msvc.StdString.LengthOffset);
            bool onHeap = *(long*)(text + AbiFacts.Msvc.StdString.CapacityOffset) > AbiFacts.Msvc.StdString.LocalCapacity;
            return new ReadOnlySpan<byte>(onHeap ? *(byte**)text : text, (int)length);
        }
        return new ReadOnlySpan<byte>(*(byte**)text, (int)*(long*)(text + AbiFacts.StdString.LengthOffset));
    }
}
