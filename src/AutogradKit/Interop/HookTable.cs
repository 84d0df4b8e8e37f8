using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The managed side of every C++ hook AutogradKit hands to libtorch: libtorch's <c>std::function</c> copies
/// carry only an id into this table, and each copy holds one reference to its entry. Removing a hook
/// (<see cref="Disable"/>) drops the C# closure at once; the entry itself goes when libtorch destroys its last copy,
/// when the tensor and the graph nodes that hold its hook list die (AutogradKit never calls <c>remove_hook</c>, see
/// <see cref="NativeHooks"/>).
/// </summary>
/// <remarks>Thread-safe: libtorch copies, destroys and calls hooks on its autograd worker threads and on the finalizer thread.</remarks>
internal static class HookTable
{
    private sealed class Entry(Func<Tensor, Tensor?> hook)
    {
        public Func<Tensor, Tensor?>? Hook = hook;
        public int References = 1;
    }

    private static readonly Lock Gate = new();
    private static readonly Dictionary<long, Entry> Entries = [];
    private static long lastId;

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
            long id = ++lastId;
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
                entry.Hook = null;
            }
        }
    }
}
