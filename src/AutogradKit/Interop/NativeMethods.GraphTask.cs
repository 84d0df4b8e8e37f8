namespace AutogradKit;

/// <summary>libtorch's accessors of the engine's current graph task (engine.cpp), thread-local reads that never throw (<see cref="CxxExports"/>).</summary>
internal static unsafe partial class NativeMethods
{
    private const string GraphTaskFeature = "Multi-grad hooks";

    private const string GraphTaskReason = "they read libtorch's engine state";

    /// <summary><c>int torch::autograd::get_current_graph_task_id()</c> (a 32-bit int: the upper half of rax is garbage): the running pass's id on this thread, -1 outside a pass.</summary>
    internal static int Autograd_current_graph_task_id() =>
        ((delegate* unmanaged<int>)CxxExports.GraphTaskId.Address(GraphTaskFeature, GraphTaskReason))();

    /// <summary><c>const std::unordered_set&lt;Node*&gt;* get_current_graph_task_nodes_in_graph()</c>: null outside a pass.</summary>
    internal static IntPtr Autograd_current_graph_task_nodes_in_graph() =>
        ((delegate* unmanaged<IntPtr>)CxxExports.GraphTaskNodesInGraph.Address(GraphTaskFeature, GraphTaskReason))();

    /// <summary><c>const std::unordered_map&lt;Node*, GraphTask::ExecInfo&gt;* get_current_graph_task_exec_info()</c>: null outside a pass.</summary>
    internal static IntPtr Autograd_current_graph_task_exec_info() =>
        ((delegate* unmanaged<IntPtr>)CxxExports.GraphTaskExecInfo.Address(GraphTaskFeature, GraphTaskReason))();
}
