using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Checks once, inside passes whose graph tasks are known, the layout <see cref="NativeGraphTask"/> reads
/// (<see cref="AbiFacts.GraphTask"/>), before any multi-grad hook relies on it.
/// </summary>
/// <remarks>
/// Thread-safe; runs at most once per process, on a fresh thread (<see cref="FirstUseCheck"/>), under both ABIs, after
/// <see cref="NodeHookAbi"/> (its probe is a node pre-hook; the layout it builds on is <see cref="NodeLayout"/>'s).
/// </remarks>
internal static unsafe class GraphTaskAbi
{
    private static readonly Lazy<Exception?> Failure = FirstUseCheck.Once("AutogradKit graph task check", "Multi-grad hooks", "they read libtorch's engine state", Check, Mismatch);

    /// <summary>Throws <see cref="NotSupportedException"/> or <see cref="PlatformNotSupportedException"/> when the graph task cannot be read here.</summary>
    public static void EnsureVerified()
    {
        NodeHookAbi.EnsureVerified();
        if (Failure.Value is { } failure)
        {
            throw failure;
        }
    }

    private static NotSupportedException? Check()
    {
        if (NativeMethods.Autograd_current_graph_task_id() != -1 || NativeMethods.Autograd_current_graph_task_nodes_in_graph() != IntPtr.Zero)
        {
            return Mismatch($"outside a pass, the current graph task is not empty (id {NativeMethods.Autograd_current_graph_task_id()}, nodes 0x{NativeMethods.Autograd_current_graph_task_nodes_in_graph():x})");
        }
        using (torch.NewDisposeScope())
        using (torch.enable_grad())
        {
            Tensor x = torch.tensor(new float[] { 1, 2, 3 }, requires_grad: true);
            Tensor a = x * 2;
            Tensor b = a.exp();
            Tensor s = b.sum();
            using SharedNodeRef sum = NodeLayout.GradFnOf(s)!, exp = NodeLayout.GradFnOf(b)!, mul = NodeLayout.GradFnOf(a)!;
            IntPtr accumulate = NodeLayout.NextEdgeRefs(mul.Node)[0].Function.Address;
            string? wrong = null;
            int pass = 0;
            // On ExpBackward0, b's grad_fn: it runs in both passes, where a hook on b would.
            long probe = NativeNodeHooks.Add(exp.NodeRef, exp, NodeHookKind.Pre, (_, _) =>
            {
                IntPtr nodes = NativeMethods.Autograd_current_graph_task_nodes_in_graph();
                IntPtr execInfo = NativeMethods.Autograd_current_graph_task_exec_info();
                if (nodes == IntPtr.Zero || execInfo == IntPtr.Zero || NativeMethods.Autograd_current_graph_task_id() < 0)
                {
                    wrong ??= "inside a pass, the current graph task is missing";
                    return null;
                }
                if (pass == 0)
                {
                    // A full backward from one root: the root is not in nodes_in_graph, every other node is; no exec_info.
                    var keys = NativeGraphTask.Keys(nodes);
                    if (NativeGraphTask.Count(nodes) != 3 || keys.Count != 3 || !keys.Contains(exp.Node) || !keys.Contains(mul.Node) || !keys.Contains(accumulate) || NativeGraphTask.Count(execInfo) != 0)
                    {
                        wrong ??= $"a full backward over (x * 2).exp().sum() showed {keys.Count} nodes in the graph (count {NativeGraphTask.Count(nodes)}) and {NativeGraphTask.Count(execInfo)} exec_info entries, expected ExpBackward0, MulBackward and AccumulateGrad, and none";
                    }
                }
                else
                {
                    // backward(inputs = [x * 2]): the root, ExpBackward0 and MulBackward are needed, nothing is captured.
                    var keys = NativeGraphTask.Keys(execInfo);
                    bool right = NativeGraphTask.Count(execInfo) == 3 && keys.Count == 3;
                    foreach (IntPtr node in (IntPtr[])[sum.Node, exp.Node, mul.Node])
                    {
                        IntPtr value = NativeGraphTask.Find(execInfo, node);
                        right &= value != IntPtr.Zero && *(byte*)(value + AbiFacts.GraphTask.NeededOffset) == 1 && *(IntPtr*)(value + AbiFacts.GraphTask.CapturesOffset) == IntPtr.Zero;
                    }
                    if (!right)
                    {
                        wrong ??= $"backward(inputs = [x * 2]) over (x * 2).exp().sum() showed {keys.Count} exec_info entries, expected the root, ExpBackward0 and MulBackward, each needed without captures";
                    }
                }
                pass++;
                return null;
            });
            Ensure.Run(() => s.backward(retain_graph: true));
            NativeBackward.Run(s, null, retainGraph: false, createGraph: false, inputs: [a]);
            Ensure.NoPendingError();
            NativeNodeHooks.Disable(probe);
            if (pass != 2)
            {
                return Mismatch($"the probe hook ran {pass} time(s) in two passes");
            }
            if (wrong is not null)
            {
                return Mismatch(wrong);
            }
        }
        return null;
    }

    private static NotSupportedException Mismatch(string what, Exception? inner = null) =>
        new($"Multi-grad hooks do not work with this libtorch: {what}. AutogradKit's graph task reads were verified with {PlatformSupport.VerifiedOnLinuxAndWindows}.", inner);
}
