using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The typed side of libtorch's C++ tensor-hook API for <c>Hooks/</c>: each native call wrapped once, over
/// <see cref="Tensor"/> and <see cref="HookTable"/> ids, never a pointer.
/// </summary>
/// <remarks>
/// Only registration is exposed. AutogradKit never calls libtorch's <c>remove_hook</c>: it assigns an empty
/// <c>std::function</c> over a list entry that a backward pass on another thread may be calling (libtorch does not
/// lock a tensor's hook list), and it indexes a list that an in-place op or a view's regenerated grad_fn may have
/// replaced. A removed hook's trampoline stays in libtorch's list and keeps the gradient, which is exactly what a
/// removed hook does; it goes when libtorch frees the list. Thread-safety: <see cref="Register"/> mutates the
/// tensor's C++ hook list, so callers serialise it against other registrations and against passes
/// (<see cref="HookGate"/>).
/// </remarks>
internal static class NativeHooks
{
    /// <summary>
    /// Adds <paramref name="hook"/> after every hook of <paramref name="t"/>'s current C++ list: into the trampoline of
    /// a removed hook when removed hooks end that list (the same order, without a list that grows a step), else by
    /// appending a new trampoline. Returns its <see cref="HookTable"/> id and its index in the list.
    /// </summary>
    /// <remarks>The caller has checked <c>t.requires_grad</c> and holds the <see cref="HookGate"/>.</remarks>
    public static (long Id, uint Index) Add(Tensor t, Func<Tensor, Tensor?> hook)
    {
        if (HookLists.Of(t) is { } list
            && HookTable.ReusableAtEnd(list, HookLists.Length(list)) is (long reusable, int at)
            && HookLists.IdAt(list, at) == reusable
            && HookTable.Revive(reusable, hook))
        {
            return (reusable, (uint)at);
        }
        long id = HookTable.Add(hook);
        uint index;
        try
        {
            index = Register(t, id);
        }
        catch
        {
            HookTable.Release(id); // no std::function took the reference
            throw;
        }
        if (HookLists.Of(t) is { } appendedTo)
        {
            HookTable.Track(appendedTo, id, index);
        }
        return (id, index);
    }

    /// <summary>
    /// <c>t._register_hook(fn)</c> with a trampoline <c>std::function</c> that runs the C# hook of <paramref name="id"/>
    /// (whose one table reference it takes over). Returns the hook's index in the tensor's C++ hook list.
    /// </summary>
    /// <remarks>The caller has checked <c>t.requires_grad</c>, libtorch's only <c>TORCH_CHECK</c> here.</remarks>
    public static unsafe uint Register(Tensor t, long id)
    {
        StdFunction function;
        StdFunctionHooks.Create(&function, id);
        try
        {
            return NativeMethods.TensorBase_register_hook(t.Handle, &function);
        }
        finally
        {
            // libtorch 2.10 copies it into the list (a clone through our functions); the temporary is destroyed by the
            // caller under Itanium, by libtorch itself under MSVC.
            StdFunctionHooks.AfterCall(&function);
            GC.KeepAlive(t);
        }
    }
}
