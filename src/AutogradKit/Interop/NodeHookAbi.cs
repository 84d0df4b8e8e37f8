using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Checks once, on a graph whose answers are known, the facts of <see cref="AbiFacts.NodeHooks"/> that node hooks and
/// post-accumulate-grad hooks rely on, before any user hook object is handed to libtorch.
/// </summary>
/// <remarks>
/// Thread-safe; runs at most once per process, on a fresh thread (<see cref="FirstUseCheck"/>), after
/// <see cref="NodeLayout"/> (whose facts it builds on); under both ABIs (<see cref="AbiFacts.NodeHooks"/>,
/// <see cref="AbiFacts.Msvc.NodeHooks"/>). Its registrations skip the <see cref="HookGate"/>: the tensors are its own.
/// </remarks>
internal static unsafe class NodeHookAbi
{
    private static readonly Lazy<Exception?> Failure = FirstUseCheck.Once("AutogradKit node hook ABI check", "Node hooks", "they call libtorch's C++ API directly", Check, Mismatch);

    /// <summary>Throws <see cref="NotSupportedException"/> or <see cref="PlatformNotSupportedException"/> when node hooks cannot work here.</summary>
    public static void EnsureVerified()
    {
        NodeLayout.Ensure();
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
                if (CheckOffsets(address) is { } wrongOffset)
                {
                    return wrongOffset;
                }
                foreach (int offset in (int[])[NativeNodeHooks.PreHooksOffset, NativeNodeHooks.TensorPreHooksOffset, NativeNodeHooks.PostHooksOffset])
                {
                    (IntPtr begin, IntPtr end) = NativeNodeHooks.VectorAt(address, offset);
                    if (begin != end)
                    {
                        return Mismatch($"the hook vector at node+{offset} of a fresh node is not empty");
                    }
                }
                preId = NativeNodeHooks.Add(node.NodeRef, node, NodeHookKind.Pre, (grads, _) =>
                {
                    order.Add("pre");
                    preSaw = grads[0]!.data<float>().ToArray();
                    return [grads[0]! * 2];
                });
                (IntPtr preBegin, IntPtr preEnd) = NativeNodeHooks.VectorAt(address, NativeNodeHooks.PreHooksOffset);
                if ((long)preEnd - (long)preBegin != IntPtr.Size || !NodeHookObjects.IsOurs(*(IntPtr*)preBegin, NodeHookKind.Pre)
                    || NativeNodeHooks.VectorAt(address, NativeNodeHooks.TensorPreHooksOffset) is var (tensorBegin, tensorEnd) && tensorBegin != tensorEnd)
                {
                    return Mismatch($"adding a pre-hook to x * x did not put exactly our object into the vector at node+{NativeNodeHooks.PreHooksOffset} only");
                }
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
            if (seen != "pre, post, accumulated")
            {
                return Mismatch($"the hooks of x * x ran in the order {seen}, expected pre, post, accumulated");
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

    /// <summary>
    /// Whether the hook vectors are where the facts say: on Linux through <c>Node</c>'s virtual <c>tensor_pre_hooks()</c>
    /// (the others are inline there and proven by the hooks below); on Windows through the exported accessors, and the
    /// hook vftables' shape through libtorch's exported ones.
    /// </summary>
    private static NotSupportedException? CheckOffsets(IntPtr node)
    {
        if (!CxxExports.IsMsvc)
        {
            IntPtr fromVirtual = ((delegate* unmanaged<IntPtr, IntPtr>)(*(IntPtr**)node)[AbiFacts.NodeHooks.TensorPreHooksSlot])(node);
            return fromVirtual == node + AbiFacts.NodeHooks.TensorPreHooksOffset ? null
                : Mismatch($"Node::tensor_pre_hooks() returned node+{(long)fromVirtual - (long)node}, expected node+{AbiFacts.NodeHooks.TensorPreHooksOffset}");
        }
        foreach ((CxxExports.Export accessor, int offset, string name) in (ReadOnlySpan<(CxxExports.Export, int, string)>)[
            (CxxExports.NodePreHooks, AbiFacts.Msvc.NodeHooks.PreHooksOffset, "pre_hooks"),
            (CxxExports.NodeTensorPreHooks, AbiFacts.Msvc.NodeHooks.TensorPreHooksOffset, "tensor_pre_hooks"),
            (CxxExports.NodePostHooks, AbiFacts.Msvc.NodeHooks.PostHooksOffset, "post_hooks")])
        {
            IntPtr returned = NativeMethods.Node_hook_vector(accessor, node);
            if (returned != node + offset)
            {
                return Mismatch($"Node::{name}() returned node+{(long)returned - (long)node}, expected node+{offset}");
            }
        }
        IntPtr torch = NativeLibrary.Load(Libraries.TorchCpu, typeof(NodeHookAbi).Assembly, null);
        foreach ((NodeHookKind kind, string compiledArgs) in (ReadOnlySpan<(NodeHookKind, string)>)[
            (NodeHookKind.Pre, "?compiled_args@FunctionPreHook@autograd@torch@@UEBAXAEAVCompiledNodeArgs@2dynamo@3@@Z"),
            (NodeHookKind.Post, "?compiled_args@FunctionPostHook@autograd@torch@@UEBAXAEAVCompiledNodeArgs@2dynamo@3@@Z"),
            (NodeHookKind.PostAccumulateGrad, "?compiled_args@PostAccumulateGradHook@autograd@torch@@UEBAXAEAVCompiledNodeArgs@2dynamo@3@@Z")])
        {
            string vftableName = NodeHookObjects.MsvcVftables[(int)kind];
            if (!NativeLibrary.TryGetExport(torch, vftableName, out IntPtr vftable) || !NativeLibrary.TryGetExport(torch, compiledArgs, out IntPtr function)
                || ((IntPtr*)vftable)[AbiFacts.Msvc.NodeHooks.CompiledArgsSlot] != function)
            {
                return Mismatch($"{vftableName} does not hold compiled_args at slot {AbiFacts.Msvc.NodeHooks.CompiledArgsSlot}");
            }
        }
        return null;
    }

    private static string Join(float[]? values) => string.Join(", ", values ?? []);

    private static NotSupportedException Mismatch(string what, Exception? inner = null) =>
        new($"Node hooks do not work with this libtorch: {what}. AutogradKit's node hook interop was verified with {PlatformSupport.VerifiedOnLinuxAndWindows}.", inner);
}
