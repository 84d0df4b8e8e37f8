namespace AutogradKit;

/// <summary>
/// What the engine's running pass will execute, as PyTorch's <c>torch._C._current_graph_task_id</c> and
/// <c>torch._C._will_engine_execute_node</c> tell it, for <c>Autograd.Graph.RegisterMultiGradHook</c>; typed over
/// <see cref="NodeRef"/>, never a pointer.
/// </summary>
/// <remarks>
/// Call only from inside a pass (a hook) on the thread running it: the sets are the pass's, alive and unchanged while
/// it runs nodes. <see cref="GraphTaskAbi.EnsureVerified"/> must have passed. Thread-safe in that sense.
/// </remarks>
internal static unsafe class NativeGraphTask
{
    /// <summary>The running pass's id on this thread, or -1 outside a pass.</summary>
    public static long CurrentId() => NativeMethods.Autograd_current_graph_task_id();

    /// <summary>
    /// PyTorch's <c>_will_engine_execute_node(node)</c>: whether the running pass reaches <paramref name="node"/>
    /// (<c>nodes_in_graph_</c>) and, when it runs for given inputs, needs or captures it (<c>exec_info_</c>).
    /// False outside a pass.
    /// </summary>
    public static bool WillExecute(NodeRef node)
    {
        IntPtr nodes = NativeMethods.Autograd_current_graph_task_nodes_in_graph();
        if (nodes == IntPtr.Zero || !Contains(nodes, node.Address))
        {
            return false;
        }
        IntPtr execInfo = NativeMethods.Autograd_current_graph_task_exec_info();
        if (execInfo == IntPtr.Zero || Count(execInfo) == 0)
        {
            return true;
        }
        IntPtr value = Find(execInfo, node.Address);
        return value != IntPtr.Zero && (*(byte*)(value + AbiFacts.GraphTask.NeededOffset) != 0 || *(IntPtr*)(value + AbiFacts.GraphTask.CapturesOffset) != IntPtr.Zero);
    }

    // This ABI's hash table facts: libstdc++'s _Hashtable (AbiFacts.GraphTask) on Linux, MSVC's _Hash over a std::list
    // (AbiFacts.Msvc.GraphTask) on Windows. The ExecInfo after the key is laid out alike under both.
    private static readonly int ElementCountOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.GraphTask.ElementCountOffset : AbiFacts.GraphTask.ElementCountOffset;
    private static readonly int NodeValueOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.GraphTask.NodeValueOffset : AbiFacts.GraphTask.NodeValueOffset;

    /// <summary>The elements' count of a hash table (<c>std::unordered_set</c>/<c>std::unordered_map</c>).</summary>
    internal static long Count(IntPtr table) => *(long*)(table + ElementCountOffset);

    /// <summary>The keys (node addresses) of a table keyed by <c>Node*</c>, in list order (for the first-use check).</summary>
    internal static List<IntPtr> Keys(IntPtr table)
    {
        var keys = new List<IntPtr>();
        (IntPtr n, IntPtr end) = List(table);
        for (; n != end && n != IntPtr.Zero && keys.Count < AbiFacts.GraphTask.MaxNodes; n = *(IntPtr*)n)
        {
            keys.Add(*(IntPtr*)(n + NodeValueOffset));
        }
        return keys;
    }

    /// <summary>The value (key first) of <paramref name="key"/> in a table keyed by <c>Node*</c>, or zero.</summary>
    internal static IntPtr Find(IntPtr table, IntPtr key)
    {
        int walked = 0;
        (IntPtr n, IntPtr end) = List(table);
        for (; n != end && n != IntPtr.Zero && walked++ < AbiFacts.GraphTask.MaxNodes; n = *(IntPtr*)n)
        {
            if (*(IntPtr*)(n + NodeValueOffset) == key)
            {
                return n + NodeValueOffset;
            }
        }
        return IntPtr.Zero;
    }

    /// <summary>
    /// A table's element list, each node's first word the next: libstdc++'s starts after the before-begin node inside the
    /// table and ends at null; MSVC's is circular, from its sentinel's next back to the sentinel.
    /// </summary>
    private static (IntPtr First, IntPtr End) List(IntPtr table)
    {
        IntPtr head = CxxExports.IsMsvc ? *(IntPtr*)(table + AbiFacts.Msvc.GraphTask.ListHeadOffset) : table + AbiFacts.GraphTask.BeforeBeginOffset;
        return head == IntPtr.Zero ? (IntPtr.Zero, IntPtr.Zero) : (*(IntPtr*)head, CxxExports.IsMsvc ? head : IntPtr.Zero);
    }

    private static bool Contains(IntPtr table, IntPtr key) => Find(table, key) != IntPtr.Zero;
}
