using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Counts who else holds a tensor's C++ objects, so that a hook closure that captures its own tensor can be collected
/// like PyTorch's garbage collector collects that cycle (see <see cref="HookClosures"/>): the <c>TensorImpl</c>'s strong
/// count, its <c>grad_fn</c> node's <c>shared_ptr</c> use count, and its C++ hook list's use count.
/// </summary>
/// <remarks>
/// The layout (<see cref="AbiFacts.IntrusivePtr"/>, <see cref="AbiFacts.SharedPtr"/>,
/// <see cref="AbiFacts.AutogradMeta"/>) is checked once, on a fresh thread, against a graph whose counts are known;
/// until it was checked and found right, <see cref="OthersMayCallHooks"/> answers true (keep the hooks), which is the
/// safe answer: a kept cycle is a leak, a wrong "no" would lose a hook. Thread-safety: the counts are atomics that
/// other threads may change while they are read; callers decide only on a tensor no other managed code can reach.
/// </remarks>
internal static unsafe class TensorOwners
{
    // This ABI's facts (the hook list's offset is HookLists'): AbiFacts.IntrusivePtr/SharedPtr on Linux, AbiFacts.Msvc.TensorHooks/SharedPtr on Windows.
    private static readonly int StrongCountOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.TensorHooks.StrongCountOffset : AbiFacts.IntrusivePtr.StrongCountOffset;
    private static readonly int ControlOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.SharedPtr.ControlOffset : AbiFacts.SharedPtr.ControlOffset;
    private static readonly int UseCountOffset = CxxExports.IsMsvc ? AbiFacts.Msvc.SharedPtr.UseCountOffset : AbiFacts.SharedPtr.UseCountOffset;

    private static readonly Lazy<string?> Failure = new(
        () => FirstUseCheck.Run(Check, "AutogradKit tensor owner check"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Runs the first-use check (once); afterwards <see cref="OthersMayCallHooks"/> may answer false.</summary>
    public static void EnsureChecked() => _ = Failure.Value;

    /// <summary>What the check found wrong, or null when it passed (for tests and diagnostics).</summary>
    internal static string? CheckFailure => Failure.Value;

    private static bool Verified => Failure.IsValueCreated && Failure.Value is null;

    /// <summary>
    /// Whether the C++ hooks registered on <paramref name="t"/> may still be called by anything but a backward pass
    /// that starts from <paramref name="t"/> itself: another handle or a graph holds its <c>TensorImpl</c>, another
    /// output or a later node holds its <c>grad_fn</c>, or a node holds its hook list. True when unsure.
    /// </summary>
    /// <remarks>The caller guarantees that <paramref name="t"/> is not disposed meanwhile.</remarks>
    public static bool OthersMayCallHooks(Tensor t)
    {
        if (!Verified || t.IsInvalid)
        {
            return true;
        }
        (int impl, int node, int list) = Counts(t);
        // Held by this tensor alone: its TensorImpl (this handle), its grad_fn (its AutogradMeta), its hook list (its
        // AutogradMeta, the CppFunctionTensorPreHook in its own hooks_, and the one on its grad_fn when it has one).
        int listOwnedHere = list == 0 ? 0 : node == 0 ? 2 : 3;
        return impl > 1 || node > 1 || list > listOwnedHere;
    }

    /// <summary>The three counts (0 where there is no grad_fn or no hook list).</summary>
    internal static (int Impl, int Node, int List) Counts(Tensor t)
    {
        IntPtr handle = t.Handle;
        byte* impl = *(byte**)((byte*)handle + AbiFacts.IntrusivePtr.TargetOffset); // an at::Tensor is its TensorImpl* under both ABIs
        int strong = *(int*)(impl + StrongCountOffset);
        int node = UseCount(NativeMethods.TensorBase_grad_fn(handle));
        IntPtr meta = NativeMethods.Autograd_get_autograd_meta(handle);
        int list = meta == IntPtr.Zero ? 0 : UseCount((IntPtr)((byte*)meta + HookLists.CppHooksListOffset));
        GC.KeepAlive(t);
        return (strong, node, list);
    }

    private static int UseCount(IntPtr sharedPtr)
    {
        if (sharedPtr == IntPtr.Zero)
        {
            return 0;
        }
        byte* control = *(byte**)((byte*)sharedPtr + ControlOffset);
        return control == null ? 0 : *(int*)(control + UseCountOffset);
    }

    private static string? Check()
    {
        if (CxxExports.Abi == CxxAbi.Unverified || !HookLists.Verified)
        {
            return $"the counts are read only with {PlatformSupport.VerifiedOnLinuxAndWindows} once the hook list layout was verified";
        }
        try
        {
            using var scope = torch.NewDisposeScope();
            using var grad = torch.enable_grad();
            Tensor x = torch.ones(3).requires_grad_();
            string? wrong = Expect(x, (1, 0, 0), "a fresh leaf");
            Tensor y = x * 2;
            wrong ??= Expect(x, (2, 0, 0), "a leaf held by one graph's AccumulateGrad");
            wrong ??= Expect(y, (1, 1, 0), "a fresh non-leaf");
            RegisterHookExtensions.Register(x, _ => null, gated: false);
            RegisterHookExtensions.Register(y, _ => null, gated: false);
            wrong ??= Expect(x, (2, 0, 2), "a leaf with a hook");
            wrong ??= Expect(y, (1, 1, 3), "a non-leaf with a hook");
            Tensor z = y * 3;
            wrong ??= Expect(y, (1, 2, 3), "a non-leaf whose node a later node holds");
            z.Dispose();
            wrong ??= Expect(y, (1, 1, 3), "a non-leaf once the later node was freed");
            y.Dispose();
            wrong ??= Expect(x, (1, 0, 2), "a leaf once its graph was freed");
            return wrong;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e.Message;
        }
    }

    private static string? Expect(Tensor t, (int Impl, int Node, int List) expected, string what)
    {
        (int Impl, int Node, int List) seen = Counts(t);
        return seen == expected ? null : $"{what}: (TensorImpl, grad_fn, hook list) use counts were {seen}, expected {expected}";
    }
}
