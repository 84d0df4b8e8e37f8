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

    /// <summary>The elements' count of a libstdc++ <c>_Hashtable</c>.</summary>
    internal static long Count(IntPtr table) => *(long*)(table + AbiFacts.GraphTask.ElementCountOffset);

    /// <summary>The keys (node addresses) of a table keyed by <c>Node*</c>, in list order (for the first-use check).</summary>
    internal static List<IntPtr> Keys(IntPtr table)
    {
        var keys = new List<IntPtr>();
        for (IntPtr n = *(IntPtr*)(table + AbiFacts.GraphTask.BeforeBeginOffset); n != IntPtr.Zero && keys.Count < AbiFacts.GraphTask.MaxNodes; n = *(IntPtr*)n)
        {
            keys.Add(*(IntPtr*)(n + AbiFacts.GraphTask.NodeValueOffset));
        }
        return keys;
    }

    /// <summary>The value (key first) of <paramref name="key"/> in a table keyed by <c>Node*</c>, or zero.</summary>
    internal static IntPtr Find(IntPtr table, IntPtr key)
    {
        int walked = 0;
        for (IntPtr n = *(IntPtr*)(table + AbiFacts.GraphTask.BeforeBeginOffset); n != IntPtr.Zero && walked++ < AbiFacts.GraphTask.MaxNodes; n = *(IntPtr*)n)
        {
            if (*(IntPtr*)(n + AbiFacts.GraphTask.NodeValueOffset) == key)
            {
                return n + AbiFacts.GraphTask.NodeValueOffset;
            }
        }
        return IntPtr.Zero;
    }

    private static bool Contains(IntPtr table, IntPtr key) => Find(table, key) != IntPtr.Zero;
}
