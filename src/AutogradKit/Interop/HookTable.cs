using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The managed side of every C++ hook AutogradKit hands to libtorch: libtorch's <c>std::function</c> copies
/// carry only an id into this table, and each copy holds one reference to its entry. The table holds the closures
/// weakly: the tensor's <see cref="HookClosures"/> keeps them (or <see cref="Strengthen"/> hands them to the table). Removing a hook
/// (<see cref="Disable"/>) drops the C# closure at once; the entry itself goes when libtorch destroys its last copy,
/// when the tensor and the graph nodes that hold its hook list die (AutogradKit never calls <c>remove_hook</c>, see
/// <see cref="NativeHooks"/>).
/// </summary>
/// <remarks>Thread-safe: libtorch copies, destroys and calls hooks on its autograd worker threads and on the finalizer thread.</remarks>
internal static class HookTable
{
    private sealed class Entry(Func<Tensor, Tensor?> hook)
    {
        // Weak: what keeps the closure alive is its tensor's HookClosures (a closure that captures its tensor would
        // otherwise keep it alive from this static table for ever). Long: the closure stays findable while its
        // HookClosures' finaliser decides whether libtorch can still call it.
        private WeakReference<Func<Tensor, Tensor?>>? _weak = new(hook, trackResurrection: true);
        private Func<Tensor, Tensor?>? _strong;
        public int References = 1;
        public HookList? List;

        public Func<Tensor, Tensor?>? Hook => _strong ?? (_weak is not null && _weak.TryGetTarget(out var hook) ? hook : null);

        public void Set(Func<Tensor, Tensor?>? hook)
        {
            _strong = null;
            _weak = hook is null ? null : new(hook, trackResurrection: true);
        }

        public void Strengthen() => _strong = Hook;
    }

    private static readonly Lock Gate = new();
    private static readonly Dictionary<long, Entry> Entries = [];

    // For each tracked C++ hook list, the ids of our functions in it, by index: every function of the list is ours
    // and was appended by us, so a removed hook at its end can be given a new closure (see NativeHooks.Add).
    private static readonly Dictionary<HookList, List<long>> Lists = [];
    private static long s_lastId;

    /// <summary>How many entries are alive (closures libtorch still holds), for tests and diagnostics.</summary>
    public static int Count
    {
        get
        {
            lock (Gate)
            {
                return Entries.Count;
            }
        }
    }

    /// <summary>How many entries still hold a C# hook (registered and not removed), for tests and diagnostics.</summary>
    public static int LiveHooks
    {
        get
        {
            lock (Gate)
            {
                return Entries.Values.Count(e => e.Hook is not null);
            }
        }
    }

    /// <summary>Adds <paramref name="hook"/> with one reference (the <c>std::function</c> about to be built) and returns its id.</summary>
    public static long Add(Func<Tensor, Tensor?> hook)
    {
        lock (Gate)
        {
            long id = ++s_lastId;
            Entries.Add(id, new Entry(hook));
            return id;
        }
    }

    /// <summary>Whether libtorch still holds a copy of hook <paramref name="id"/>.</summary>
    public static bool Contains(long id)
    {
        lock (Gate)
        {
            return Entries.ContainsKey(id);
        }
    }

    /// <summary>How many <c>std::function</c> copies of hook <paramref name="id"/> exist (0 once it is gone).</summary>
    public static int References(long id)
    {
        lock (Gate)
        {
            return Entries.TryGetValue(id, out Entry? entry) ? entry.References : 0;
        }
    }

    /// <summary>A <c>std::function</c> copy of hook <paramref name="id"/> was made.</summary>
    public static void AddReference(long id)
    {
        lock (Gate)
        {
            if (Entries.TryGetValue(id, out Entry? entry))
            {
                entry.References++;
            }
        }
    }

    /// <summary>A <c>std::function</c> copy of hook <paramref name="id"/> was destroyed; the last one removes the entry.</summary>
    public static void Release(long id)
    {
        lock (Gate)
        {
            if (Entries.TryGetValue(id, out Entry? entry) && --entry.References <= 0)
            {
                Entries.Remove(id);
                // The list's last copy of it is gone, so the list is being freed: forget it before its address can be reused.
                if (entry.List is { } list)
                {
                    Lists.Remove(list);
                }
            }
        }
    }

    /// <summary>The C# hook for <paramref name="id"/>, or null once it was removed.</summary>
    public static Func<Tensor, Tensor?>? Find(long id)
    {
        lock (Gate)
        {
            return Entries.TryGetValue(id, out Entry? entry) ? entry.Hook : null;
        }
    }

    /// <summary>
    /// Drops the C# hook of <paramref name="id"/>: libtorch's copies stay until it destroys them, but they keep
    /// the gradient unchanged from now on and no longer keep the closure alive.
    /// </summary>
    public static void Disable(long id)
    {
        lock (Gate)
        {
            if (Entries.TryGetValue(id, out Entry? entry))
            {
                entry.Set(null);
            }
        }
    }

    /// <summary>
    /// Makes this table keep hook <paramref name="id"/>'s closure itself until libtorch destroys its last copy or the
    /// hook is removed: for a closure whose tensor can no longer keep it (a disposed or collected wrapper), so that no
    /// hook libtorch can still call is ever lost.
    /// </summary>
    public static void Strengthen(long id)
    {
        lock (Gate)
        {
            if (Entries.TryGetValue(id, out Entry? entry))
            {
                entry.Strengthen();
            }
        }
    }

    /// <summary>
    /// Notes that hook <paramref name="id"/> was appended to <paramref name="list"/> at <paramref name="index"/>. A list
    /// is tracked from its first function on; one that got functions we did not see is never tracked.
    /// </summary>
    public static void Track(HookList list, long id, uint index)
    {
        lock (Gate)
        {
            if (!Entries.TryGetValue(id, out Entry? entry))
            {
                return;
            }
            if (!Lists.TryGetValue(list, out List<long>? ids))
            {
                if (index != 0)
                {
                    return;
                }
                Lists.Add(list, ids = []);
            }
            if (ids.Count != index)
            {
                Lists.Remove(list);
                return;
            }
            ids.Add(id);
            entry.List = list;
        }
    }

    /// <summary>
    /// The first removed hook of the run of removed hooks that ends <paramref name="list"/> (which holds
    /// <paramref name="length"/> functions), with its index: giving it a new closure is the same as appending one.
    /// Null when the list ends with a live hook or is not tracked.
    /// </summary>
    public static (long Id, int Index)? ReusableAtEnd(HookList list, int length)
    {
        lock (Gate)
        {
            if (!Lists.TryGetValue(list, out List<long>? ids) || ids.Count != length)
            {
                return null;
            }
            int first = ids.Count;
            while (first > 0 && Entries.TryGetValue(ids[first - 1], out Entry? entry) && entry.Hook is null)
            {
                first--;
            }
            return first < ids.Count ? (ids[first], first) : null;
        }
    }

    /// <summary>Gives removed hook <paramref name="id"/> a new closure; false when it is gone or live.</summary>
    public static bool Revive(long id, Func<Tensor, Tensor?> hook)
    {
        lock (Gate)
        {
            if (!Entries.TryGetValue(id, out Entry? entry) || entry.Hook is not null)
            {
                return false;
            }
            entry.Set(hook);
            return true;
        }
    }

    /// <summary>How many C++ hook lists are tracked (for tests).</summary>
    public static int TrackedLists
    {
        get
        {
            lock (Gate)
            {
                return Lists.Count;
            }
        }
    }
}
