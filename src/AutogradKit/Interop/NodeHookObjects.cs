using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// What a node hook of ours does with the gradients libtorch hands it: a pre-hook gets (grad_outputs, empty), a
/// post-hook (grad_inputs, grad_outputs). Returns the replacement of the first list (same length), or null to keep it.
/// Throws to fail the hook: the exception is recorded for the pass (<see cref="HookErrors"/>).
/// </summary>
internal delegate Tensor?[]? NodeHookBody(Tensor?[] first, Tensor?[] second);

/// <summary>The kinds of C++ hook object AutogradKit builds.</summary>
internal enum NodeHookKind
{
    /// <summary>A <c>FunctionPreHook</c> in <c>Node::pre_hooks_</c>.</summary>
    Pre,

    /// <summary>A <c>FunctionPostHook</c> in <c>Node::post_hooks_</c>.</summary>
    Post,

    /// <summary>A <c>PostAccumulateGradHook</c> in <c>AutogradMeta::post_acc_grad_hooks_</c>.</summary>
    PostAccumulateGrad,
}

/// <summary>
/// The post-accumulate-grad hooks of one tensor: libtorch keeps one hook object a tensor, and ours runs these in
/// registration order. Thread-safe (registration, removal and calls may come from different threads).
/// </summary>
internal sealed class PostAccumulateGradList
{
    private readonly Lock _gate = new();
    private readonly List<(long Key, Action<Tensor> Hook)> _hooks = [];
    private long _lastKey;

    /// <summary>Adds a hook after the others; returns its key for <see cref="Remove"/>.</summary>
    public long Add(Action<Tensor> hook)
    {
        lock (_gate)
        {
            _hooks.Add((++_lastKey, hook));
            return _lastKey;
        }
    }

    /// <summary>Removes the hook of <paramref name="key"/>; nothing when it is gone.</summary>
    public void Remove(long key)
    {
        lock (_gate)
        {
            _hooks.RemoveAll(h => h.Key == key);
        }
    }

    /// <summary>The hooks now registered, in order.</summary>
    public Action<Tensor>[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _hooks.Select(h => h.Hook)];
        }
    }
}

/// <summary>
/// The C++ hook objects AutogradKit puts into libtorch's node and tensor hook slots (torch/csrc/autograd/function_hook.h):
/// 16 bytes of unmanaged memory each — a vtable of ours, then an id into this class's table of managed bodies. libtorch
/// owns each object through a <c>std::unique_ptr</c> and deletes it (our deleting destructor) with its node or tensor;
/// removing a hook never touches libtorch's vectors (a pass on another thread may be iterating them): it drops the
/// managed body, and the object passes the gradients through from then on.
/// </summary>
/// <remarks>
/// Thread-safe: libtorch calls and destroys the objects on its autograd threads and on whatever thread frees a node
/// (the finalizer thread included). No managed exception ever unwinds into libtorch: a body's exception is recorded
/// for the pass (<see cref="HookErrors"/>), and the hook then hands on undefined gradients (what the node receives or
/// gives contributes nothing downstream), since libtorch has no error channel from a hook object to the engine.
/// </remarks>
internal static unsafe class NodeHookObjects
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<long, object?> Bodies = [];
    private static long s_lastId;

    private static readonly Lazy<IntPtr[]> Vtables = new(BuildVtables, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>How many hook objects are alive (libtorch still holds them), for tests and the first-use check.</summary>
    public static int Count
    {
        get
        {
            lock (Gate)
            {
                return Bodies.Count;
            }
        }
    }

    /// <summary>Whether libtorch still holds the object of <paramref name="id"/>.</summary>
    public static bool Contains(long id)
    {
        lock (Gate)
        {
            return Bodies.ContainsKey(id);
        }
    }

    /// <summary>A new object of <paramref name="kind"/> running <paramref name="body"/> (a <see cref="NodeHookBody"/> or a <see cref="PostAccumulateGradList"/>).</summary>
    public static (IntPtr Object, long Id) Create(NodeHookKind kind, object body)
    {
        _ = StdFunctionHooks.UndefinedTensorImpl; // resolve now, not on an autograd thread
        IntPtr vtable = Vtables.Value[(int)kind];
        long id;
        lock (Gate)
        {
            id = ++s_lastId;
            Bodies.Add(id, body);
        }
        var self = (long*)NativeMemory.Alloc(AbiFacts.NodeHooks.ObjectSize);
        self[0] = vtable;
        self[1] = id;
        return ((IntPtr)self, id);
    }

    /// <summary>Deletes an object libtorch did not take.</summary>
    public static void Delete(IntPtr self) => Free(self, deleteMemory: true);

    /// <summary>Whether <paramref name="self"/> is one of our objects of <paramref name="kind"/>.</summary>
    public static bool IsOurs(IntPtr self, NodeHookKind kind) => self != IntPtr.Zero && *(IntPtr*)self == Vtables.Value[(int)kind];

    /// <summary>The id of our object <paramref name="self"/>.</summary>
    public static long IdOf(IntPtr self) => ((long*)self)[1];

    /// <summary>The body of <paramref name="id"/>, or null once removed (or gone).</summary>
    public static object? Find(long id)
    {
        lock (Gate)
        {
            return Bodies.TryGetValue(id, out object? body) ? body : null;
        }
    }

    /// <summary>Drops the body of <paramref name="id"/>: its object passes gradients through from now on.</summary>
    public static void Disable(long id)
    {
        lock (Gate)
        {
            if (Bodies.ContainsKey(id))
            {
                Bodies[id] = null;
            }
        }
    }

    private static IntPtr[] BuildVtables()
    {
        IntPtr torch = NativeLibrary.Load(Libraries.TorchCpu, typeof(NodeHookObjects).Assembly, null);
        if (CxxExports.IsMsvc)
        {
            // Each prefix word is the RTTI locator of libtorch's own vftable for the class (vftable[-1]).
            return
            [
                MsvcVtable(NativeLibrary.GetExport(torch, MsvcVftables[(int)NodeHookKind.Pre]), (IntPtr)(delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, IntPtr*>)&CallPreMsvc),
                MsvcVtable(NativeLibrary.GetExport(torch, MsvcVftables[(int)NodeHookKind.Post]), (IntPtr)(delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, IntPtr*, IntPtr*>)&CallPostMsvc),
                MsvcVtable(NativeLibrary.GetExport(torch, MsvcVftables[(int)NodeHookKind.PostAccumulateGrad]), (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, void>)&CallPostAccumulateGrad),
            ];
        }
        IntPtr preInfo = NativeLibrary.GetExport(torch, "_ZTIN5torch8autograd15FunctionPreHookE");
        // PostAccumulateGradHook's type_info is not exported; nothing outside libtorch_python asks a hook for its type.
        IntPtr postInfo = NativeLibrary.GetExport(torch, "_ZTIN5torch8autograd16FunctionPostHookE");
        return
        [
            Vtable(preInfo, (IntPtr)(delegate* unmanaged<IntPtr*, IntPtr, IntPtr*, IntPtr*>)&CallPre),
            Vtable(postInfo, (IntPtr)(delegate* unmanaged<IntPtr*, IntPtr, IntPtr*, IntPtr*, IntPtr*>)&CallPost),
            Vtable(postInfo, (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, void>)&CallPostAccumulateGrad),
        ];
    }

    /// <summary>
    /// The vftables MSVC's <c>torch_cpu.dll</c> exports for the three hook classes, by <see cref="NodeHookKind"/>: their
    /// locators go into ours, and the first-use check reads their shape (<see cref="AbiFacts.Msvc.NodeHooks"/>).
    /// </summary>
    internal static readonly string[] MsvcVftables =
    [
        "??_7FunctionPreHook@autograd@torch@@6B@",
        "??_7FunctionPostHook@autograd@torch@@6B@",
        "??_7PostAccumulateGradHook@autograd@torch@@6B@",
    ];

    // Never freed: one per kind per process.
    private static IntPtr Vtable(IntPtr typeInfo, IntPtr call)
    {
        int words = AbiFacts.NodeVtable.PrefixWords + AbiFacts.NodeHooks.SlotCount;
        var block = (IntPtr*)NativeMemory.AllocZeroed((nuint)(words * IntPtr.Size));
        block[0] = IntPtr.Zero; // offset-to-top
        block[1] = typeInfo;
        IntPtr* slots = block + AbiFacts.NodeVtable.PrefixWords;
        slots[AbiFacts.NodeHooks.DestructorSlot] = (IntPtr)(delegate* unmanaged<IntPtr, void>)&Destroy;
        slots[AbiFacts.NodeHooks.DeletingDestructorSlot] = (IntPtr)(delegate* unmanaged<IntPtr, void>)&DeleteFromNative;
        slots[AbiFacts.NodeHooks.CallSlot] = call;
        for (int s = AbiFacts.NodeHooks.CallSlot + 1; s < AbiFacts.NodeHooks.SlotCount; s++)
        {
            slots[s] = (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, IntPtr, void>)&CompiledAutogradOnly;
        }
        return (IntPtr)slots;
    }

    // Never freed: one per kind per process.
    private static IntPtr MsvcVtable(IntPtr libtorchVftable, IntPtr call)
    {
        int words = AbiFacts.Msvc.NodeHooks.PrefixWords + AbiFacts.Msvc.NodeHooks.SlotCount;
        var block = (IntPtr*)NativeMemory.AllocZeroed((nuint)(words * IntPtr.Size));
        block[0] = ((IntPtr*)libtorchVftable)[-AbiFacts.Msvc.NodeHooks.PrefixWords];
        IntPtr* slots = block + AbiFacts.Msvc.NodeHooks.PrefixWords;
        slots[AbiFacts.Msvc.NodeHooks.DeletingDestructorSlot] = (IntPtr)(delegate* unmanaged<IntPtr, uint, IntPtr>)&ScalarDeletingDestructor;
        slots[AbiFacts.Msvc.NodeHooks.CallSlot] = call;
        for (int s = AbiFacts.Msvc.NodeHooks.CallSlot + 1; s < AbiFacts.Msvc.NodeHooks.SlotCount; s++)
        {
            slots[s] = (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, IntPtr, void>)&CompiledAutogradOnly;
        }
        return (IntPtr)slots;
    }

    private static void Free(IntPtr self, bool deleteMemory)
    {
        lock (Gate)
        {
            Bodies.Remove(IdOf(self));
        }
        if (deleteMemory)
        {
            NativeMemory.Free((void*)self);
        }
    }

    [UnmanagedCallersOnly]
    private static void Destroy(IntPtr self)
    {
        try
        {
            Free(self, deleteMemory: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Never unwind into a destructor's caller.
        }
    }

    [UnmanagedCallersOnly]
    private static void DeleteFromNative(IntPtr self)
    {
        try
        {
            Free(self, deleteMemory: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Never unwind into a destructor's caller.
        }
    }

    /// <summary>MSVC's scalar deleting destructor <c>(this, flags)</c>: destroys, and frees when <c>flags &amp; 1</c>; returns <c>this</c>.</summary>
    [UnmanagedCallersOnly]
    private static IntPtr ScalarDeletingDestructor(IntPtr self, uint flags)
    {
        try
        {
            Free(self, deleteMemory: (flags & AbiFacts.Msvc.DeletingDestructorFreeFlag) != 0);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Never unwind into a destructor's caller.
        }
        return self;
    }

    [UnmanagedCallersOnly]
    private static void CompiledAutogradOnly(IntPtr self, IntPtr first, IntPtr second)
    {
        // compiled_args / apply_with_saved: compiled autograd (torch.compile) only, which never runs under TorchSharp.
    }

    /// <summary><c>variable_list FunctionPreHook::operator()(const variable_list&amp; grads)</c>, sret first.</summary>
    [UnmanagedCallersOnly]
    private static IntPtr* CallPre(IntPtr* result, IntPtr self, IntPtr* grads)
    {
        Run(result, self, grads, null);
        return result;
    }

    /// <summary><c>variable_list FunctionPostHook::operator()(const variable_list&amp; outputs, const variable_list&amp; inputs)</c>, sret first.</summary>
    [UnmanagedCallersOnly]
    private static IntPtr* CallPost(IntPtr* result, IntPtr self, IntPtr* outputs, IntPtr* inputs)
    {
        Run(result, self, outputs, inputs);
        return result;
    }

    /// <summary>MSVC's <c>FunctionPreHook::operator()</c>: <c>this</c> first, then the hidden result pointer, returned.</summary>
    [UnmanagedCallersOnly]
    private static IntPtr* CallPreMsvc(IntPtr self, IntPtr* result, IntPtr* grads)
    {
        Run(result, self, grads, null);
        return result;
    }

    /// <summary>MSVC's <c>FunctionPostHook::operator()</c>: <c>this</c> first, then the hidden result pointer, returned.</summary>
    [UnmanagedCallersOnly]
    private static IntPtr* CallPostMsvc(IntPtr self, IntPtr* result, IntPtr* outputs, IntPtr* inputs)
    {
        Run(result, self, outputs, inputs);
        return result;
    }

    /// <summary><c>void PostAccumulateGradHook::operator()(const Variable&amp; tensor)</c>.</summary>
    [UnmanagedCallersOnly]
    private static void CallPostAccumulateGrad(IntPtr self, IntPtr tensor)
    {
        try
        {
            if (Find(IdOf(self)) is not PostAccumulateGradList list)
            {
                return;
            }
            foreach (Action<Tensor> hook in list.Snapshot())
            {
                Tensor wrapper = Wrap(tensor)!;
                try
                {
                    hook(wrapper);
                }
                finally
                {
                    wrapper.Dispose();
                }
            }
        }
        catch (Exception e)
        {
            // libtorch cannot be told: the pass goes on and its caller gets the exception when it ends.
            HookErrors.Record(e);
        }
    }

    private static void Run(IntPtr* result, IntPtr self, IntPtr* first, IntPtr* second)
    {
        int count = Length(first);
        try
        {
            if (Find(IdOf(self)) is not NodeHookBody body)
            {
                WriteCopy(result, first);
                return;
            }
            Tensor?[] wrappedFirst = WrapAll(first);
            Tensor?[] wrappedSecond = second is null ? [] : WrapAll(second);
            try
            {
                Tensor?[]? replacement = body(wrappedFirst, wrappedSecond);
                if (replacement is null)
                {
                    WriteCopy(result, first);
                }
                else if (replacement.Length != count)
                {
                    throw new InvalidOperationException($"a node hook returned {replacement.Length} gradients for {count}");
                }
                else
                {
                    WriteList(result, replacement);
                }
            }
            finally
            {
                DisposeAll(wrappedFirst);
                DisposeAll(wrappedSecond);
            }
        }
        catch (Exception e)
        {
            HookErrors.Record(e);
            WriteUndefined(result, count);
        }
    }

    private static int Length(IntPtr* vector) => (int)(((long)vector[1] - (long)vector[0]) / IntPtr.Size);

    private static Tensor?[] WrapAll(IntPtr* vector)
    {
        int count = Length(vector);
        var tensors = new Tensor?[count];
        for (int i = 0; i < count; i++)
        {
            tensors[i] = Wrap(vector[0] + (i * IntPtr.Size));
        }
        return tensors;
    }

    /// <summary>A fresh wrapper of the <c>at::Tensor</c> at <paramref name="tensor"/>, or null when it is undefined.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Tensor? Wrap(IntPtr tensor)
    {
        IntPtr impl = *(IntPtr*)tensor;
        if (impl == IntPtr.Zero || impl == StdFunctionHooks.UndefinedTensorImpl)
        {
            return null;
        }
        IntPtr handle = NativeMethods.THSTensor_alias(tensor);
        if (handle == IntPtr.Zero)
        {
            throw Ensure.FromNativeText(NativeMethods.TakeNativeError() ?? "could not wrap a gradient passed to a hook");
        }
        // Detached: hooks run outside the caller's dispose scopes, and the wrapper is ours to dispose.
        return Tensor.UnsafeCreateTensor(handle).DetachFromDisposeScope();
    }

    private static void DisposeAll(Tensor?[] tensors)
    {
        foreach (Tensor? t in tensors)
        {
            t?.Dispose();
        }
    }

    /// <summary>Writes a new <c>std::vector&lt;at::Tensor&gt;</c> into <paramref name="result"/> (raw memory) holding <paramref name="tensors"/>, each with a reference of its own.</summary>
    private static void WriteList(IntPtr* result, Tensor?[] tensors)
    {
        // Take every reference before allocating, so that a failure leaves nothing to undo but what was taken.
        var impls = new IntPtr[tensors.Length];
        IntPtr undefined = StdFunctionHooks.UndefinedTensorImpl;
        for (int i = 0; i < tensors.Length; i++)
        {
            impls[i] = tensors[i] is { } t ? TakeImpl(NativeMethods.THSTensor_alias(t.Handle)) : undefined;
            GC.KeepAlive(tensors[i]);
        }
        IntPtr* storage = Allocate(tensors.Length);
        impls.CopyTo(new Span<IntPtr>(storage, impls.Length));
        SetVector(result, storage, impls.Length);
    }

    /// <summary>Writes a copy of <paramref name="source"/> into <paramref name="result"/>, one more reference on each defined tensor.</summary>
    private static void WriteCopy(IntPtr* result, IntPtr* source)
    {
        int count = Length(source);
        var impls = new IntPtr[count];
        IntPtr undefined = StdFunctionHooks.UndefinedTensorImpl;
        for (int i = 0; i < count; i++)
        {
            IntPtr element = source[0] + (i * IntPtr.Size);
            IntPtr impl = *(IntPtr*)element;
            impls[i] = impl == IntPtr.Zero || impl == undefined ? undefined : TakeImpl(NativeMethods.THSTensor_alias(element));
        }
        IntPtr* storage = Allocate(count);
        impls.CopyTo(new Span<IntPtr>(storage, count));
        SetVector(result, storage, count);
    }

    private static void WriteUndefined(IntPtr* result, int count)
    {
        IntPtr* storage = Allocate(count);
        new Span<IntPtr>(storage, count).Fill(StdFunctionHooks.UndefinedTensorImpl);
        SetVector(result, storage, count);
    }

    /// <summary>
    /// A buffer of <paramref name="count"/> tensors that libtorch's <c>std::allocator</c> will free: MSVC's frees a big
    /// block from the address stored in the word before it (<see cref="AbiFacts.Msvc.BigAllocationThreshold"/>),
    /// so a big one is made the way <c>_Allocate_manually_vector_aligned</c> makes it.
    /// </summary>
    private static IntPtr* Allocate(int count)
    {
        if (count == 0)
        {
            return null;
        }
        int bytes = count * IntPtr.Size;
        if (!CxxExports.IsMsvc || bytes < AbiFacts.Msvc.BigAllocationThreshold)
        {
            return (IntPtr*)CheckAllocated(NativeMethods.OperatorNew((nuint)bytes));
        }
        IntPtr container = CheckAllocated(NativeMethods.OperatorNew((nuint)(bytes + AbiFacts.Msvc.BigAllocationExtra)));
        var aligned = (IntPtr*)((container + AbiFacts.Msvc.BigAllocationExtra) & ~(IntPtr)(AbiFacts.Msvc.BigAllocationAlignment - 1));
        aligned[-1] = container;
        return aligned;
    }

    private static IntPtr CheckAllocated(IntPtr block) => block != IntPtr.Zero ? block : throw new InsufficientMemoryException("libtorch's allocator could not allocate a gradient list");

    private static void SetVector(IntPtr* result, IntPtr* storage, int count)
    {
        result[0] = (IntPtr)storage;
        result[1] = (IntPtr)(storage + count);
        result[2] = (IntPtr)(storage + count);
    }

    /// <summary>The TensorImpl* of an owning <c>at::Tensor*</c>, keeping its reference, with the 8-byte heap shell freed undestroyed.</summary>
    private static IntPtr TakeImpl(IntPtr tensorHandle)
    {
        if (tensorHandle == IntPtr.Zero)
        {
            throw Ensure.FromNativeText(NativeMethods.TakeNativeError() ?? "could not take a tensor returned by a hook");
        }
        IntPtr impl = *(IntPtr*)tensorHandle;
        NativeMethods.OperatorDelete(tensorHandle); // operator delete's rule for any small new'ed block (CxxExports.OperatorDelete)
        return impl;
    }
}
