using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// A <c>std::function&lt;at::TensorBase(const at::TensorBase&amp;)&gt;</c> of this platform's C++ library, in a buffer
/// that fits either: libstdc++'s (x86-64, 32 bytes: <c>_Any_data _M_functor</c>, whose first word is here an id into
/// <see cref="HookTable"/>, then <c>_M_manager</c> and <c>_M_invoker</c>) or MSVC's (64 bytes: in-place storage, and the
/// <c>_Func_base*</c> at <see cref="AbiFacts.Msvc.TensorHooks.ImplOffset"/>). Only <see cref="StdFunctionHooks"/> reads
/// or writes it.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = AbiFacts.Msvc.TensorHooks.StdFunctionSize)]
internal struct StdFunction
{
    /// <summary>The first word; the rest is reached through the struct's address.</summary>
    public long First;
}

/// <summary>
/// The <see cref="StdFunction"/>s AutogradKit gives libtorch, on both ABIs: under libstdc++ a manager and an invoker
/// (function pointers in the function itself); under MSVC an implementation object of ours stored in place (a vtable of
/// <c>_Func_base</c>'s six functions, then the id), so libtorch never allocates or frees anything of ours. Both run C#
/// hooks from <see cref="HookTable"/> and never let a managed exception reach the native frames that called them.
/// </summary>
/// <remarks>Thread-safe: libtorch calls them on any autograd worker thread, and destroys copies on whatever thread frees a tensor or a graph node (the finalizer thread included).</remarks>
internal static unsafe class StdFunctionHooks
{
    private static readonly Lazy<IntPtr> UndefinedImpl = new(NativeMethods.UndefinedTensorImpl, LazyThreadSafetyMode.ExecutionAndPublication);

    // MSVC: our _Func_base vtable and the type_info _Target_type answers with; one each per process, never freed
    // (libtorch may call through them at any time).
    private static readonly IntPtr* MsvcVtable = CxxExports.IsMsvc ? BuildMsvcVtable() : null;
    private static readonly IntPtr MsvcTypeInfo = CxxExports.IsMsvc ? BuildMsvcTypeInfo() : IntPtr.Zero;

    private static int s_typeInfoRequests;

    [ThreadStatic]
    private static IntPtr s_lastCloneDestination;

    /// <summary>
    /// Where libtorch last copied one of our functions on this thread (the copy's address): for the first-use check
    /// of <see cref="HookLists"/>, which compares it with the storage of the list the copy went into.
    /// </summary>
    public static IntPtr LastCloneDestination => s_lastCloneDestination;

    /// <summary><c>sizeof(std::function)</c> on this platform: the stride of a hook list.</summary>
    public static int Size => CxxExports.IsMsvc ? AbiFacts.Msvc.TensorHooks.StdFunctionSize : AbiFacts.StdFunction.Size;

    /// <summary>How often libtorch asked a hook for its <c>type_info</c> (<c>target_type()</c>), which it must never need.</summary>
    public static int TypeInfoRequests => Volatile.Read(ref s_typeInfoRequests);

    /// <summary>The TensorImpl* of every undefined tensor (<c>c10::UndefinedTensorImpl::singleton()</c>).</summary>
    public static IntPtr UndefinedTensorImpl => UndefinedImpl.Value;

    /// <summary>Makes <paramref name="function"/> a function whose only copy holds the reference <see cref="HookTable.Add"/> gave <paramref name="id"/>.</summary>
    public static void Create(StdFunction* function, long id)
    {
        _ = UndefinedImpl.Value; // resolve now, not on an autograd thread
        long* words = (long*)function;
        new Span<byte>(function, sizeof(StdFunction)).Clear();
        if (CxxExports.IsMsvc)
        {
            // In place, as MSVC stores a small callable: the implementation pointer is the function's own address.
            words[0] = (long)MsvcVtable;
            words[1] = id;
            *(IntPtr*)((byte*)function + AbiFacts.Msvc.TensorHooks.ImplOffset) = (IntPtr)function;
        }
        else
        {
            words[0] = id;
            *(IntPtr*)((byte*)function + AbiFacts.StdFunction.ManagerOffset) = (IntPtr)(delegate* unmanaged<long*, long*, int, byte>)&Manage;
            *(IntPtr*)((byte*)function + AbiFacts.StdFunction.ManagerOffset + IntPtr.Size) = (IntPtr)(delegate* unmanaged<IntPtr*, long*, IntPtr*, IntPtr>)&Invoke;
        }
    }

    /// <summary>
    /// What the caller of a function taking <paramref name="function"/> by value does after the call: under libstdc++
    /// (Itanium ABI) the caller destroys the temporary, as its destructor would; under MSVC the callee already did.
    /// </summary>
    public static void AfterCall(StdFunction* function)
    {
        if (CxxExports.IsMsvc)
        {
            return;
        }
        IntPtr* manager = (IntPtr*)((byte*)function + AbiFacts.StdFunction.ManagerOffset);
        if (*manager != IntPtr.Zero)
        {
            ((delegate* unmanaged<long*, long*, int, byte>)*manager)((long*)function, (long*)function, AbiFacts.StdFunction.DestroyFunctor);
            *manager = IntPtr.Zero;
        }
    }

    /// <summary>The <see cref="HookTable"/> id of the function at <paramref name="function"/> (an element of a hook list), or null when it is not ours or was emptied.</summary>
    public static long? IdOf(byte* function)
    {
        if (CxxExports.IsMsvc)
        {
            byte* impl = *(byte**)(function + AbiFacts.Msvc.TensorHooks.ImplOffset);
            return impl == function && *(IntPtr**)impl == MsvcVtable ? *(long*)(impl + IntPtr.Size) : null;
        }
        return *(IntPtr*)(function + AbiFacts.StdFunction.ManagerOffset) == (IntPtr)(delegate* unmanaged<long*, long*, int, byte>)&Manage ? *(long*)function : null;
    }

    [UnmanagedCallersOnly]
    private static byte Manage(long* dest, long* source, int operation)
    {
        try
        {
            switch (operation)
            {
                case AbiFacts.StdFunction.GetTypeInfo:
                    // No RTTI for a managed functor: target_type() would see null, and libtorch never asks.
                    *(IntPtr*)dest = IntPtr.Zero;
                    Interlocked.Increment(ref s_typeInfoRequests);
                    break;
                case AbiFacts.StdFunction.GetFunctorPointer:
                    *(IntPtr*)dest = (IntPtr)source;
                    break;
                case AbiFacts.StdFunction.CloneFunctor:
                    dest[0] = source[0];
                    dest[1] = 0;
                    s_lastCloneDestination = (IntPtr)dest;
                    HookTable.AddReference(source[0]);
                    break;
                case AbiFacts.StdFunction.DestroyFunctor:
                    HookTable.Release(dest[0]);
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Nothing sensible to report from a copy or a destructor; never unwind into libtorch.
        }
        return 0;
    }

    [UnmanagedCallersOnly]
    private static IntPtr Invoke(IntPtr* result, long* functor, IntPtr* gradient) => Call(result, functor[0], gradient);

    /// <summary>Both ABIs' call: runs hook <paramref name="id"/> on <c>*gradient</c> and writes the TensorImpl* to return into the sret slot.</summary>
    private static IntPtr Call(IntPtr* result, long id, IntPtr* gradient)
    {
        IntPtr undefined = UndefinedImpl.Value;
        IntPtr outcome = undefined;
        try
        {
            IntPtr impl = *gradient;
            Func<Tensor, Tensor?>? hook = HookTable.Find(id);
            if (hook is not null && impl != IntPtr.Zero && impl != undefined)
            {
                outcome = RunHook(hook, (IntPtr)gradient);
            }
        }
        catch (Exception e)
        {
            HookErrors.Record(e);
            outcome = FailureSentinel((IntPtr)gradient);
        }
        *result = outcome;
        return (IntPtr)result;
    }

    // MSVC's _Func_base, for our implementation object {vtable, id} stored in place. Id 0: moved from (ids start at 1).
    [UnmanagedCallersOnly]
    private static long* MsvcCopy(long* self, long* where)
    {
        where[0] = self[0];
        where[1] = self[1];
        s_lastCloneDestination = (IntPtr)where;
        try
        {
            HookTable.AddReference(self[1]);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Never unwind into libtorch.
        }
        return where;
    }

    [UnmanagedCallersOnly]
    private static long* MsvcMove(long* self, long* where)
    {
        where[0] = self[0];
        where[1] = self[1];
        self[1] = 0; // the reference moved: the source's _Delete_this(false) that follows releases nothing
        return where;
    }

    [UnmanagedCallersOnly]
    private static IntPtr MsvcCall(long* self, IntPtr* result, IntPtr* gradient) => Call(result, self[1], gradient);

    [UnmanagedCallersOnly]
    private static IntPtr MsvcTargetType(long* self)
    {
        // A type_info no C++ type has: target_type() answers something valid, and libtorch never asks.
        Interlocked.Increment(ref s_typeInfoRequests);
        return MsvcTypeInfo;
    }

    [UnmanagedCallersOnly]
    private static void MsvcDeleteThis(long* self, byte deallocate)
    {
        // Our implementation is always in place (_Local()), so libtorch never asks us to free it; nothing was allocated.
        long id = self[1];
        self[1] = 0;
        if (id != 0)
        {
            try
            {
                HookTable.Release(id);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Nothing sensible to report from a destructor; never unwind into libtorch.
            }
        }
    }

    [UnmanagedCallersOnly]
    private static long* MsvcGet(long* self) => self + 1;

    private static IntPtr* BuildMsvcVtable()
    {
        // One word before slot 0, where MSVC keeps the RTTI complete object locator: null, nothing casts a _Func_base.
        var block = (IntPtr*)NativeMemory.AllocZeroed((nuint)((1 + AbiFacts.Msvc.TensorHooks.SlotCount) * IntPtr.Size));
        IntPtr* slots = block + 1;
        slots[AbiFacts.Msvc.TensorHooks.CopySlot] = (IntPtr)(delegate* unmanaged<long*, long*, long*>)&MsvcCopy;
        slots[AbiFacts.Msvc.TensorHooks.MoveSlot] = (IntPtr)(delegate* unmanaged<long*, long*, long*>)&MsvcMove;
        slots[AbiFacts.Msvc.TensorHooks.CallSlot] = (IntPtr)(delegate* unmanaged<long*, IntPtr*, IntPtr*, IntPtr>)&MsvcCall;
        slots[AbiFacts.Msvc.TensorHooks.TargetTypeSlot] = (IntPtr)(delegate* unmanaged<long*, IntPtr>)&MsvcTargetType;
        slots[AbiFacts.Msvc.TensorHooks.DeleteThisSlot] = (IntPtr)(delegate* unmanaged<long*, byte, void>)&MsvcDeleteThis;
        slots[AbiFacts.Msvc.TensorHooks.GetSlot] = (IntPtr)(delegate* unmanaged<long*, long*>)&MsvcGet;
        return slots;
    }

    private static IntPtr BuildMsvcTypeInfo()
    {
        // vcruntime's type_info: vtable pointer, cached undecorated name (null), then the decorated name in place, which
        // is all that type_info::operator== compares.
        byte[] name = ".?AVAutogradKitTensorHook@@\0"u8.ToArray();
        byte* block = (byte*)NativeMemory.AllocZeroed((nuint)(2 * IntPtr.Size + name.Length));
        name.CopyTo(new Span<byte>(block + (2 * IntPtr.Size), name.Length));
        return (IntPtr)block;
    }

    /// <summary>Runs <paramref name="hook"/> on a fresh wrapper of the gradient; returns the TensorImpl* (+1 reference) to hand back, or the undefined one to keep the gradient.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IntPtr RunHook(Func<Tensor, Tensor?> hook, IntPtr gradient)
    {
        IntPtr handle = NativeMethods.THSTensor_alias(gradient);
        if (handle == IntPtr.Zero)
        {
            throw Ensure.FromNativeText(NativeMethods.TakeNativeError() ?? "could not wrap the gradient passed to a hook");
        }
        // Detached: the hook may run on another thread than the one that opened the caller's scope, and the
        // wrapper is ours to dispose.
        Tensor grad = Tensor.UnsafeCreateTensor(handle).DetachFromDisposeScope();
        try
        {
            Tensor? replacement = hook(grad);
            return replacement is null ? UndefinedImpl.Value : TakeImpl(NativeMethods.THSTensor_alias(replacement.Handle));
        }
        finally
        {
            grad.Dispose();
        }
    }

    /// <summary>
    /// A gradient libtorch rejects (one more dimension, same dtype and device), so that the backward pass fails with
    /// <c>hook 'N' has changed the size of value</c> instead of going on with the gradient the hook never produced.
    /// </summary>
    private static IntPtr FailureSentinel(IntPtr gradient)
    {
        try
        {
            if (*(IntPtr*)gradient == IntPtr.Zero || *(IntPtr*)gradient == UndefinedImpl.Value)
            {
                return UndefinedImpl.Value;
            }
            IntPtr handle = NativeMethods.THSTensor_unsqueeze(gradient, 0);
            if (handle == IntPtr.Zero)
            {
                NativeMethods.TakeNativeError();
                return UndefinedImpl.Value; // HookErrors still reports the exception after the pass
            }
            return TakeImpl(handle);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return UndefinedImpl.Value;
        }
    }

    /// <summary>The TensorImpl* of an owning <c>at::Tensor*</c>, keeping its reference, with the 8-byte heap shell freed undestroyed.</summary>
    internal static IntPtr TakeImpl(IntPtr tensorHandle)
    {
        if (tensorHandle == IntPtr.Zero)
        {
            throw Ensure.FromNativeText(NativeMethods.TakeNativeError() ?? "could not take the tensor returned by a hook");
        }
        IntPtr impl = *(IntPtr*)tensorHandle;
        NativeMethods.OperatorDelete(tensorHandle);
        return impl;
    }
}
