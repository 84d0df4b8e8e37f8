using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Checks once, with a case whose answer is known, that libtorch's hook ABI is the one <see cref="StdFunction"/>
/// and <see cref="StdFunctionHooks"/> assume (this platform's <c>std::function</c> layout — libstdc++'s or MSVC's —, sret
/// return, move/clone/destroy bookkeeping and who destroys the by-value argument), before any user hook is handed to libtorch; and, on the way, the layout <see cref="HookLists"/>
/// reads (a mismatch there only turns off the reuse of removed hooks' trampolines).
/// </summary>
/// <remarks>
/// Thread-safe; the check runs at most once per process, on a fresh thread that does not inherit the caller's
/// execution context: grad mode and inference mode are libtorch's per-thread state (and AutogradKit's flow with the
/// execution context), so no caller scope — <c>InferenceMode()</c>, <c>NoGrad()</c> — can reach the check's graph. Its
/// registrations skip the <see cref="HookGate"/>: its tensors are its own, and the caller may be a hook whose pass a
/// gated registration would wait for.
/// </remarks>
internal static class HookAbi
{
    private static readonly Lazy<Exception?> Failure = FirstUseCheck.Once("AutogradKit hook ABI check", "Tensor hooks", "they call libtorch's C++ API directly", Check, Mismatch);

    /// <summary>Throws <see cref="PlatformNotSupportedException"/> (<see cref="PlatformSupport"/>) on another platform, <see cref="NotSupportedException"/> when this libtorch does not match the facts.</summary>
    public static void EnsureVerified()
    {
        if (Failure.Value is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>What the first-use check found wrong with <see cref="HookLists"/>' layout, or null (for tests and diagnostics).</summary>
    internal static string? ListLayoutFailure
    {
        get
        {
            _ = Failure.Value;
            return s_listLayoutFailure;
        }
    }

    private static string? s_listLayoutFailure;

    private static NotSupportedException? Check()
    {
        int calls = 0;
        float[]? seen = null;
        long id;
        uint index;
        using (torch.NewDisposeScope())
        using (torch.enable_grad())
        {
            Tensor x = torch.tensor(new float[] { 1, 2, 3 }, requires_grad: true);
            Tensor y = x * x;
            IntPtr listWordBefore = HookLists.ListWord(y);
            TensorHookHandle doubling = RegisterHookExtensions.Register(y, gated: false, hook: g =>
            {
                calls++;
                seen = g.data<float>().ToArray();
                return g * 2;
            });
            id = doubling.Id;
            // A failure only keeps removed hooks' trampolines from being reused; hooks work either way.
            s_listLayoutFailure = HookLists.Verify(y, listWordBefore, id, StdFunctionHooks.LastCloneDestination);
            if (HookTable.References(id) != 1)
            {
                return Mismatch($"after _register_hook libtorch holds {HookTable.References(id)} copies of the hook, expected 1 (std::function move/clone/destroy bookkeeping)");
            }
            index = RegisterHookExtensions.Register(y, _ => null, gated: false).Index;
            if (index != 1)
            {
                return Mismatch($"_register_hook returned index {index} for the second hook, expected 1");
            }
            Ensure.Run(() => y.sum().backward());
            float[] grad = x.grad!.data<float>().ToArray();
            if (calls != 1 || seen is null || !seen.SequenceEqual([1f, 1f, 1f]) || !grad.SequenceEqual([4f, 8f, 12f]))
            {
                return Mismatch($"a hook doubling the gradient of y = x * x at x = [1, 2, 3] was called {calls} time(s), saw [{string.Join(", ", seen ?? [])}] and gave x.grad = [{string.Join(", ", grad)}], expected 1, [1, 1, 1] and [4, 8, 12]");
            }
        }
        GC.KeepAlive(index);
        if (StdFunctionHooks.TypeInfoRequests != 0)
        {
            return Mismatch("libtorch asked a hook for its type_info");
        }
        if (HookTable.Contains(id))
        {
            return Mismatch("libtorch did not destroy its copies of a hook when the tensor and its graph were freed");
        }
        return null;
    }

    private static NotSupportedException Mismatch(string what, Exception? inner = null) =>
        new($"Tensor hooks do not work with this libtorch: {what}. AutogradKit's hook interop was verified with {PlatformSupport.VerifiedOnLinuxAndWindows}.", inner);
}
