using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// A libstdc++ <c>std::function&lt;at::TensorBase(const at::TensorBase&amp;)&gt;</c> (x86-64, 32 bytes):
/// <c>_Any_data _M_functor</c> (16 bytes; here the first word is an id into <see cref="HookTable"/>),
/// <c>_Manager_type _M_manager</c>, <c>_Invoker_type _M_invoker</c>. An empty function has a null manager.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = AbiFacts.StdFunction.Size)]
internal struct StdFunction
{
    /// <summary>First word of <c>_M_functor</c>: the <see cref="HookTable"/> id.</summary>
    public long FunctorId;

    /// <summary>Second word of <c>_M_functor</c>, unused.</summary>
    public long FunctorSpare;

    /// <summary><c>bool (*)(_Any_data&amp; dest, const _Any_data&amp; src, _Manager_operation op)</c>.</summary>
    public IntPtr Manager;

    /// <summary><c>at::TensorBase (*)(const _Any_data&amp;, const at::TensorBase&amp;)</c>, returning through a hidden sret pointer.</summary>
    public IntPtr Invoker;
}

/// <summary>
/// The manager and invoker of the <see cref="StdFunction"/>s AutogradKit gives libtorch: they run C# hooks from
/// <see cref="HookTable"/> and never let a managed exception reach the native frames that called them.
/// </summary>
/// <remarks>Thread-safe: libtorch calls them on any autograd worker thread, and destroys copies on whatever thread frees a tensor or a graph node (the finalizer thread included).</remarks>
internal static unsafe class StdFunctionHooks
{
    private static readonly Lazy<IntPtr> UndefinedImpl = new(ResolveUndefinedTensorImpl, LazyThreadSafetyMode.ExecutionAndPublication);

    private static int s_typeInfoRequests;

    [ThreadStatic]
    private static IntPtr s_lastCloneDestination;

    /// <summary>
    /// Where libtorch last copied one of our functions on this thread (the copy's address): for the first-use check
    /// of <see cref="HookLists"/>, which compares it with the storage of the list the copy went into.
    /// </summary>
    public static IntPtr LastCloneDestination => s_lastCloneDestination;

    /// <summary>The manager of every function made by <see cref="Create"/>: how a list entry is recognised as ours.</summary>
    public static IntPtr ManagerAddress => (IntPtr)(delegate* unmanaged<long*, long*, int, byte>)&Manage;

    /// <summary>How often libtorch asked a hook for its <c>type_info</c> (<c>target_type()</c>), which it must never need.</summary>
    public static int TypeInfoRequests => Volatile.Read(ref s_typeInfoRequests);

    /// <summary><c>&amp;c10::UndefinedTensorImpl::_singleton</c>: the TensorImpl* of every undefined tensor.</summary>
    public static IntPtr UndefinedTensorImpl => UndefinedImpl.Value;

    /// <summary>A function whose only copy holds the reference <see cref="HookTable.Add"/> gave <paramref name="id"/>.</summary>
    public static StdFunction Create(long id)
    {
        _ = UndefinedImpl.Value; // resolve now, not on an autograd thread
        return new StdFunction
        {
            FunctorId = id,
            Manager = (IntPtr)(delegate* unmanaged<long*, long*, int, byte>)&Manage,
            Invoker = (IntPtr)(delegate* unmanaged<IntPtr*, long*, IntPtr*, IntPtr>)&Invoke,
        };
    }

    /// <summary>Destroys <paramref name="function"/> the way its destructor would, when a callee did not move from it.</summary>
    public static void Destroy(StdFunction* function)
    {
        if (function->Manager != IntPtr.Zero)
        {
            var manager = (delegate* unmanaged<long*, long*, int, byte>)function->Manager;
            manager(&function->FunctorId, &function->FunctorId, AbiFacts.StdFunction.DestroyFunctor);
            function->Manager = IntPtr.Zero;
            function->Invoker = IntPtr.Zero;
        }
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
    private static IntPtr Invoke(IntPtr* result, long* functor, IntPtr* gradient)
    {
        IntPtr undefined = UndefinedImpl.Value;
        IntPtr outcome = undefined;
        try
        {
            IntPtr impl = *gradient;
            Func<Tensor, Tensor?>? hook = HookTable.Find(functor[0]);
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

    private static IntPtr ResolveUndefinedTensorImpl()
    {
        IntPtr c10 = NativeLibrary.Load(Libraries.C10, typeof(StdFunctionHooks).Assembly, null);
        return NativeLibrary.GetExport(c10, "_ZN3c1019UndefinedTensorImpl10_singletonE");
    }
}
