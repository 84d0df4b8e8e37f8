using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The typed side of node hooks (<c>grad_fn.register_prehook</c>/<c>register_hook</c>) and post-accumulate-grad hooks
/// for <c>Graph/</c> and <c>Hooks/</c>: registration into libtorch's inline hook vectors and <c>AutogradMeta</c>, over
/// <see cref="NodeRef"/>s, <see cref="Tensor"/>s and ids, never a pointer.
/// </summary>
/// <remarks>
/// Registration mutates vectors libtorch's engine iterates without a lock, so callers hold the <see cref="HookGate"/>
/// (no AutogradKit pass of another thread runs). Removal (<see cref="Disable"/>, <see cref="PostAccumulateGradList.Remove"/>)
/// never touches libtorch's memory and is safe at any time. Every call needs <see cref="NodeHookAbi.EnsureVerified"/> first.
/// </remarks>
internal static unsafe class NativeNodeHooks
{
    /// <summary>
    /// Appends a hook object of <paramref name="kind"/> (<see cref="NodeHookKind.Pre"/> or <see cref="NodeHookKind.Post"/>)
    /// running <paramref name="body"/> to <paramref name="node"/>'s vector, which <paramref name="pin"/> keeps alive;
    /// returns its id for <see cref="Disable"/>.
    /// </summary>
    public static long Add(NodeRef node, SharedNodeRef pin, NodeHookKind kind, NodeHookBody body)
    {
        (IntPtr self, long id) = NodeHookObjects.Create(kind, body);
        if (CxxExports.IsMsvc)
        {
            AppendMsvc(node.Address, self, kind);
        }
        else
        {
            Append(node.Address + (kind == NodeHookKind.Pre ? PreHooksOffset : PostHooksOffset), self, kind);
        }
        GC.KeepAlive(pin);
        return id;
    }

    /// <summary>Removes the body of hook <paramref name="id"/>: its object passes gradients through until libtorch deletes it with its node.</summary>
    public static void Disable(long id) => NodeHookObjects.Disable(id);

    /// <summary>Whether libtorch still holds hook object <paramref name="id"/> (for tests).</summary>
    public static bool IsAlive(long id) => NodeHookObjects.Contains(id);

    /// <summary>
    /// The post-accumulate-grad hook list of leaf <paramref name="t"/> (which requires grad), made and handed to libtorch
    /// on first use. Throws <see cref="NotSupportedException"/> when the tensor carries a hook object that is not ours.
    /// </summary>
    public static PostAccumulateGradList PostAccumulateGradHooks(Tensor t)
    {
        var slot = (IntPtr*)NativeMethods.Autograd_post_acc_grad_hooks(t.Handle);
        IntPtr current = *slot;
        GC.KeepAlive(t);
        if (NodeHookObjects.IsOurs(current, NodeHookKind.PostAccumulateGrad))
        {
            if (NodeHookObjects.Find(NodeHookObjects.IdOf(current)) is PostAccumulateGradList existing)
            {
                return existing;
            }
        }
        else if (current != IntPtr.Zero)
        {
            throw new NotSupportedException("The tensor carries a post-accumulate-grad hook object AutogradKit did not make (libtorch keeps one a tensor).");
        }
        var list = new PostAccumulateGradList();
        (IntPtr self, _) = NodeHookObjects.Create(NodeHookKind.PostAccumulateGrad, list);
        IntPtr temporary = self;
        NativeMethods.Autograd_set_post_acc_grad_hooks(t.Handle, &temporary);
        GC.KeepAlive(t);
        if (!CxxExports.IsMsvc && temporary != IntPtr.Zero)
        {
            NodeHookObjects.Delete(temporary); // Itanium: not moved from, and the caller destroys its temporary (MSVC: the callee did)
        }
        return list;
    }

    /// <summary>This ABI's offset of <c>Node::pre_hooks_</c> (<see cref="AbiFacts.NodeHooks"/>, <see cref="AbiFacts.Msvc.NodeHooks"/>).</summary>
    internal static readonly int PreHooksOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.NodeHooks.PreHooksOffset : AbiFacts.NodeHooks.PreHooksOffset;

    /// <summary>This ABI's offset of <c>Node::tensor_pre_hooks_</c>.</summary>
    internal static readonly int TensorPreHooksOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.NodeHooks.TensorPreHooksOffset : AbiFacts.NodeHooks.TensorPreHooksOffset;

    /// <summary>This ABI's offset of <c>Node::post_hooks_</c>.</summary>
    internal static readonly int PostHooksOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.NodeHooks.PostHooksOffset : AbiFacts.NodeHooks.PostHooksOffset;

    /// <summary>
    /// The raw words of a node's hook vector, for the first-use check: (begin, end). MSVC's <c>std::vector</c>
    /// ({<c>_Myfirst</c>, <c>_Mylast</c>, <c>_Myend</c>}, vector) has libstdc++'s shape (<see cref="AbiFacts.Vector"/>), which
    /// <see cref="NodeHookAbi"/> checks under both ABIs by the vectors' contents.
    /// </summary>
    internal static (IntPtr Begin, IntPtr End) VectorAt(IntPtr node, int offset)
    {
        var vector = (IntPtr*)(node + offset);
        return (vector[0], vector[AbiFacts.Vector.FinishOffset / IntPtr.Size]);
    }

    /// <summary>MSVC's libtorch exports <c>Node::add_pre_hook</c>/<c>add_post_hook</c> (inline on Linux): its own <c>emplace_back</c>.</summary>
    private static void AppendMsvc(IntPtr node, IntPtr hook, NodeHookKind kind)
    {
        IntPtr moved = hook;
        if (kind == NodeHookKind.Pre)
        {
            NativeMethods.Node_add_pre_hook(node, &moved);
        }
        else
        {
            NativeMethods.Node_add_post_hook(node, &moved);
        }
        if (moved != IntPtr.Zero)
        {
            NodeHookObjects.Delete(moved);
        }
    }

    /// <summary>libstdc++'s <c>emplace_back</c> of a <c>std::unique_ptr</c> onto the vector at <paramref name="vector"/>.</summary>
    private static void Append(IntPtr vector, IntPtr hook, NodeHookKind kind)
    {
        var words = (IntPtr*)vector;
        IntPtr finish = words[AbiFacts.Vector.FinishOffset / IntPtr.Size];
        IntPtr capacity = words[AbiFacts.Vector.CapacityOffset / IntPtr.Size];
        if (finish != capacity)
        {
            *(IntPtr*)finish = hook;
            words[AbiFacts.Vector.FinishOffset / IntPtr.Size] = finish + IntPtr.Size;
            return;
        }
        IntPtr moved = hook;
        if (kind == NodeHookKind.Pre)
        {
            NativeMethods.PreHookVector_realloc_insert(vector, finish, &moved);
        }
        else
        {
            NativeMethods.PostHookVector_realloc_insert(vector, finish, &moved);
        }
        if (moved != IntPtr.Zero)
        {
            NodeHookObjects.Delete(moved);
        }
    }
}
