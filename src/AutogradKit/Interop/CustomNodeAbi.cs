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
/// <para>Every fact is checked at first use against <c>CSharpNode</c>'s own vtable: its type_info name, and that the
/// slots hold the exported <c>Node::name</c>, <c>Node::release_variables</c>, <c>Node::will_release_variables</c> and
/// <c>Node::is_aot_backward</c>. A mismatch fails every custom function with <see cref="NotSupportedException"/>; no
/// vtable is copied from unverified memory.</para>
/// <para>Thread-safe: the check runs once, on a fresh thread; vtable copies are made once per name and never freed (one per C# class).</para>
/// </remarks>
internal static unsafe partial class CustomNodeAbi
{
    private const string ExpectedTypeName = "10CSharpNode";

    private static readonly Lazy<(IntPtr Vtable, Exception? Failure)> Verified = new(VerifyOnFreshThread, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly ConcurrentDictionary<string, IntPtr> VtablesByName = new();

    // Name bytes (UTF-8) by vtable copy (its slot-0 address, a node's vptr), read by the name() slot.
    private static readonly ConcurrentDictionary<IntPtr, byte[]> NamesByVtable = new();

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
    internal static IntPtr VtableNamed(string name) => VtablesByName.GetOrAdd(name, static n =>
    {
        IntPtr original = CSharpNodeVtable;
        int words = AbiFacts.NodeVtable.PrefixWords + AbiFacts.NodeVtable.SlotCount;
        var copy = (IntPtr*)NativeMemory.Alloc((nuint)(words * IntPtr.Size));
        new ReadOnlySpan<IntPtr>((IntPtr*)original - AbiFacts.NodeVtable.PrefixWords, words).CopyTo(new Span<IntPtr>(copy, words));
        IntPtr* slots = copy + AbiFacts.NodeVtable.PrefixWords;
        slots[AbiFacts.NodeVtable.NameSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<byte*, IntPtr, byte*>)&Name;
        slots[AbiFacts.NodeVtable.ReleaseVariablesSlot] = (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&ReleaseVariables;
        NamesByVtable[(IntPtr)slots] = Encoding.UTF8.GetBytes(n);
        NodeLayout.RegisterName((IntPtr)slots, n);
        return (IntPtr)slots;
    });

    /// <summary>
    /// <c>name()</c> of a renamed node: a libstdc++ std::string built in the caller's return slot (System V sret:
    /// the slot's address comes first and is returned).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte* Name(byte* result, IntPtr node)
    {
        byte[] name = NamesByVtable.TryGetValue(*(IntPtr*)node, out byte[]? known) ? known : "CSharpNode"u8.ToArray();
        byte* data = result + AbiFacts.StdString.LocalBufferOffset;
        if (name.Length > AbiFacts.StdString.LocalCapacity)
        {
            data = (byte*)NativeMethods.OperatorNew((nuint)name.Length + 1);
            *(nuint*)(result + AbiFacts.StdString.LocalBufferOffset) = (nuint)name.Length;
        }
        name.CopyTo(new Span<byte>(data, name.Length));
        data[name.Length] = 0;
        *(byte**)result = data;
        *(nuint*)(result + IntPtr.Size) = (nuint)name.Length;
        return result;
    }

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
        if (!AbiFacts.IsVerifiedPlatform)
        {
            return (IntPtr.Zero, PlatformSupport.NotSupported("Custom autograd functions", "they patch libtorch's node vtable"));
        }
        try
        {
            LibTorchLoader.EnsureLoaded();
            IntPtr vtable = CustomNode.ProbeVtable();
            IntPtr typeInfo = ((IntPtr*)vtable)[-1];
            string typeName = Marshal.PtrToStringUTF8(*(IntPtr*)(typeInfo + IntPtr.Size)) ?? "";
            if (typeName != ExpectedTypeName)
            {
                return (IntPtr.Zero, Mismatch($"the node's type_info names '{typeName}', not '{ExpectedTypeName}'."));
            }
            IntPtr bridge = NativeLibrary.Load(Libraries.TorchSharp, typeof(CustomNodeAbi).Assembly, null);
            IntPtr torch = NativeLibrary.Load(Libraries.TorchCpu, typeof(CustomNodeAbi).Assembly, null);
            (int Slot, IntPtr Library, string Symbol)[] expected =
            [
                (AbiFacts.NodeVtable.NameSlot, torch, "_ZNK5torch8autograd4Node4nameB5cxx11Ev"),
                (AbiFacts.NodeVtable.ReleaseVariablesSlot, bridge, "_ZN5torch8autograd4Node17release_variablesEv"),
                (AbiFacts.NodeVtable.WillReleaseVariablesSlot, bridge, "_ZN5torch8autograd4Node22will_release_variablesEv"),
                (AbiFacts.NodeVtable.IsAotBackwardSlot, bridge, "_ZNK5torch8autograd4Node15is_aot_backwardEv"),
            ];
            foreach ((int slot, IntPtr library, string symbol) in expected)
            {
                if (!NativeLibrary.TryGetExport(library, symbol, out IntPtr address) || ((IntPtr*)vtable)[slot] != address)
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

    private static NotSupportedException Mismatch(string detail) =>
        new($"Custom autograd functions need {AbiFacts.VerifiedOn}; the first-use check of TorchSharp's CSharpNode failed: {detail}");
}
