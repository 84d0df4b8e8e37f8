using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace AutogradKit;

/// <summary>
/// The vtable facts behind <see cref="CustomNode"/>'s PyTorch names and its <c>release_variables</c>: TorchSharp's
/// <c>CSharpNode</c> (a <c>torch::autograd::Node</c> subclass) is named <c>CSharpNode</c> by libtorch and keeps its saved
/// tensors after a backward that does not retain the graph. Each AutogradKit custom function class gets its own copy of
/// <c>CSharpNode</c>'s vtable in which the <c>name()</c> slot returns the PyTorch name (<c>ExpBackward</c>) and the
/// <c>release_variables()</c> slot frees the node's saved tensors, as PyTorch's <c>PyNode</c> does.
/// </summary>
/// <remarks>
/// <para>One code path for both verified ABIs, reading this platform's facts: the Itanium ones
/// (<see cref="AbiFacts.NodeVtable"/>, <see cref="AbiFacts.StdString"/>) on Linux x64, the MSVC ones
/// (<see cref="AbiFacts.Msvc.CustomNodes"/>, <see cref="AbiFacts.Msvc.StdString"/>) on Windows x64. They differ in the
/// slots, the words before slot 0, where RTTI names the class, where <c>name()</c>'s result goes (Itanium: first;
/// MSVC: after <c>this</c>), how the string is laid out, and whether the slots reach libtorch's functions directly or
/// through import thunks.</para>
/// <para>Every fact is checked at first use against <c>CSharpNode</c>'s own vtable: its RTTI name, and that the slots
/// hold the exported <c>Node</c> virtuals the facts name. A mismatch fails every custom function with
/// <see cref="NotSupportedException"/>; no vtable is copied from unverified memory.</para>
/// <para>Thread-safe: the check runs once, on a fresh thread; vtable copies are made once per name and never freed (one per C# class).</para>
/// </remarks>
internal static unsafe partial class CustomNodeAbi
{
    private const string Feature = "Custom autograd functions";

    private const string Reason = "they patch libtorch's node vtable";

    // This ABI's vtable facts.
    private static readonly int PrefixWords = CxxExports.IsMsvc ? AbiFacts.Msvc.CustomNodes.PrefixWords : AbiFacts.NodeVtable.PrefixWords;
    private static readonly int SlotCount = CxxExports.IsMsvc ? AbiFacts.Msvc.CustomNodes.SlotCount : AbiFacts.NodeVtable.SlotCount;
    private static readonly int NameSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.CustomNodes.NameSlot : AbiFacts.NodeVtable.NameSlot;
    private static readonly int ReleaseVariablesSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.CustomNodes.ReleaseVariablesSlot : AbiFacts.NodeVtable.ReleaseVariablesSlot;
    private static readonly string ExpectedTypeName = CxxExports.IsMsvc ? AbiFacts.Msvc.CustomNodes.TypeName : "10CSharpNode";

    // This ABI's std::string, as name() builds it: a short string lives in the local buffer; a word that overlaps that
    // buffer (libstdc++'s heap capacity, MSVC's heap pointer) is written only for a heap string.
    private static readonly int StringLengthOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.StdString.LengthOffset : AbiFacts.StdString.LengthOffset;
    private static readonly int StringLocalBufferOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.CustomNodes.StringLocalBufferOffset : AbiFacts.StdString.LocalBufferOffset;
    private static readonly int StringCapacityOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.StdString.CapacityOffset : AbiFacts.StdString.LocalBufferOffset; // libstdc++: _M_allocated_capacity shares the buffer's union
    private static readonly int StringLocalCapacity = CxxExports.IsMsvc ? AbiFacts.Msvc.StdString.LocalCapacity : AbiFacts.StdString.LocalCapacity;
    private static readonly int MaxNameBytes = CxxExports.IsMsvc ? AbiFacts.Msvc.BigAllocationThreshold - 2 : int.MaxValue; // MSVC frees 4 KiB or more as over-aligned

    private static readonly Lazy<(IntPtr Vtable, Exception? Failure)> Verified = new(VerifyOnFreshThread, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly ConcurrentDictionary<string, IntPtr> VtablesByName = new();

    // Name bytes (UTF-8) by vtable copy (its slot-0 address, a node's vptr), read by the name() slot.
    private static readonly ConcurrentDictionary<IntPtr, byte[]> NamesByVtable = new();

    // The allocator of a long name's buffer (CxxExports.OperatorNew), resolved by the check, before any name() call.
    private static IntPtr s_stringAlloc;

    /// <summary>
    /// CSharpNode's vtable (slot 0), after the first-use check; throws its failure.
    /// </summary>
    internal static IntPtr CSharpNodeVtable
    {
        get
        {
            if (Verified.Value.Failure is { } failure)
            {
                throw failure;
            }
            return Verified.Value.Vtable;
        }
    }

    /// <summary>
    /// The vtable (slot-0 address) that makes a CSharpNode answer <paramref name="name"/>; made once per name and
    /// registered with <see cref="NodeLayout"/> so that <see cref="GradFn.Name"/> reads the same name.
    /// </summary>
    /// <exception cref="NotSupportedException">The check failed, or (MSVC) the name is 4 KiB or longer.</exception>
    internal static IntPtr VtableNamed(string name) => VtablesByName.GetOrAdd(name, static n =>
    {
        IntPtr original = CSharpNodeVtable;
        byte[] bytes = Encoding.UTF8.GetBytes(n);
        if (bytes.Length > MaxNameBytes)
        {
            throw new NotSupportedException($"A custom function's node name may be at most {MaxNameBytes} bytes on this platform; '{n[..32]}…' has {bytes.Length}.");
        }
        int words = PrefixWords + SlotCount;
        var copy = (IntPtr*)NativeMemory.Alloc((nuint)(words * IntPtr.Size));
        new ReadOnlySpan<IntPtr>((IntPtr*)original - PrefixWords, words).CopyTo(new Span<IntPtr>(copy, words));
        IntPtr* slots = copy + PrefixWords;
        slots[NameSlot] = CxxExports.IsMsvc
            ? (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, byte*, byte*>)&NameResultAfterThis
            : (IntPtr)(delegate* unmanaged[Cdecl]<byte*, IntPtr, byte*>)&NameResultFirst;
        slots[ReleaseVariablesSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&ReleaseVariables;
        NamesByVtable[(IntPtr)slots] = bytes;
        NodeLayout.RegisterName((IntPtr)slots, n);
        return (IntPtr)slots;
    });

    /// <summary><c>name()</c> of a renamed node under the Itanium ABI: the result's address comes first (System V sret) and is returned.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte* NameResultFirst(byte* result, IntPtr node) => WriteName(result, node);

    /// <summary><c>name()</c> of a renamed node under MSVC: <c>this</c> first, then the result's address, which is returned.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte* NameResultAfterThis(IntPtr node, byte* result) => WriteName(result, node);

    /// <summary>Builds this ABI's <c>std::string</c> of the node's name in the caller's uninitialised <paramref name="result"/>.</summary>
    private static byte* WriteName(byte* result, IntPtr node)
    {
        byte[] name = NamesByVtable.TryGetValue(*(IntPtr*)node, out byte[]? known) ? known : "CSharpNode"u8.ToArray();
        bool local = name.Length <= StringLocalCapacity;
        byte* data = local ? result + StringLocalBufferOffset : (byte*)((delegate* unmanaged<nuint, IntPtr>)s_stringAlloc)((nuint)name.Length + 1);
        if (data is null)
        {
            // Out of memory: libtorch gets the name cut to what the local buffer holds rather than an exception.
            name = name[..StringLocalCapacity];
            local = true;
            data = result + StringLocalBufferOffset;
        }
        name.CopyTo(new Span<byte>(data, name.Length));
        data[name.Length] = 0;
        if (!local || !InLocalBuffer(0))
        {
            *(byte**)result = data;
        }
        *(nuint*)(result + StringLengthOffset) = (nuint)name.Length;
        if (!local || !InLocalBuffer(StringCapacityOffset))
        {
            *(nuint*)(result + StringCapacityOffset) = local ? (nuint)StringLocalCapacity : (nuint)name.Length;
        }
        return result;
    }

    private static bool InLocalBuffer(int offset) =>
        offset >= StringLocalBufferOffset && offset < StringLocalBufferOffset + StringLocalCapacity + 1;

    /// <summary><c>release_variables()</c>: the engine is done with the node and does not keep the graph.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ReleaseVariables(IntPtr node)
    {
        try
        {
            CustomNode.ReleaseVariablesOf(node);
        }
        catch (Exception e)
        {
            // Nothing may unwind into libtorch; the failure reaches the pass's caller.
            HookErrors.Record(e);
        }
    }

    // No caller state (anomaly mode's stack capture, an open scope) reaches the probe node on a thread of its own.
    private static (IntPtr, Exception?) VerifyOnFreshThread() => FirstUseCheck.Run(Verify, "AutogradKit custom node ABI check");

    private static (IntPtr, Exception?) Verify()
    {
        if (PlatformSupport.RefusedOnUnverifiedAbi(Feature, Reason) is { } refused)
        {
            return (IntPtr.Zero, refused);
        }
        try
        {
            LibTorchLoader.EnsureLoaded();
            s_stringAlloc = CxxExports.OperatorNew.Address(Feature, Reason);
            IntPtr vtable = CustomNode.ProbeVtable();
            IntPtr bridge = NativeLibrary.Load(Libraries.TorchSharp, typeof(CustomNodeAbi).Assembly, null);
            IntPtr torch = NativeLibrary.Load(Libraries.TorchCpu, typeof(CustomNodeAbi).Assembly, null);
            string typeName = CxxExports.IsMsvc ? LocatorTypeName(vtable, bridge) : ItaniumTypeName(vtable);
            if (typeName != ExpectedTypeName)
            {
                return (IntPtr.Zero, Mismatch($"the node's RTTI names '{typeName}', not '{ExpectedTypeName}'."));
            }
            foreach ((int slot, IntPtr library, string symbol) in ExpectedSlots(bridge, torch))
            {
                if (!NativeLibrary.TryGetExport(library, symbol, out IntPtr address) || !SlotReaches(((IntPtr*)vtable)[slot], address))
                {
                    return (IntPtr.Zero, Mismatch($"vtable slot {slot} is not {symbol}."));
                }
            }
            return (vtable, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return (IntPtr.Zero, Mismatch(e.Message));
        }
    }

    /// <summary>The exported <c>Node</c> virtuals this ABI's facts place in <c>CSharpNode</c>'s slots, and the library exporting each.</summary>
    private static (int Slot, IntPtr Library, string Symbol)[] ExpectedSlots(IntPtr bridge, IntPtr torch) => CxxExports.IsMsvc
        ? [.. AbiFacts.Msvc.CustomNodes.ExportedSlots.Select(e => (e.Slot, torch, e.Symbol))]
        :
        [
            (AbiFacts.NodeVtable.NameSlot, torch, "_ZNK5torch8autograd4Node4nameB5cxx11Ev"),
            (AbiFacts.NodeVtable.ReleaseVariablesSlot, bridge, "_ZN5torch8autograd4Node17release_variablesEv"),
            (AbiFacts.NodeVtable.WillReleaseVariablesSlot, bridge, "_ZN5torch8autograd4Node22will_release_variablesEv"),
            (AbiFacts.NodeVtable.IsAotBackwardSlot, bridge, "_ZNK5torch8autograd4Node15is_aot_backwardEv"),
        ];

    /// <summary>
    /// Whether a slot holding <paramref name="entry"/> calls <paramref name="export"/>: directly (the Itanium bridge has
    /// its own weak copies, or the address itself), or under MSVC through an import thunk of the bridge whose cell holds it.
    /// </summary>
    private static bool SlotReaches(IntPtr entry, IntPtr export)
    {
        if (entry == export)
        {
            return true;
        }
        if (!CxxExports.IsMsvc || entry == IntPtr.Zero || *(ushort*)entry != AbiFacts.Msvc.CustomNodes.ImportThunkOpcode)
        {
            return false;
        }
        IntPtr cell = entry + AbiFacts.Msvc.CustomNodes.ImportThunkLength + *(int*)(entry + 2);
        return *(IntPtr*)cell == export;
    }

    /// <summary>Itanium: the type_info pointer before slot 0, whose second word is the mangled name.</summary>
    private static string ItaniumTypeName(IntPtr vtable) =>
        Marshal.PtrToStringUTF8(*(IntPtr*)(((IntPtr*)vtable)[-1] + IntPtr.Size)) ?? "";

    /// <summary>
    /// MSVC: the complete object locator before slot 0, read only once its signature and its own image-relative offset
    /// say that it lies in the bridge's image (a module handle is its image base); its type descriptor holds the name.
    /// </summary>
    private static string LocatorTypeName(IntPtr vtable, IntPtr bridge)
    {
        IntPtr locator = ((IntPtr*)vtable)[-1];
        if ((ulong)locator <= (ulong)bridge || locator % sizeof(uint) != 0
            || *(uint*)locator != AbiFacts.Msvc.CustomNodes.LocatorSignature
            || locator - (nint)(*(uint*)(locator + AbiFacts.Msvc.CustomNodes.LocatorSelfOffset)) != bridge)
        {
            return "(no complete object locator of LibTorchSharp)";
        }
        IntPtr descriptor = bridge + (nint)(*(uint*)(locator + AbiFacts.Msvc.CustomNodes.LocatorTypeDescriptorOffset));
        return Marshal.PtrToStringUTF8(descriptor + AbiFacts.Msvc.CustomNodes.TypeDescriptorNameOffset) ?? "";
    }

    private static NotSupportedException Mismatch(string detail) =>
        new($"Custom autograd functions need {PlatformSupport.VerifiedOnThisAbi}; the first-use check of TorchSharp's CSharpNode failed: {detail}");
}
