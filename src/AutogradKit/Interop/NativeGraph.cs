using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The typed API over libtorch's autograd graph that <see cref="GradFn"/>, <see cref="AutogradGraph"/> and
/// <c>Repr</c> use: each native call wrapped once here, taking <see cref="Tensor"/>s, <see cref="NodeRef"/>s and the
/// <see cref="SharedNodeRef"/> that keeps a node alive, never raw pointers.
/// </summary>
/// <remarks>
/// Reading nodes goes through <see cref="NodeLayout"/>'s verified C++ layout (Linux x64 only; elsewhere
/// <see cref="NodeLayout.Ensure"/> throws <see cref="NotSupportedException"/>). <see cref="CheckGradFnReadable(Tensor)"/> and
/// <see cref="IsLeaf"/> use TorchSharp's exception-catching entry points only, so they work on every platform.
/// Thread-safe: each call reads what its caller keeps alive.
/// </remarks>
internal static class NativeGraph
{
    /// <summary>
    /// True when this platform's libtorch passed <see cref="NodeLayout"/>'s first-use check, so nodes can be read;
    /// never throws.
    /// </summary>
    internal static bool CanReadNodes => NodeLayout.IsSupported;

    /// <summary>
    /// Our own reference to the node of <paramref name="tensor"/>'s <c>grad_fn</c>, or null for a leaf and a tensor
    /// that does not require grad. Throws the <see cref="AutogradException"/> PyTorch's <c>grad_fn</c> raises
    /// instead of letting libtorch throw through P/Invoke (see <see cref="CheckGradFnReadable(Tensor)"/>); pass
    /// <paramref name="readableChecked"/> when the caller has just run that check.
    /// </summary>
    /// <exception cref="NotSupportedException">This platform's libtorch layout was not verified.</exception>
    internal static SharedNodeRef? GradFnOf(Tensor tensor, bool readableChecked = false)
    {
        NodeLayout.Ensure();
        if (!readableChecked)
        {
            CheckGradFnReadable(tensor);
        }
        SharedNodeRef? node = NodeLayout.GradFnOf(tensor);
        GC.KeepAlive(tensor);
        return node;
    }

    /// <summary>
    /// Throws the <see cref="AutogradException"/> that libtorch's <c>Tensor::grad_fn()</c> would throw for
    /// <paramref name="tensor"/> — a view made in no-grad or inference mode whose base (or another view of it) was
    /// then modified in place: "A view was created in no_grad mode and its base or another view of its base has been
    /// modified inplace …" — without calling it directly (a C++ exception through P/Invoke ends the process).
    /// </summary>
    /// <remarks>
    /// Only a view that requires grad can throw there (<c>VariableHooks::grad_fn</c> returns early otherwise). For
    /// such a view the question is put to libtorch through TorchSharp's <c>THSTensor_unsqueeze</c>, which catches C++
    /// exceptions: with grad mode on and inference mode off (a local <c>c10::InferenceMode(false)</c> guard, which
    /// does both), the autograd kernel of that O(1) view op collects the tensor's gradient edge, i.e. calls
    /// <c>grad_fn()</c>, exactly as PyTorch's <c>t.grad_fn</c> does, including the view's lazy grad_fn refresh. The
    /// new view is disposed at once. (TorchSharp's <c>THSTensor_alias</c> would not do: it copies the handle without
    /// running any operator.) Where the node layout is verified, <c>TensorBase::is_view()</c> (which cannot throw
    /// for a defined tensor) limits the check to views; elsewhere every tensor that requires grad is checked.
    /// </remarks>
    internal static void CheckGradFnReadable(Tensor tensor) => CheckGradFnReadable(tensor, NodeLayout.IsSupported);

    /// <summary>
    /// <see cref="CheckGradFnReadable(Tensor)"/>, asking libtorch whether the tensor is a view first only when
    /// <paramref name="canAskIsView"/> (the mangled <c>is_view</c> export is checked on Linux x64 only; tests take
    /// the other path too).
    /// </summary>
    internal static void CheckGradFnReadable(Tensor tensor, bool canAskIsView)
    {
        // is_view first: one direct call settles most tensors (graph roots are rarely views).
        if (canAskIsView && CxxExports.TensorIsView.IsAvailable && !NativeMethods.TensorBase_is_view(tensor.Handle))
        {
            GC.KeepAlive(tensor);
            return;
        }
        if (!tensor.requires_grad)
        {
            return;
        }
        IntPtr guard = NativeMethods.THSAutograd_getInferenceModeGuard(false);
        IntPtr probe;
        try
        {
            probe = NativeMethods.THSTensor_unsqueeze_ForGradFnProbe(tensor.Handle, 0);
            GC.KeepAlive(tensor);
        }
        finally
        {
            NativeMethods.THSAutograd_deleteInferenceModeGuard(guard);
        }
        if (probe == IntPtr.Zero)
        {
            throw Ensure.PendingError("THSTensor_unsqueeze returned no tensor.");
        }
        NativeMethods.THSTensor_dispose(probe);
    }

    /// <summary>
    /// PyTorch's <c>t.is_leaf</c> through TorchSharp's catching entry point; accurate after
    /// <see cref="CheckGradFnReadable(Tensor)"/> has refreshed a view's grad_fn.
    /// </summary>
    internal static bool IsLeaf(Tensor tensor)
    {
        bool leaf = NativeMethods.THSTensor_is_leaf(tensor.Handle);
        GC.KeepAlive(tensor);
        Ensure.NoPendingError();
        return leaf;
    }

    /// <summary>PyTorch's <c>type(fn).__name__</c> of <paramref name="node"/>, which <paramref name="pin"/> keeps alive.</summary>
    internal static string Name(NodeRef node, SharedNodeRef pin)
    {
        string name = NodeLayout.NameOf(node.Address);
        GC.KeepAlive(pin);
        return name;
    }

    /// <summary>
    /// The next edges of <paramref name="node"/> as (function, input_nr); a null <see cref="NodeRef"/> for an input
    /// that does not require grad. The functions are kept alive by <paramref name="pin"/> as long as it lives (a node
    /// holds its next nodes, and libtorch never changes a node's edges once built).
    /// </summary>
    internal static (NodeRef Function, int InputNr)[] NextEdges(NodeRef node, SharedNodeRef pin)
    {
        var edges = NodeLayout.NextEdgeRefs(node.Address);
        GC.KeepAlive(pin);
        return edges;
    }

    /// <summary>
    /// An <c>AccumulateGrad</c>'s <c>variable</c> as a new handle the caller owns; <paramref name="node"/> must be an
    /// <c>AccumulateGrad</c> (its <see cref="Name"/>).
    /// </summary>
    internal static Tensor Variable(NodeRef node, SharedNodeRef pin)
    {
        IntPtr handle = NativeMethods.THSTensor_alias(NodeLayout.VariableAddress(node.Address));
        GC.KeepAlive(pin);
        if (handle == IntPtr.Zero)
        {
            throw Ensure.PendingError("THSTensor_alias returned no tensor.");
        }
        return Tensor.UnsafeCreateTensor(handle);
    }

    /// <summary>
    /// The identity of <paramref name="tensor"/>'s <c>TensorImpl</c> (the same for every handle, alias and
    /// <c>Parameter</c> of one tensor), as torchviz's <c>id(var)</c> node ids.
    /// </summary>
    internal static ulong TensorIdentity(Tensor tensor)
    {
        ObjectDisposedException.ThrowIf(tensor.IsInvalid, tensor);
        ulong id = (ulong)NodeLayout.TensorImpl(tensor.Handle);
        GC.KeepAlive(tensor);
        return id;
    }
}
