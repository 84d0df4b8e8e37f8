namespace AutogradKit;

/// <summary>
/// What <c>RegisterHook</c> returns: PyTorch's <c>RemovableHandle</c>. <see cref="Dispose"/> is <c>h.remove()</c>.
/// It holds neither the tensor nor the hook (only a weak reference to its <see cref="HookClosures"/>), so it never keeps them (or a graph) alive.
/// </summary>
/// <remarks>
/// Removal never touches libtorch's hook list (whose <c>remove_hook</c> races with passes on other threads and fails
/// once an in-place op replaced the list): it marks the hook's <see cref="HookTable"/> entry removed, and the
/// trampoline libtorch keeps from then on leaves the gradient unchanged, as a removed hook does (until a later
/// registration on the same list reuses it, see <see cref="NativeHooks.Add"/>: the id then names the new hook, and
/// this handle, already disposed, never touches it again).
/// Thread-safe: <see cref="Dispose"/> may race with itself and with a backward pass on another thread.
/// </remarks>
internal sealed class TensorHookHandle : IDisposable
{
    private readonly long _id;
    private readonly WeakReference<HookClosures> _owner;
    private int _disposed;

    /// <summary>
    /// A handle for hook <paramref name="id"/>, at <paramref name="index"/> in its tensor's C++ hook list, kept alive by
    /// <paramref name="owner"/> (held weakly: the handle must not keep the tensor alive).
    /// </summary>
    public TensorHookHandle(uint index, long id, HookClosures owner)
    {
        Index = index;
        this._id = id;
        this._owner = new WeakReference<HookClosures>(owner);
    }

    /// <summary>The hook's id in <see cref="HookTable"/> (for tests).</summary>
    internal long Id => _id;

    /// <summary>The hook's index in the tensor's C++ hook list when it was registered (for the ABI check).</summary>
    internal uint Index { get; }

    /// <summary>Removes the hook; later backward passes no longer call it. A second call does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // libtorch's copies keep the gradient unchanged from now on and no longer keep the closure alive.
            HookTable.Disable(_id);
            if (_owner.TryGetTarget(out HookClosures? closures))
            {
                closures.Forget(_id);
            }
        }
    }
}
