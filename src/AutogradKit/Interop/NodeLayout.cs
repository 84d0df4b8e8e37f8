using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Where libtorch 2.10 keeps what <see cref="GradFn"/> reads inside a <c>torch::autograd::Node</c>, and the
/// reads themselves. Nothing here is a public libtorch API: the layout is checked once, at first use, against a
/// graph built for the purpose, and any mismatch fails with a <see cref="NotSupportedException"/> naming the
/// libtorch version instead of reading memory that is not what we think it is.
/// </summary>
/// <remarks>Thread-safe: the check runs once (on a fresh thread, so no grad mode of the caller applies);
/// the reads only touch nodes the caller holds a <see cref="SharedNodeRef"/> to.</remarks>
internal static unsafe class NodeLayout
{
    private static readonly Lazy<Layout> Verified = new(VerifyOnFreshThread, LazyThreadSafetyMode.ExecutionAndPublication);

    // This ABI's Node/Edge facts (AbiFacts.Node on Linux, AbiFacts.Msvc.Node on Windows); std::vector is
    // {first, last, end of storage} under both (AbiFacts.Vector).
    private static readonly int NextEdgesOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.Node.NextEdgesOffset : AbiFacts.Node.NextEdgesOffset;
    private static readonly int EdgeSize = CxxExports.IsMsvc ? AbiFacts.Msvc.Node.EdgeSize : AbiFacts.Node.EdgeSize;
    private static readonly int InputNrOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.Node.InputNrOffset : AbiFacts.Node.InputNrOffset;

    private sealed record Layout(int VariableOffset, Exception? Failure);

    /// <summary>Offset of <c>at::Tensor variable</c> in an AccumulateGrad, as found by the first-use check.</summary>
    internal static int AccumulateGradVariableOffset
    {
        get
        {
            Ensure();
            return Verified.Value.VariableOffset;
        }
    }

    /// <summary>Runs the first-use check (once) and says whether it passed; never throws.</summary>
    internal static bool IsSupported => Verified.Value.Failure is null;

    /// <summary>Runs the first-use check (once) and throws its failure, if any.</summary>
    internal static void Ensure()
    {
        if (Verified.Value.Failure is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Our own reference to the node of <paramref name="tensor"/>'s <c>grad_fn</c>, or null for none.</summary>
    internal static SharedNodeRef? GradFnOf(Tensor tensor)
    {
        IntPtr sharedPtr = NativeMethods.TensorBase_grad_fn(tensor.Handle);
        return sharedPtr == IntPtr.Zero ? null : SharedNodeRef.FromSharedPtr(sharedPtr);
    }

    /// <summary>The C++ type name of a node, fully qualified: <c>torch::autograd::generated::AddBackward0</c>.</summary>
    internal static string QualifiedName(IntPtr node) => CxxExports.IsMsvc ? QualifiedNameMsvc(node) : QualifiedNameItanium(node);

    private static string QualifiedNameItanium(IntPtr node)
    {
        // libstdc++'s std::string: {char* data, size_t length, char local_buffer[16]}.
        byte* result = stackalloc byte[AbiFacts.StdString.Size];
        new Span<byte>(result, AbiFacts.StdString.Size).Clear();
        NativeMethods.Node_name((IntPtr)result, node);
        IntPtr data = *(IntPtr*)result;
        long length = *(long*)(result + AbiFacts.StdString.LengthOffset);
        try
        {
            if (data == IntPtr.Zero || length < 0 || length > 1 << 16)
            {
                throw Mismatch($"Node::name() returned an unexpected std::string (length {length}).");
            }
            return Encoding.UTF8.GetString((byte*)data, (int)length);
        }
        finally
        {
            if (data != IntPtr.Zero && data != (IntPtr)(result + AbiFacts.StdString.LocalBufferOffset))
            {
                NativeMethods.OperatorDelete(data);
            }
        }
    }

    /// <summary>
    /// MSVC's <c>Node::name()</c>: <c>typeid(*this).name()</c> undecorated, e.g. <c>struct
    /// torch::autograd::generated::AddBackward0</c>, made the same as Linux's by dropping the class-key words.
    /// </summary>
    private static string QualifiedNameMsvc(IntPtr node)
    {
        // MSVC's std::string: {union {char buffer[16]; char* heap}, size_t size, size_t capacity}.
        byte* result = stackalloc byte[AbiFacts.Msvc.StdString.Size];
        new Span<byte>(result, AbiFacts.Msvc.StdString.Size).Clear();
        NativeMethods.Node_name((IntPtr)result, node);
        long length = *(long*)(result + AbiFacts.Msvc.StdString.LengthOffset);
        long capacity = *(long*)(result + AbiFacts.Msvc.StdString.CapacityOffset);
        bool onHeap = capacity > AbiFacts.Msvc.StdString.LocalCapacity;
        IntPtr data = onHeap ? *(IntPtr*)result : (IntPtr)result;
        try
        {
            if (data == IntPtr.Zero || length < 0 || length > capacity || capacity < AbiFacts.Msvc.StdString.LocalCapacity || length > 1 << 16)
            {
                throw Mismatch($"Node::name() returned an unexpected std::string (length {length}, capacity {capacity}).");
            }
            string name = Encoding.UTF8.GetString((byte*)data, (int)length);
            return name.Replace("struct ", "", StringComparison.Ordinal).Replace("class ", "", StringComparison.Ordinal);
        }
        finally
        {
            // A buffer of 4 KiB or more would carry MSVC's alignment header: never freed (no node name is that long).
            if (onHeap && data != IntPtr.Zero && capacity + 1 < AbiFacts.Msvc.BigAllocationThreshold)
            {
                NativeMethods.OperatorDelete(data);
            }
        }
    }

    // Short names by vtable: the exported base Node::name() is c10::demangle(typeid(*this).name()), a function of
    // the node's dynamic type alone, and demangling costs about half a microsecond a call.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<IntPtr, string> NamesByVtable = new();

    /// <summary>
    /// <see cref="ShortName"/> of <see cref="QualifiedName"/>, cached per C++ class (the node's vtable pointer, its
    /// first word): PyTorch's <c>type(grad_fn).__name__</c>.
    /// </summary>
    internal static string NameOf(IntPtr node)
    {
        IntPtr vtable = *(IntPtr*)node;
        if (!NamesByVtable.TryGetValue(vtable, out string? name))
        {
            name = ShortName(QualifiedName(node));
            NamesByVtable.TryAdd(vtable, name);
        }
        return name;
    }

    /// <summary>
    /// Names the nodes whose vptr is <paramref name="vtable"/>: a custom function's own vtable copy
    /// (<see cref="CustomNodeAbi"/>), whose type_info still says <c>CSharpNode</c>.
    /// </summary>
    internal static void RegisterName(IntPtr vtable, string name) => NamesByVtable[vtable] = name;

    /// <summary>The Python-visible name: the C++ type name without its namespace (<c>AddBackward0</c>).</summary>
    internal static string ShortName(string qualified)
    {
        int depth = 0;
        int start = 0;
        for (int i = 0; i < qualified.Length; i++)
        {
            char c = qualified[i];
            if (c == '<' || c == '(')
            {
                depth++;
            }
            else if (c == '>' || c == ')')
            {
                depth--;
            }
            else if (depth == 0 && c == ':' && i + 1 < qualified.Length && qualified[i + 1] == ':')
            {
                start = i + 2;
                i++;
            }
        }
        return qualified[start..];
    }

    /// <summary>
    /// The next edges of <paramref name="node"/> as (node, input_nr), without taking references (the caller holds one
    /// that keeps <paramref name="node"/>, and so its next nodes, alive), read straight into the array
    /// <see cref="NativeGraph"/> hands out (one allocation a node, as graph walks are measured).
    /// </summary>
    internal static (NodeRef Function, int InputNr)[] NextEdgeRefs(IntPtr node)
    {
        IntPtr begin = *(IntPtr*)(node + NextEdgesOffset);
        IntPtr end = *(IntPtr*)(node + NextEdgesOffset + IntPtr.Size);
        var edges = new (NodeRef, int)[((long)end - (long)begin) / EdgeSize];
        for (int i = 0; i < edges.Length; i++)
        {
            IntPtr edge = begin + i * EdgeSize;
            edges[i] = (new NodeRef(*(IntPtr*)edge), (int)*(uint*)(edge + InputNrOffset));
        }
        return edges;
    }

    /// <summary>The address of an AccumulateGrad's <c>variable</c> member: an <c>at::Tensor*</c>.</summary>
    internal static IntPtr VariableAddress(IntPtr accumulateGrad) => accumulateGrad + AccumulateGradVariableOffset;

    /// <summary>The TensorImpl* an <c>at::Tensor*</c> points to (its only member).</summary>
    internal static IntPtr TensorImpl(IntPtr atTensor) => *(IntPtr*)atTensor;

    private static NotSupportedException Mismatch(string what) => new(
        $"AutogradKit's GradFn reads libtorch's autograd graph through its C++ layout, verified for libtorch 2.10 " +
        $"with libstdc++ on Linux x64 and with MSVC on Windows x64; this libtorch ({torch.__version__}) does not match: {what}");

    private static Layout VerifyOnFreshThread() => FirstUseCheck.Run(VerifyOrFailure, "AutogradKit layout check");

    private static Layout VerifyOrFailure()
    {
        try
        {
            LibTorchLoader.EnsureLoaded();
            if (PlatformSupport.RefusedOnUnverifiedAbi("GradFn", "it reads libtorch's C++ autograd graph") is { } refused)
            {
                return new Layout(0, refused);
            }
            return new Layout(Verify(), null);
        }
        catch (NotSupportedException e)
        {
            return new Layout(0, e);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return new Layout(0, Mismatch($"a native entry point is missing ({e.Message})."));
        }
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw Mismatch(what);
        }
    }

    /// <summary>Checks every layout assumption on known graphs; returns the AccumulateGrad variable offset.</summary>
    private static int Verify()
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        Tensor a = torch.ones(2, requires_grad: true);
        Tensor b = torch.ones(2, requires_grad: true);
        Tensor sum = a + b;

        Check(NativeMethods.TensorBase_grad_fn(a.Handle) is var leafPtr && leafPtr != IntPtr.Zero && *(IntPtr*)leafPtr == IntPtr.Zero,
            "a leaf's grad_fn is not empty.");
        IntPtr addShared = NativeMethods.TensorBase_grad_fn(sum.Handle);
        Check(addShared != IntPtr.Zero, "grad_fn() returned no shared_ptr.");
        IntPtr add = *(IntPtr*)addShared;
        IntPtr addControl = *(IntPtr*)(addShared + AbiFacts.SharedPtr.ControlOffset);
        Check(add != IntPtr.Zero && addControl != IntPtr.Zero && add % 8 == 0 && addControl % 8 == 0, "a + b has no aligned grad_fn node.");
        Check(QualifiedName(add) == "torch::autograd::generated::AddBackward0", $"Node::name() of a + b is '{QualifiedName(add)}', not AddBackward0.");

        // Use counts: ours goes up by one and back down, never to zero, so the release path runs harmlessly.
        int before = SharedNodeRef.UseCount(addControl);
        Check(before >= 1 && before < 1000, $"the control block's use count reads {before}.");
        var own = SharedNodeRef.FromSharedPtr(addShared)!;
        Check(SharedNodeRef.UseCount(addControl) == before + 1, "taking a reference did not raise the use count by one.");

        (IntPtr first, IntPtr second) = EdgePair(add, "a + b");
        var edges = NextEdgeRefs(add);
        Check(edges.Length == 2 && edges[0].Function.Address != IntPtr.Zero && edges[1].Function.Address != IntPtr.Zero && edges[0].InputNr == 0 && edges[1].InputNr == 0,
            "a + b does not have two edges with input_nr 0.");
        foreach (var (function, _) in edges)
        {
            Check(QualifiedName(function.Address) == "torch::autograd::AccumulateGrad", "an edge of a + b does not lead to AccumulateGrad.");
        }
        Check(edges[0].Function.Address == first && edges[1].Function.Address == second, "edges read twice differ.");

        IntPtr torchCpu = NativeLibrary.Load(Libraries.TorchCpu, typeof(NodeLayout).Assembly, null);
        IntPtr firstEdgeControl = *(IntPtr*)(*(IntPtr*)(add + NextEdgesOffset) + IntPtr.Size);
        Check(firstEdgeControl != IntPtr.Zero && firstEdgeControl % 8 == 0, "an edge of a + b has no aligned shared_ptr control block.");
        if (CxxExports.IsMsvc)
        {
            // No _Ref_count_obj2 member is exported: the block is known by where make_shared put AccumulateGrad in it,
            // the node by its exported vftable, and the release slots are proven by VerifyMsvcRelease below.
            Check(NativeMethods.Node_next_edges(add) == add + NextEdgesOffset, $"Node::next_edges() is not at offset {NextEdgesOffset}.");
            Check(NativeLibrary.TryGetExport(torchCpu, AbiFacts.Msvc.Node.AccumulateGradVftable, out IntPtr vftable) && *(IntPtr*)first == vftable,
                "an edge of a + b does not lead to an object with AccumulateGrad's vftable.");
            Check(first == firstEdgeControl + AbiFacts.Msvc.SharedPtr.MakeSharedObjectOffset,
                "AccumulateGrad is not inside its make_shared control block where MSVC's _Ref_count_obj2 puts it.");
        }
        else
        {
            // The control block of AccumulateGrad is make_shared's _Sp_counted_ptr_inplace: its vtable's
            // dispose/destroy slots must be that class's exported _M_dispose/_M_destroy.
            IntPtr dispose = NativeLibrary.GetExport(torchCpu, NativeMethods.AccumulateGradInplaceDispose);
            IntPtr destroy = NativeLibrary.GetExport(torchCpu, NativeMethods.AccumulateGradInplaceDestroy);
            IntPtr* vtable = *(IntPtr**)firstEdgeControl;
            Check(vtable[AbiFacts.SharedPtr.DisposeSlot] == dispose && vtable[AbiFacts.SharedPtr.DestroySlot] == destroy,
                "the shared_ptr control block's vtable does not have _M_dispose and _M_destroy in slots 2 and 3.");
        }

        // AccumulateGrad::variable: the first pointer-sized slot after next_edges_ that holds a's TensorImpl,
        // and b's AccumulateGrad must hold b's at the same place.
        IntPtr implA = TensorImpl(a.Handle);
        IntPtr implB = TensorImpl(b.Handle);
        int offset = -1;
        for (int o = NextEdgesOffset + 3 * IntPtr.Size; o < AbiFacts.Node.VariableSearchLimit; o += IntPtr.Size)
        {
            if (*(IntPtr*)(first + o) == implA)
            {
                offset = o;
                break;
            }
        }
        Check(offset > 0, "AccumulateGrad's variable was not found.");
        Check(*(IntPtr*)(second + offset) == implB, "the second AccumulateGrad's variable is not at the same offset.");

        own.Dispose();
        Check(SharedNodeRef.UseCount(addControl) == before, "releasing a reference did not lower the use count by one.");

        // input_nr other than 0, and the same node on two edges: unbind's outputs 1 and 0.
        Tensor m = torch.ones(2, 2, requires_grad: true);
        Tensor[] rows = m.unbind(0);
        Tensor product = rows[1] * rows[0];
        IntPtr mul = *(IntPtr*)NativeMethods.TensorBase_grad_fn(product.Handle);
        Check(QualifiedName(mul) == "torch::autograd::generated::MulBackward0", "rows[1] * rows[0] is not MulBackward0.");
        (IntPtr u1, IntPtr u0) = EdgePair(mul, "rows[1] * rows[0]");
        Check(u1 != IntPtr.Zero && u1 == u0 && QualifiedName(u1) == "torch::autograd::generated::UnbindBackward0", "rows[1] * rows[0] does not lead to UnbindBackward0 twice.");
        Check(*(uint*)(*(IntPtr*)(mul + NextEdgesOffset) + InputNrOffset) == 1
              && *(uint*)(*(IntPtr*)(mul + NextEdgesOffset) + EdgeSize + InputNrOffset) == 0, "unbind's input_nr are not 1, 0.");

        // An edge to nothing: the operand that does not require grad.
        Tensor plain = a + torch.ones(2);
        IntPtr mixed = *(IntPtr*)NativeMethods.TensorBase_grad_fn(plain.Handle);
        (IntPtr accumulate, IntPtr none) = EdgePair(mixed, "a + ones(2)");
        Check(none == IntPtr.Zero && *(IntPtr*)(accumulate + offset) == implA, "a + ones(2) does not have edges (AccumulateGrad of a, None).");

        // is_view, which CheckGradFnReadable asks first: false for a leaf and a + b, true for unbind's rows.
        Check(!NativeMethods.TensorBase_is_view(a.Handle) && !NativeMethods.TensorBase_is_view(sum.Handle) && NativeMethods.TensorBase_is_view(rows[0].Handle),
            "TensorBase::is_view() does not tell a leaf and a + b from a row of unbind.");
        if (CxxExports.IsMsvc)
        {
            VerifyMsvcRelease();
        }
        return offset;
    }

    /// <summary>
    /// MSVC's release slots, by their effect: the last reference to an <c>AccumulateGrad</c>, released by
    /// <see cref="SharedNodeRef.Release"/>, must destroy it (its leaf's <c>TensorImpl</c> loses the count the node's
    /// <c>variable</c> held); the leaf's weak <c>grad_accumulator_</c> keeps the block, which libtorch frees later.
    /// </summary>
    private static void VerifyMsvcRelease()
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        Tensor leaf = torch.ones(2, requires_grad: true);
        Tensor product = leaf * leaf;
        IntPtr mul = *(IntPtr*)NativeMethods.TensorBase_grad_fn(product.Handle);
        Check(mul != IntPtr.Zero && QualifiedName(mul) == "torch::autograd::generated::MulBackward0", "leaf * leaf is not MulBackward0.");
        (IntPtr accumulate, IntPtr again) = EdgePair(mul, "leaf * leaf");
        Check(accumulate == again && QualifiedName(accumulate) == "torch::autograd::AccumulateGrad", "leaf * leaf does not lead to one AccumulateGrad twice.");
        var own = SharedNodeRef.FromSharedPtr(*(IntPtr*)(mul + NextEdgesOffset))!; // the first edge's shared_ptr
        product.Dispose(); // MulBackward0 goes (and its saved leaf), and with it the graph's references to AccumulateGrad
        IntPtr impl = TensorImpl(leaf.Handle);
        int withNode = *(int*)(impl + AbiFacts.IntrusivePtr.StrongCountOffset);
        Check(SharedNodeRef.UseCount(own.Control) == 1, "AccumulateGrad is still held by more than our reference.");
        own.Dispose();
        Check(*(int*)(impl + AbiFacts.IntrusivePtr.StrongCountOffset) == withNode - 1,
            $"releasing the last reference through control block slot {AbiFacts.Msvc.SharedPtr.DisposeSlot} did not destroy AccumulateGrad.");
    }

    /// <summary>The two functions of a node that must have exactly two edges, checked before any dereference.</summary>
    private static (IntPtr, IntPtr) EdgePair(IntPtr node, string what)
    {
        IntPtr begin = *(IntPtr*)(node + NextEdgesOffset);
        IntPtr end = *(IntPtr*)(node + NextEdgesOffset + AbiFacts.Vector.FinishOffset);
        IntPtr capacity = *(IntPtr*)(node + NextEdgesOffset + AbiFacts.Vector.CapacityOffset);
        Check(begin != IntPtr.Zero && begin % 8 == 0 && (long)end - (long)begin == 2 * EdgeSize && (long)capacity >= (long)end,
            $"the next_edges_ vector of {what} is not at offset {NextEdgesOffset} with two {EdgeSize}-byte edges.");
        IntPtr f0 = *(IntPtr*)begin;
        IntPtr f1 = *(IntPtr*)(begin + EdgeSize);
        Check(f0 % 8 == 0 && f1 % 8 == 0, $"the edges of {what} do not hold aligned node pointers.");
        return (f0, f1);
    }
}
