using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// A node of the autograd graph, PyTorch's <c>tensor.grad_fn</c>: the function that computes the gradient of
/// a tensor's inputs, with its <see cref="Name"/> and the edges to the functions of its own inputs
/// (<see cref="NextFunctions"/>).
/// </summary>
/// <remarks>
/// A <c>GradFn</c> from <c>t.GradFn</c> holds its own reference to the libtorch node, and the tensor the walk
/// started from; the <c>GradFn</c>s reached through <see cref="NextFunctions"/> share that one reference, since a
/// node holds the nodes of its next edges and libtorch never changes a node's edges once it is built (so a walk
/// takes one reference, not one a node). Once
/// that tensor is disposed, every member that reads the graph throws <see cref="ObjectDisposedException"/>;
/// equality and hashing, which only compare node identity, keep working. Reading the graph never changes it.
/// Thread-safety: all members are safe to call from several threads at once; the graph must not be changed
/// (e.g. by an in-place operation on the root tensor) on another thread meanwhile.
/// </remarks>
public sealed partial class GradFn : IEquatable<GradFn>
{
    private readonly Tensor _root;
    // The reference that keeps this node alive: the walk's root node, which reaches this one.
    private readonly SharedNodeRef _pin;
    private readonly NodeRef _node;
    private string? _name;
    private IReadOnlyList<GradEdge>? _next;

    private GradFn(Tensor root, SharedNodeRef pin, NodeRef node)
    {
        _root = root;
        _pin = pin;
        _node = node;
    }

    /// <summary>The grad_fn of <paramref name="tensor"/>, or null for a leaf or a tensor that does not require grad.</summary>
    /// <exception cref="AutogradException">PyTorch's <c>grad_fn</c> raises for this tensor (a view made in no-grad or
    /// inference mode whose base was then modified in place).</exception>
    internal static GradFn? Of(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(tensor.IsInvalid, tensor);
        SharedNodeRef? node = NativeGraph.GradFnOf(tensor);
        return node is null ? null : new GradFn(tensor, node, node.NodeRef);
    }

    /// <summary>
    /// <see cref="Of"/> for a tensor that <see cref="NativeGraph.CheckGradFnReadable(Tensor)"/> has just passed (Repr), without
    /// checking again.
    /// </summary>
    internal static GradFn? OfReadable(Tensor tensor)
    {
        SharedNodeRef? node = NativeGraph.GradFnOf(tensor, readableChecked: true);
        return node is null ? null : new GradFn(tensor, node, node.NodeRef);
    }

    /// <summary>The node, its identity.</summary>
    internal NodeRef Node => _node;

    /// <summary>The tensor the walk that reached this node started from.</summary>
    internal Tensor Root => _root;

    /// <summary>
    /// The function's type name, PyTorch's <c>type(fn).__name__</c>: <c>"AddBackward0"</c>, <c>"AccumulateGrad"</c>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The tensor this GradFn came from was disposed.</exception>
    public string Name
    {
        get
        {
            ThrowIfRootDisposed();
            if (_name is null)
            {
                _name = NativeGraph.Name(_node, _pin);
            }
            return _name;
        }
    }

    /// <summary>
    /// PyTorch's <c>fn.next_functions</c>: for each input of this function, the function that produced it and
    /// which of that function's outputs it was; <c>GradEdge(null, 0)</c> for an input that does not require grad.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The tensor this GradFn came from was disposed.</exception>
    public IReadOnlyList<GradEdge> NextFunctions
    {
        get
        {
            ThrowIfRootDisposed();
            if (_next is null)
            {
                var edges = NativeGraph.NextEdges(_node, _pin);
                var next = new GradEdge[edges.Length];
                for (int i = 0; i < edges.Length; i++)
                {
                    next[i] = new GradEdge(edges[i].Function.IsNull ? null : new GradFn(_root, _pin, edges[i].Function), edges[i].InputNr);
                }
                Interlocked.CompareExchange(ref _next, Array.AsReadOnly(next), null);
            }
            return _next;
        }
    }

    /// <summary>
    /// PyTorch's <c>fn.variable</c>: for an <c>AccumulateGrad</c>, the leaf tensor whose <c>.grad</c> it fills,
    /// as a new handle the caller owns and disposes; null for every other function.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The tensor this GradFn came from was disposed.</exception>
    public Tensor? Variable
    {
        get
        {
            return Name == "AccumulateGrad" ? NativeGraph.Variable(_node, _pin) : null;
        }
    }

    /// <summary>Python's <c>str(fn)</c>: <c>&lt;AddBackward0 object at 0x55d0c8a1f2b0&gt;</c>, with the node's address.</summary>
    /// <exception cref="ObjectDisposedException">The tensor this GradFn came from was disposed.</exception>
    public override string ToString() => $"<{Name} object at 0x{_node.Identity:x}>";

    /// <summary>True when both stand for the same node of the graph.</summary>
    public bool Equals(GradFn? other) => other is not null && other._node.Equals(_node);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is GradFn other && Equals(other);

    /// <summary>A hash of the node's identity.</summary>
    public override int GetHashCode() => _node.GetHashCode();

    /// <summary>True when both are null or stand for the same node.</summary>
    public static bool operator ==(GradFn? left, GradFn? right) => left is null ? right is null : left.Equals(right);

    /// <summary>True unless both are null or stand for the same node.</summary>
    public static bool operator !=(GradFn? left, GradFn? right) => !(left == right);

    private void ThrowIfRootDisposed()
    {
        if (_root.IsInvalid)
        {
            throw new ObjectDisposedException(nameof(GradFn),
                $"The tensor this {nameof(GradFn)} came from has been disposed; its graph can no longer be read.");
        }
    }
}

/// <summary>
/// One of PyTorch's <c>next_functions</c> pairs: the function that produced an input (null when that input
/// does not require grad) and which of its outputs the input was. Thread-safety: immutable.
/// </summary>
/// <param name="Function">The function, or null for PyTorch's <c>(None, 0)</c>.</param>
/// <param name="InputNr">The output number of <paramref name="Function"/>, PyTorch's second element.</param>
public readonly record struct GradEdge(GradFn? Function, int InputNr);

/// <summary><c>tensor.grad_fn</c> as an extension property. Thread-safety: as <see cref="GradFn"/>.</summary>
public static class GradFnExtensions
{
    extension(Tensor t)
    {
        /// <summary>
        /// PyTorch's <c>t.grad_fn</c>: the function that created this tensor, or null for a leaf and for a tensor
        /// that does not require grad. Each read returns a new <see cref="GradFn"/> equal to the previous ones.
        /// </summary>
        /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
        /// <exception cref="AutogradException">PyTorch's <c>grad_fn</c> raises the same error: the tensor is a view
        /// made in no-grad or inference mode and its base (or another view of it) was then modified in place
        /// ("A view was created in no_grad mode and its base or another view of its base has been modified inplace …").</exception>
        /// <exception cref="PlatformNotSupportedException">Not Linux x64: AutogradKit reads the graph through
        /// libtorch's C++ layout, verified on Linux x64 with libstdc++ only.</exception>
        /// <exception cref="NotSupportedException">This libtorch's layout does not match the verified one.</exception>
        /// <example>
        /// <code>
        /// var z = torch.matmul(x, w) + b;
        /// Console.WriteLine(z.GradFn);                          // &lt;AddBackward0 object at 0x55d0c8a1f2b0&gt;
        /// foreach (GradEdge edge in z.GradFn!.NextFunctions)
        ///     Console.WriteLine(edge.Function?.Name ?? "None"); // SqueezeBackward4, AccumulateGrad
        /// </code>
        /// </example>
        public GradFn? GradFn => AutogradKit.GradFn.Of(t);
    }
}
