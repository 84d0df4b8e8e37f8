namespace AutogradKit;

/// <summary>
/// A node of libtorch's autograd graph (<c>torch::autograd::Node*</c>) by identity, the pointer hidden: code outside
/// <c>Interop/</c> compares, hashes and prints it, and hands it back to <see cref="NativeGraph"/> together with the
/// <see cref="SharedNodeRef"/> that keeps it alive. It owns nothing.
/// </summary>
/// <remarks>Immutable, so thread-safe.</remarks>
internal readonly struct NodeRef : IEquatable<NodeRef>
{
    private readonly nint _address;

    internal NodeRef(nint address) => _address = address;

    /// <summary>True for the empty edge's function (PyTorch's <c>None</c> in <c>next_functions</c>).</summary>
    internal bool IsNull => _address == 0;

    /// <summary>The node's address as a number: what Python's <c>str(fn)</c> prints and torchviz uses as a node id.</summary>
    internal ulong Identity => (ulong)_address;

    /// <summary>The address, for the readers in <c>Interop/</c> only.</summary>
    internal nint Address => _address;

    public bool Equals(NodeRef other) => other._address == _address;

    public override bool Equals(object? obj) => obj is NodeRef other && Equals(other);

    public override int GetHashCode() => _address.GetHashCode();
}
