using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Checks once, on a graph whose answers are known, the facts of <see cref="AbiFacts.NodeHooks"/> that node hooks and
/// post-accumulate-grad hooks rely on, before any user hook object is handed to libtorch.
/// </summary>
/// <remarks>
/// Thread-safe; runs at most once per process, on a fresh thread (<see cref="FirstUseCheck"/>), after
/// <see cref="NodeLayout"/> and <see cref="HookAbi"/> (whose facts it builds on). Its registrations skip the
/// <see cref="HookGate"/>: the tensors are its own.
/// </remarks>
internal static unsafe class NodeHookAbi
{
    private static readonly Lazy<Exception?> Failure = FirstUseCheck.Once("AutogradKit node hook ABI check", "Node hooks", "they call libtorch's C++ API directly", Check, Mismatch);

    /// <summary>Throws <see cref="NotSupportedException"/> or <see cref="PlatformNotSupportedException"/> when node hooks cannot work here.</summary>
    public static void EnsureVerified()
    {
        NodeLayout.Ensure();
        HookAbi.EnsureVerified();
        if (Failure.Value is { } failure)
        {
            throw failure;
        }
    }

    private static NotSupportedException? Check()
    {
        var order = new List<string>();
        float[]? preSaw = null, postInputs = null, postOutputs = null, accumulated = null;
        long preId, postId;
        using (torch.NewDisposeScope())
        using (torch.enable_grad())
        {
            Tensor x = torch.tensor(new float[] { 1, 2, 3 }, requires_grad: true);
            Tensor y = x * x;
            using (SharedNodeRef node = NodeLayout.GradFnOf(y) ?? throw Mismatch("x * x has no grad_fn"))
            {
                IntPtr address = node.Node;
                IntPtr fromVirtual = ((delegate* unmanaged<IntPtr, IntPtr>)(*(IntPtr**)address)[AbiFacts.NodeHooks.TensorPreHooksSlot])(address);
                if (fromVirtual != address + AbiFacts.NodeHooks.TensorPreHooksOffset)
                {
                    return Mismatch($"Node::tensor_pre_hooks() returned node+{(long)fromVirtual - (long)address}, expected node+{AbiFacts.NodeHooks.TensorPreHooksOffset}");
                }
                foreach (int offset in (int[])[AbiFacts.NodeHooks.PreHooksOffset, AbiFacts.NodeHooks.TensorPreHooksOffset, AbiFacts.NodeHooks.PostHooksOffset])
                {
                    (IntPtr begin, IntPtr end) = NativeNodeHooks.VectorAt(address, offset);
                    if (begin != end)
                    {
                        return Mismatch($"the hook vector at node+{offset} of a fresh node is not empty");
                    }
                }
                TensorHookHandle tensorHook = RegisterHookExtensions.Register(y, _ =>
                {
                    order.Add("tensor");
                    return null;
                }, gated: false);
                GC.KeepAlive(tensorHook);
                (IntPtr tensorBegin, IntPtr tensorEnd) = NativeNodeHooks.VectorAt(address, AbiFacts.NodeHooks.TensorPreHooksOffset);
                if ((long)tensorEnd - (long)tensorBegin != IntPtr.Size
                    || NativeNodeHooks.VectorAt(address, AbiFacts.NodeHooks.PreHooksOffset) is var (preBegin, preEnd) && preBegin != preEnd)
                {
                    return Mismatch($"registering a tensor hook on x * x did not add exactly one entry to the vector at node+{AbiFacts.NodeHooks.TensorPreHooksOffset} only");
                }
                preId = NativeNodeHooks.Add(node.NodeRef, node, NodeHookKind.Pre, (grads, _) =>
                {
                    order.Add("pre");
                    preSaw = grads[0]!.data<float>().ToArray();
                    return [grads[0]! * 2];
                });
                postId = NativeNodeHooks.Add(node.NodeRef, node, NodeHookKind.Post, (gradInputs, gradOutputs) =>
                {
                    order.Add("post");
                    postInputs = [.. gradInputs.SelectMany(g => g!.data<float>().ToArray())];
                    postOutputs = gradOutputs[0]!.data<float>().ToArray();
                    return null;
                });
            }
            NativeNodeHooks.PostAccumulateGradHooks(x).Add(t =>
            {
                order.Add("accumulated");
                accumulated = t.grad!.data<float>().ToArray();
            });
            Ensure.Run(() => y.sum().backward());
            string seen = string.Join(", ", order);
            if (seen != "tensor, pre, post, accumulated")
            {
                return Mismatch($"the hooks of x * x ran in the order {seen}, expected tensor, pre, post, accumulated");
            }
            if (!preSaw!.SequenceEqual([1f, 1f, 1f]) || !postOutputs!.SequenceEqual([2f, 2f, 2f])
                || !postInputs!.SequenceEqual([2f, 4f, 6f, 2f, 4f, 6f]) || !accumulated!.SequenceEqual([4f, 8f, 12f]))
            {
                return Mismatch($"hooks on x * x at x = [1, 2, 3] saw pre [{Join(preSaw)}], post ([{Join(postInputs)}], [{Join(postOutputs)}]), .grad [{Join(accumulated)}]; expected [1, 1, 1], ([2, 4, 6, 2, 4, 6], [2, 2, 2]), [4, 8, 12]");
            }
        }
        if (NativeNodeHooks.IsAlive(preId) || NativeNodeHooks.IsAlive(postId) || NodeHookObjects.Count != 0)
        {
            return Mismatch("libtorch did not delete the hook objects with their node and tensor");
        }
        return null;
    }

    private static string Join(float[]? values) => string.Join(", ", values ?? []);

    private static NotSupportedException Mismatch(string what, Exception? inner = null) =>
        new($"Node hooks do not work with this libtorch: {what}. AutogradKit's node hook interop was verified with {AbiFacts.VerifiedOn}.", inner);
}
