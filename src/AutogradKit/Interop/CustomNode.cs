using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// One backward node of a custom autograd function: TorchSharp's native <c>CSharpNode</c> (THSAutograd.cpp), driven
/// through its catching <c>THSAutograd_*</c> entry points, renamed and given <c>release_variables</c> by
/// <see cref="CustomNodeAbi"/>. The typed side for <c>CustomFunctions/</c>: tensors in, tensors out, never a pointer.
/// </summary>
/// <remarks>
/// <para>libtorch calls the node's backward through a per-node delegate; nothing may unwind out of it, so the delegate
/// catches everything, records the exception for the pass that ran it (<see cref="HookErrors.Record"/>, as a tensor
/// hook's), and returns one gradient too many, which libtorch's engine rejects with a catchable error
/// (<c>invalid number of gradients</c>, engine.cpp's <c>validate_outputs</c>); the pass's entry point then rethrows
/// the recorded exception.</para>
/// <para>Lifetime: the C# object lives from <see cref="Create"/> until libtorch destroys the C++ node (TorchSharp's
/// deleter calls back), whatever thread that happens on; the saved tensors go then at the latest.</para>
/// <para>Thread-safety: <see cref="UnpackSaved"/>, <see cref="Save"/> and <c>release_variables</c> take the node's
/// lock; the backward callback keeps its state per thread (libtorch may run one node from passes on two threads at
/// once); building a node is single-threaded. A node's saved tensors are libtorch <c>SavedVariable</c>s: unpacking
/// after release raises PyTorch's "backward through the graph a second time" error, and after an in-place change
/// libtorch's version-check error (naming the node through the renamed <c>name()</c>).</para>
/// </remarks>
internal sealed unsafe partial class CustomNode
{
    [StructLayout(LayoutKind.Sequential)]
    private struct NodePtr
    {
        public IntPtr Shared;
        public IntPtr Weak;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TensorArray
    {
        public IntPtr* Array;
        public long Size;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate TensorArray ApplyCallback(IntPtr* gradients, int count);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void DeleteCallback();

    // Nodes libtorch has not destroyed yet, by C++ address: keeps the delegates alive, and lets release_variables
    // (a vtable slot, which gets only the address) find its node.
    private static readonly ConcurrentDictionary<IntPtr, CustomNode> Live = new();

    [ThreadStatic]
    private static IntPtr* s_allocated;

    [ThreadStatic]
    private static nuint s_allocatedLength;

    private readonly Lock _gate = new();
    private readonly ApplyCallback _apply;
    private readonly DeleteCallback _delete;
    private readonly Func<Tensor?[], Tensor?[]?> _backward;
    private readonly int _inputCount;
    private NodePtr _ptr;
    private IntPtr _address;
    private IntPtr[] _saved = [];
    private bool _freed;

    // The gradients this thread last handed to libtorch: it copies them as soon as the callback returns, before this
    // thread runs anything else, so they go at the thread's next callback (or the node's release_variables, which
    // the engine calls on the same thread right after). Per thread, not per node: two passes may run one node at once.
    [ThreadStatic]
    private static IntPtr* s_returned;

    [ThreadStatic]
    private static int s_returnedCount;

    private CustomNode(int inputCount, Func<Tensor?[], Tensor?[]?> backward)
    {
        _inputCount = inputCount;
        _backward = backward;
        _apply = Apply;
        _delete = Delete;
    }

    /// <summary>How many custom nodes libtorch still holds (for tests).</summary>
    internal static int LiveCount => Live.Count;

    /// <summary>
    /// A new node named <paramref name="name"/> for a function of <paramref name="inputCount"/> tensor inputs, held
    /// by the caller until <see cref="ReleaseOwnership"/>. <paramref name="backward"/> gets one gradient per output
    /// (null for an undefined one) and returns one per input, or null after recording its failure.
    /// </summary>
    /// <exception cref="NotSupportedException">The vtable check failed (see <see cref="CustomNodeAbi"/>).</exception>
    public static CustomNode Create(string name, int inputCount, Func<Tensor?[], Tensor?[]?> backward)
    {
        IntPtr vtable = CustomNodeAbi.VtableNamed(name);
        var node = new CustomNode(inputCount, backward);
        node._ptr = NativeMethods.THSAutograd_CSharpNode_ctor(
            Marshal.GetFunctionPointerForDelegate(node._apply), Marshal.GetFunctionPointerForDelegate(node._delete));
        if (node._ptr.Shared == IntPtr.Zero)
        {
            throw Ensure.PendingError("THSAutograd_CSharpNode_ctor returned no node.");
        }
        node._address = *(IntPtr*)node._ptr.Shared;
        Live[node._address] = node;
        // Only this thread knows the node yet: its vptr can be swapped for the named copy of the same vtable.
        if (*(IntPtr*)node._address != CustomNodeAbi.CSharpNodeVtable)
        {
            node.ReleaseOwnership();
            throw new NotSupportedException("TorchSharp's CSharpNode constructor made a node of another class.");
        }
        *(IntPtr*)node._address = vtable;
        return node;
    }

    /// <summary>The vtable (slot 0) of a fresh CSharpNode, for the first-use check; the node is destroyed at once.</summary>
    internal static IntPtr ProbeVtable()
    {
        NodePtr probe = NativeMethods.THSAutograd_CSharpNode_ctor(
            (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr*, int, TensorArray>)&ProbeApply, (IntPtr)(delegate* unmanaged[Cdecl]<void>)&ProbeDelete);
        if (probe.Shared == IntPtr.Zero)
        {
            throw Ensure.PendingError("THSAutograd_CSharpNode_ctor returned no node.");
        }
        IntPtr vtable = **(IntPtr**)probe.Shared;
        NativeMethods.THSAutograd_CSharpNode_disposeSharedPtr(probe);
        NativeMethods.THSAutograd_CSharpNode_disposeWeakPtr(probe);
        Ensure.NoPendingError();
        return vtable;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static TensorArray ProbeApply(IntPtr* gradients, int count) => default;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ProbeDelete()
    {
    }

    /// <summary>Edges to <paramref name="inputs"/>' grad_fns (or AccumulateGrads), then no input metadata yet.</summary>
    public void SetNextEdges(IReadOnlyList<Tensor> inputs)
    {
        using var handles = new Handles(inputs);
        NativeMethods.THSAutograd_CSharpNode_setNextEdges(_ptr, handles.Array, true);
        Ensure.NoPendingError();
        NativeMethods.THSAutograd_CSharpNode_clearInputMetadata(_ptr);
        Ensure.NoPendingError();
        GC.KeepAlive(inputs);
    }

    /// <summary>
    /// libtorch's <c>_wrap_outputs</c>: the outputs of a custom function's forward, as new tensors whose grad_fn is
    /// <paramref name="node"/> (null: the function is not recorded), with dirty inputs' versions bumped.
    /// </summary>
    /// <exception cref="AutogradException">libtorch refused (a dirty leaf that requires grad, …).</exception>
    public static Tensor[] WrapOutputs(CustomNode? node, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs,
        IReadOnlyList<Tensor> nonDifferentiable, IReadOnlyList<Tensor> dirty)
    {
        using var vars = new Handles(inputs);
        using var nonDiff = new Handles(nonDifferentiable);
        using var dirtyHandles = new Handles(dirty);
        using var outs = new Handles(outputs);
        s_allocated = null;
        s_allocatedLength = 0;
        NativeMethods.THSAutograd_Function_wrapOutputs(vars.Array, nonDiff.Array, dirtyHandles.Array, outs.Array,
            node?._ptr ?? default, &Allocate);
        IntPtr* result = s_allocated;
        nuint length = s_allocatedLength;
        s_allocated = null;
        GC.KeepAlive(inputs);
        GC.KeepAlive(outputs);
        GC.KeepAlive(nonDifferentiable);
        GC.KeepAlive(dirty);
        GC.KeepAlive(node);
        try
        {
            Ensure.NoPendingError();
            if (result is null || (int)length != outputs.Count)
            {
                throw new AutogradException("libtorch's _wrap_outputs returned no outputs.");
            }
            var wrapped = new Tensor[(int)length];
            for (int i = 0; i < wrapped.Length; i++)
            {
                wrapped[i] = Tensor.UnsafeCreateTensor(result[i]);
                result[i] = IntPtr.Zero;
            }
            return wrapped;
        }
        finally
        {
            if (result is not null)
            {
                for (nuint i = 0; i < length; i++)
                {
                    if (result[i] != IntPtr.Zero)
                    {
                        NativeMethods.THSTensor_dispose(result[i]);
                    }
                }
                NativeMemory.Free(result);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr* Allocate(nuint length)
    {
        s_allocated = (IntPtr*)NativeMemory.AllocZeroed(length == 0 ? 1 : length, (nuint)IntPtr.Size);
        s_allocatedLength = length;
        return s_allocated;
    }

    /// <summary>
    /// Saves <paramref name="tensors"/> as libtorch <c>SavedVariable</c>s of this node (an output of the node is
    /// saved without a reference cycle; each records its version for the in-place check).
    /// </summary>
    public void Save(IReadOnlyList<Tensor?> tensors)
    {
        var saved = new IntPtr[tensors.Count];
        try
        {
            for (int i = 0; i < saved.Length; i++)
            {
                if (tensors[i] is { } t)
                {
                    saved[i] = NativeMethods.THSAutograd_SavedVariable_ctor(t.Handle, _ptr, false);
                    Ensure.NoPendingError();
                }
            }
        }
        catch
        {
            DisposeSaved(saved);
            throw;
        }
        finally
        {
            GC.KeepAlive(tensors);
        }
        lock (_gate)
        {
            _saved = saved;
        }
    }

    /// <summary>The saved tensors, each a new tensor the caller owns (null where null was saved).</summary>
    /// <exception cref="GraphFreedException">A backward pass that did not retain the graph freed them.</exception>
    /// <exception cref="AutogradException">One was modified in place since (libtorch's version check).</exception>
    public Tensor?[] UnpackSaved()
    {
        lock (_gate)
        {
            if (_freed)
            {
                throw Ensure.FromNativeText(GraphFreedText);
            }
            var result = new Tensor?[_saved.Length];
            try
            {
                for (int i = 0; i < result.Length; i++)
                {
                    if (_saved[i] != IntPtr.Zero)
                    {
                        IntPtr t = NativeMethods.THSAutograd_SavedVariable_unpack(_saved[i], _ptr);
                        if (t == IntPtr.Zero)
                        {
                            throw Ensure.PendingError("SavedVariable::unpack returned no tensor.");
                        }
                        result[i] = Tensor.UnsafeCreateTensor(t);
                    }
                }
                return result;
            }
            catch
            {
                foreach (Tensor? t in result)
                {
                    t?.Dispose();
                }
                throw;
            }
        }
    }

    /// <summary>libtorch's text for a saved tensor read after release (saved_variable.cpp's ERR_BACKWARD_TWICE).</summary>
    internal const string GraphFreedText =
        "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). " +
        "Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True " +
        "if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.";

    /// <summary>Drops the caller's reference: from now on the outputs' grad_fn links keep the node alive.</summary>
    public void ReleaseOwnership()
    {
        if (_ptr.Shared != IntPtr.Zero)
        {
            NodePtr ptr = _ptr;
            _ptr.Shared = IntPtr.Zero;
            NativeMethods.THSAutograd_CSharpNode_disposeSharedPtr(ptr);
            Ensure.ClearPendingError();
        }
    }

    /// <summary>The engine's <c>release_variables()</c> for the node at <paramref name="address"/>.</summary>
    internal static void ReleaseVariablesOf(IntPtr address)
    {
        FreeReturned();
        if (Live.TryGetValue(address, out CustomNode? node))
        {
            node.FreeSaved();
        }
    }

    private void FreeSaved()
    {
        IntPtr[] saved;
        lock (_gate)
        {
            saved = _saved;
            _saved = [];
            _freed = true;
        }
        DisposeSaved(saved);
    }

    private static void DisposeSaved(IntPtr[] saved)
    {
        foreach (IntPtr s in saved)
        {
            if (s != IntPtr.Zero)
            {
                NativeMethods.THSAutograd_SavedVariable_dispose(s);
            }
        }
        Ensure.ClearPendingError();
    }

    private static void FreeReturned()
    {
        IntPtr* returned = s_returned;
        int count = s_returnedCount;
        s_returned = null;
        s_returnedCount = 0;
        if (returned is null)
        {
            return;
        }
        for (int i = 0; i < count; i++)
        {
            if (returned[i] != IntPtr.Zero)
            {
                NativeMethods.THSTensor_dispose(returned[i]);
            }
        }
        NativeMemory.Free(returned);
    }

    private static TensorArray Returned(IntPtr* array, int count)
    {
        FreeReturned();
        s_returned = array;
        s_returnedCount = count;
        return new TensorArray { Array = array, Size = count };
    }

    private TensorArray Apply(IntPtr* gradients, int count)
    {
        try
        {
            var handles = (IntPtr*)Run(gradients, count, out int length);
            // Only now, with everything the backward made already disposed (which may run other nodes' deleters),
            // does this array become the thread's pending one.
            return handles is null ? Failure() : Returned(handles, length);
        }
        catch (Exception e)
        {
            HookErrors.Record(e);
            return Failure();
        }
    }

    // The backward, inside a dispose scope: every tensor it makes (the gradients handed to it included) goes when it
    // returns; libtorch gets new handles of the returned ones (null: failed, recorded).
    private IntPtr Run(IntPtr* gradients, int count, out int length)
    {
        length = 0;
        using DisposeScope scope = torch.NewDisposeScope();
        var grads = new Tensor?[count];
        for (int i = 0; i < count; i++)
        {
            grads[i] = gradients[i] == IntPtr.Zero ? null : Tensor.UnsafeCreateTensor(gradients[i]);
        }
        Tensor?[]? result = _backward(grads);
        if (result is null)
        {
            return IntPtr.Zero;
        }
        var handles = (IntPtr*)NativeMemory.AllocZeroed((nuint)Math.Max(1, result.Length), (nuint)IntPtr.Size);
        try
        {
            for (int i = 0; i < result.Length; i++)
            {
                Tensor? g = result[i];
                handles[i] = g is null ? IntPtr.Zero : NativeMethods.THSTensor_alias(g.Handle);
                GC.KeepAlive(g);
            }
            length = result.Length;
            return (IntPtr)handles;
        }
        catch
        {
            for (int i = 0; i < result.Length; i++)
            {
                if (handles[i] != IntPtr.Zero)
                {
                    NativeMethods.THSTensor_dispose(handles[i]);
                }
            }
            NativeMemory.Free(handles);
            throw;
        }
    }

    // One undefined gradient more than the node has inputs: the engine's validate_outputs rejects it, catchably.
    private TensorArray Failure()
    {
        int count = _inputCount + 1;
        return Returned((IntPtr*)NativeMemory.AllocZeroed((nuint)count, (nuint)IntPtr.Size), count);
    }

    private void Delete()
    {
        try
        {
            Live.TryRemove(_address, out _);
            FreeSaved();
            lock (_gate)
            {
                NodePtr ptr = _ptr;
                _ptr = default;
                if (ptr.Weak != IntPtr.Zero)
                {
                    NativeMethods.THSAutograd_CSharpNode_disposeWeakPtr(ptr);
                }
            }
            Ensure.ClearPendingError();
        }
        catch (Exception e)
        {
            HookErrors.Record(e);
        }
    }

    /// <summary>A TorchSharp TensorArray of handles, in native memory for the duration of one call.</summary>
    private readonly struct Handles : IDisposable
    {
        public readonly TensorArray Array;

        public Handles(IReadOnlyList<Tensor?> tensors)
        {
            var block = (IntPtr*)NativeMemory.AllocZeroed((nuint)Math.Max(1, tensors.Count), (nuint)IntPtr.Size);
            for (int i = 0; i < tensors.Count; i++)
            {
                block[i] = tensors[i]?.Handle ?? IntPtr.Zero;
            }
            Array = new TensorArray { Array = block, Size = tensors.Count };
        }

        public void Dispose() => NativeMemory.Free(Array.Array);
    }

    private static partial class NativeMethods
    {
        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_CSharpNode_ctor")]
        internal static partial NodePtr THSAutograd_CSharpNode_ctor(IntPtr apply, IntPtr delete);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_CSharpNode_disposeSharedPtr")]
        internal static partial void THSAutograd_CSharpNode_disposeSharedPtr(NodePtr node);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_CSharpNode_disposeWeakPtr")]
        internal static partial void THSAutograd_CSharpNode_disposeWeakPtr(NodePtr node);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_CSharpNode_setNextEdges")]
        internal static partial void THSAutograd_CSharpNode_setNextEdges(NodePtr node, TensorArray vars, [MarshalAs(UnmanagedType.U1)] bool isExecutable);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_CSharpNode_clearInputMetadata")]
        internal static partial void THSAutograd_CSharpNode_clearInputMetadata(NodePtr node);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_Function_wrapOutputs")]
        internal static partial void THSAutograd_Function_wrapOutputs(TensorArray vars, TensorArray nonDiff, TensorArray dirty,
            TensorArray outputs, NodePtr node, delegate* unmanaged[Cdecl]<nuint, IntPtr*> allocator);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_SavedVariable_ctor")]
        internal static partial IntPtr THSAutograd_SavedVariable_ctor(IntPtr tensor, NodePtr node, [MarshalAs(UnmanagedType.U1)] bool isInplaceOnView);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_SavedVariable_dispose")]
        internal static partial void THSAutograd_SavedVariable_dispose(IntPtr saved);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_SavedVariable_unpack")]
        internal static partial IntPtr THSAutograd_SavedVariable_unpack(IntPtr saved, NodePtr savedFor);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_alias")]
        internal static partial IntPtr THSTensor_alias(IntPtr tensor);

        [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSTensor_dispose")]
        internal static partial void THSTensor_dispose(IntPtr tensor);
    }
}
