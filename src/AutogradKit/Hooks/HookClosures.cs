using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Keeps the C# hooks registered through one <see cref="Tensor"/> wrapper alive exactly as long as something can still
/// call them, so that a hook that captures its own tensor (<c>x.RegisterHook(g => g * x)</c>) is collected with it, as
/// PyTorch's garbage collector collects that cycle.
/// </summary>
/// <remarks>
/// <para>The cycle: <see cref="HookTable"/> (static) → closure → wrapper → <c>TensorImpl</c> → C++ hook list →
/// <c>std::function</c> → table entry. .NET's collector cannot see the native half, so the table holds closures weakly
/// and this object, attached to the wrapper through a <see cref="ConditionalWeakTable{TKey, TValue}"/> (an ephemeron:
/// the closures it holds do not keep the wrapper alive), holds them strongly while the wrapper is reachable.</para>
/// <para>When the wrapper becomes unreachable but for its own closures, this object's finaliser decides, in place of
/// the wrapper's (suppressed) one: if anything else may still call the hooks — another handle or a graph holds the
/// <c>TensorImpl</c>, or a node holds its <c>grad_fn</c> or hook list (<see cref="TensorOwners"/>) — it keeps wrapper
/// and closures alive and asks again after the next collection (PyTorch likewise keeps a tensor's Python object while
/// C++ still holds the tensor); otherwise it disposes the wrapper, which is what the wrapper's finaliser would have
/// done, and libtorch frees the hook list with the tensor. A hook libtorch could still call is never dropped: where
/// the counts cannot be read the answer is "keep", and any entry that survives the disposal is handed to the table.</para>
/// <para>Thread-safe: hooks are added on any thread; the finaliser runs when no managed code but a hook can reach the
/// wrapper, and a hook can run only while something else holds the tensor.</para>
/// </remarks>
internal sealed class HookClosures
{
    private static readonly ConditionalWeakTable<Tensor, HookClosures> ByTensor = [];

    private readonly Tensor _tensor;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Func<Tensor, Tensor?>> _hooks = [];

    private HookClosures(Tensor tensor)
    {
        this._tensor = tensor;
        // This object's finaliser decides for the wrapper (see the remarks); the wrapper's own would free the
        // TensorImpl while a graph may still call a hook that uses it.
#pragma warning disable CA1816 // Suppressing another object's finaliser is the point: this one runs in its place.
        GC.SuppressFinalize(tensor);
#pragma warning restore CA1816
    }

    /// <summary>Keeps <paramref name="hook"/> (hook <paramref name="id"/> of <see cref="HookTable"/>) alive with <paramref name="t"/>.</summary>
    public static HookClosures Keep(Tensor t, long id, Func<Tensor, Tensor?> hook)
    {
        HookClosures owner = ByTensor.GetValue(t, static w => new HookClosures(w));
        lock (owner._gate)
        {
            owner._hooks[id] = hook;
        }
        return owner;
    }

    /// <summary>Drops hook <paramref name="id"/> (it was removed).</summary>
    public void Forget(long id)
    {
        lock (_gate)
        {
            _hooks.Remove(id);
        }
    }

    /// <summary>How many hooks this wrapper keeps (for tests).</summary>
    internal int Count
    {
        get
        {
            lock (_gate)
            {
                return _hooks.Count;
            }
        }
    }

    ~HookClosures()
    {
        try
        {
            Decide();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A finaliser must not throw; keeping the hooks is the safe failure.
            HandToTable();
        }
    }

    private void Decide()
    {
        if (_tensor.IsInvalid)
        {
            // Disposed: the wrapper no longer holds the TensorImpl, so closures that capture it form no cycle. They
            // live as long as libtorch's copies.
            HandToTable();
            return;
        }
        bool live;
        lock (_gate)
        {
            live = _hooks.Any(h => HookTable.Find(h.Key) == h.Value);
        }
        if (live && TensorOwners.OthersMayCallHooks(_tensor))
        {
            // A graph (or another handle) may still run the hooks, which may use the wrapper: keep both, ask again later.
            ByTensor.AddOrUpdate(_tensor, this);
            GC.ReRegisterForFinalize(this);
            return;
        }
        _tensor.Dispose();
        // Freeing the TensorImpl freed its hook list and with it every entry; one that survived is still callable.
        HandToTable();
    }

    private void HandToTable()
    {
        lock (_gate)
        {
            foreach ((long id, Func<Tensor, Tensor?> hook) in _hooks)
            {
                if (HookTable.Find(id) == hook)
                {
                    HookTable.Strengthen(id);
                }
            }
        }
    }
}
