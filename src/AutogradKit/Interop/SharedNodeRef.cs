using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// One strong reference of our own to a libtorch autograd <c>Node</c>, taken on its libstdc++
/// <c>std::shared_ptr</c> control block, so the node cannot be freed while a <see cref="GradFn"/> uses it,
/// whatever happens to the tensors and the graph around it. Released exactly once, by <see cref="SafeHandle"/>'s
/// dispose or critical finaliser.
/// </summary>
/// <remarks>
/// The control block is libstdc++'s <c>_Sp_counted_base&lt;_S_atomic&gt;</c>: vtable pointer at 0,
/// <c>int _M_use_count</c> at 8, <c>int _M_weak_count</c> at 12; its vtable slots 2 and 3 are
/// <c>_M_dispose</c> and <c>_M_destroy</c>. <see cref="NodeLayout"/> verifies these once before the first
/// reference is taken. Thread-safe: the counts change atomically as libstdc++ changes them.
/// </remarks>
internal sealed unsafe class SharedNodeRef : SafeHandle
{
    private SharedNodeRef(IntPtr node, IntPtr control) : base(IntPtr.Zero, ownsHandle: true)
    {
        Node = node;
        SetHandle(control);
    }

    /// <summary>The node (<c>torch::autograd::Node*</c>); valid while this reference is not released.</summary>
    public IntPtr Node { get; }

    /// <summary>The node as a <see cref="AutogradKit.NodeRef"/>, for code outside <c>Interop/</c>.</summary>
    public NodeRef NodeRef => new(Node);

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>
    /// Takes a new strong reference from a live <c>shared_ptr&lt;Node&gt;</c> ({Node*, control block*}) at
    /// <paramref name="sharedPtr"/>, or returns null when it is empty. The caller guarantees that the
    /// <c>shared_ptr</c> stays alive during this call (its owner is alive).
    /// </summary>
    public static SharedNodeRef? FromSharedPtr(IntPtr sharedPtr)
    {
        IntPtr node = *(IntPtr*)sharedPtr;
        IntPtr control = *(IntPtr*)(sharedPtr + IntPtr.Size);
        if (node == IntPtr.Zero || control == IntPtr.Zero)
        {
            return null;
        }
        // The shared_ptr we copy from holds a reference, so the count is above zero: a plain atomic
        // increment is libstdc++'s own _M_add_ref_copy.
        Interlocked.Increment(ref *(int*)(control + AbiFacts.SharedPtr.UseCountOffset));
        return new SharedNodeRef(node, control);
    }

    /// <summary>The control block's current use count (for the first-use check and tests).</summary>
    internal static int UseCount(IntPtr control) => Volatile.Read(ref *(int*)(control + AbiFacts.SharedPtr.UseCountOffset));

    /// <summary>The control block's address.</summary>
    internal IntPtr Control => handle;

    // The counts sit at the same offsets in libstdc++'s _Sp_counted_base and MSVC's _Ref_count_base
    // (AbiFacts.SharedPtr, AbiFacts.Msvc.SharedPtr); the two virtual functions release calls do not.
    private static readonly int DisposeSlot = CxxExports.IsMsvc ? AbiFacts.Msvc.SharedPtr.DisposeSlot : AbiFacts.SharedPtr.DisposeSlot;
    private static readonly int DestroySlot = CxxExports.IsMsvc ? AbiFacts.Msvc.SharedPtr.DestroySlot : AbiFacts.SharedPtr.DestroySlot;

    /// <summary>libstdc++'s classic <c>_Sp_counted_base::_M_release</c> (MSVC's <c>_Decref</c> and <c>_Decwref</c> alike).</summary>
    protected override bool ReleaseHandle()
    {
        Release(handle);
        return true;
    }

    /// <summary>
    /// Drops one strong reference from a libstdc++ control block (<c>_Sp_counted_base::_M_release</c>), disposing the
    /// object and then the block when it was the last; for every <c>shared_ptr</c> AutogradKit owns a reference of.
    /// </summary>
    internal static void Release(IntPtr control)
    {
        if (Interlocked.Decrement(ref *(int*)(control + AbiFacts.SharedPtr.UseCountOffset)) == 0)
        {
            IntPtr* vtable = *(IntPtr**)control;
            ((delegate* unmanaged<IntPtr, void>)vtable[DisposeSlot])(control);
            if (Interlocked.Decrement(ref *(int*)(control + AbiFacts.SharedPtr.WeakCountOffset)) == 0)
            {
                ((delegate* unmanaged<IntPtr, void>)vtable[DestroySlot])(control);
            }
        }
    }
}
