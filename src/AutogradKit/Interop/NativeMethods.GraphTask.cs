using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>libtorch's accessors of the engine's current graph task (engine.cpp), thread-local reads that never throw.</summary>
internal static partial class NativeMethods
{
    /// <summary><c>int torch::autograd::get_current_graph_task_id()</c> (a 32-bit int: the upper half of rax is garbage): the running pass's id on this thread, -1 outside a pass.</summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN5torch8autograd25get_current_graph_task_idEv")]
    internal static partial int Autograd_current_graph_task_id();

    /// <summary><c>const std::unordered_set&lt;Node*&gt;* get_current_graph_task_nodes_in_graph()</c>: null outside a pass.</summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN5torch8autograd37get_current_graph_task_nodes_in_graphEv")]
    internal static partial IntPtr Autograd_current_graph_task_nodes_in_graph();

    /// <summary><c>const std::unordered_map&lt;Node*, GraphTask::ExecInfo&gt;* get_current_graph_task_exec_info()</c>: null outside a pass.</summary>
    [LibraryImport(Libraries.TorchCpu, EntryPoint = "_ZN5torch8autograd32get_current_graph_task_exec_infoEv")]
    internal static partial IntPtr Autograd_current_graph_task_exec_info();
}
