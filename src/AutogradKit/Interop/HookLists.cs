using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// A tensor's C++ hook list, <c>AutogradMeta::cpp_hooks_list_</c>: the <c>std::vector</c> of
/// <c>std::function&lt;at::TensorBase(const at::TensorBase&amp;)&gt;</c> that <c>_register_hook</c> appends to. Its
/// identity is the vector's address, which lives as long as the list: the list is freed only with the last of its
/// owners, and with it every copy of our functions in it (so every <see cref="HookTable"/> entry that names it goes
/// first).
/// </summary>
internal readonly record struct HookList(IntPtr Address);

/// <summary>
/// Reads a tensor's C++ hook list, so that <see cref="NativeHooks"/> can reuse a removed hook's trampoline at the end
/// of the list instead of appending one more (a tensor that gets a hook registered and removed every step would
/// otherwise gain a pass-through trampoline a step, each costing a call into managed code a pass).
/// </summary>
/// <remarks>
/// The layout is checked once by <see cref="HookAbi"/> against a list whose only entry's address is known (libtorch
/// copies our function into it through our manager); until then, or when the check fails, <see cref="Of"/> returns
/// null and hooks are appended as always. Thread-safety: reads race only with changes to the same tensor's autograd
/// metadata (an in-place op or <c>detach_()</c> on another thread), a data race in PyTorch too; registrations, the
/// only writers of a list, are serialised by <see cref="HookGate"/>.
/// </remarks>
internal static unsafe class HookLists
{
    /// <summary>This ABI's offset of <c>cpp_hooks_list_</c> in <c>AutogradMeta</c> (also read by <see cref="TensorOwners"/>).</summary>
    internal static readonly int CppHooksListOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.TensorHooks.CppHooksListOffset : AbiFacts.AutogradMeta.CppHooksListOffset;

    // A shared_ptr starts with its object's address and a std::vector with its first element's under both ABIs.
    private static readonly int VectorEndOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.TensorHooks.VectorLastOffset : AbiFacts.Vector.FinishOffset;

    // 0: not checked yet, 1: checked and right, -1: checked and wrong (lists are never read).
    private static volatile int s_state;

    /// <summary>Whether the layout was checked and found right.</summary>
    public static bool Verified => s_state == 1;

    /// <summary>The list the next <c>_register_hook</c> on <paramref name="t"/> appends to, or null (none yet, or unchecked layout).</summary>
    public static HookList? Of(Tensor t) => Verified ? Read(t) : null;

    /// <summary>How many functions the list holds (registered and removed alike).</summary>
    public static int Length(HookList list)
    {
        byte* vector = (byte*)list.Address;
        return (int)((*(long*)(vector + VectorEndOffset) - *(long*)vector) / StdFunctionHooks.Size);
    }

    /// <summary>The <see cref="HookTable"/> id of the function at <paramref name="index"/>, or null when it is not ours (or was emptied).</summary>
    public static long? IdAt(HookList list, int index)
    {
        if (index < 0 || index >= Length(list))
        {
            return null;
        }
        return StdFunctionHooks.IdOf((byte*)(*(long*)list.Address) + (index * StdFunctionHooks.Size));
    }

    /// <summary>The raw <c>cpp_hooks_list_</c> word of a tensor that has autograd metadata, for the first-use check (0: no list).</summary>
    internal static IntPtr ListWord(Tensor t)
    {
        IntPtr meta = NativeMethods.Autograd_get_autograd_meta(t.Handle);
        GC.KeepAlive(t);
        return meta == IntPtr.Zero ? IntPtr.Zero : *(IntPtr*)((byte*)meta + CppHooksListOffset);
    }

    /// <summary>
    /// The first-use check, run by <see cref="HookAbi"/> on its own tensor <paramref name="t"/>, which had no hook list
    /// before (<paramref name="wordBefore"/>) and then got one hook, <paramref name="firstId"/>, copied by libtorch to
    /// <see cref="StdFunctionHooks.LastCloneDestination"/>. The word at the offset must have turned from null into a
    /// list whose only entry is that copy. Returns what was wrong, or null; list reads are enabled only when right.
    /// </summary>
    internal static string? Verify(Tensor t, IntPtr wordBefore, long firstId, IntPtr copiedTo)
    {
        IntPtr word = ListWord(t);
        string? wrong = null;
        if (wordBefore != IntPtr.Zero || word == IntPtr.Zero || copiedTo == IntPtr.Zero)
        {
            // Not the field that registering the first hook creates: never dereference it.
            wrong = $"the word at AutogradMeta+{CppHooksListOffset} was 0x{wordBefore:x} before the first hook and 0x{word:x} after";
        }
        else if (*(IntPtr*)word != copiedTo)
        {
            wrong = $"the list's storage starts at 0x{*(IntPtr*)word:x}, not where libtorch copied the hook (0x{copiedTo:x})";
        }
        else
        {
            var list = new HookList(word);
            if (Length(list) != 1 || IdAt(list, 0) != firstId)
            {
                wrong = $"the list holds {Length(list)} function(s), its first with id {IdAt(list, 0)}, expected 1 with id {firstId}";
            }
        }
        s_state = wrong is null ? 1 : -1;
        return wrong;
    }

    private static HookList? Read(Tensor t)
    {
        IntPtr word = ListWord(t);
        return word == IntPtr.Zero ? null : new HookList(word);
    }
}
