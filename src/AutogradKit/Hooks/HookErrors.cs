using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// Exceptions thrown by C# tensor hooks during a backward pass. A hook runs inside libtorch's engine, so its
/// exception cannot unwind through native frames: the hook's callback catches it, records it here and makes
/// libtorch fail the pass (<c>hook 'N' has changed the size of value</c>); whoever started the pass then
/// rethrows the original exception with <see cref="Run(Action)"/> or <see cref="ThrowPendingIfAny"/>.
/// </summary>
/// <remarks>
/// Thread-safe. On the CPU libtorch runs hooks on the thread that called backward, and that thread's record is
/// always the one rethrown; hooks of CUDA graphs run on libtorch's device threads, whose records are claimed by
/// the next failed pass that libtorch reports as a hook failure.
/// </remarks>
internal static class HookErrors
{
    private const int MaxPending = 64;

    private sealed record Pending(int ThreadId, ExceptionDispatchInfo Error);

    private static readonly Lock Gate = new();
    private static readonly List<Pending> PendingErrors = [];

    // PendingErrors.Count, readable without the lock: every backward pass asks, and almost always there is none.
    private static volatile int s_pendingCount;

    /// <summary>Records an exception a hook threw on this thread.</summary>
    public static void Record(Exception error)
    {
        lock (Gate)
        {
            if (PendingErrors.Count >= MaxPending)
            {
                PendingErrors.RemoveAt(0); // nobody claimed it; keep memory bounded
            }
            PendingErrors.Add(new Pending(Environment.CurrentManagedThreadId, ExceptionDispatchInfo.Capture(error)));
            s_pendingCount = PendingErrors.Count;
        }
    }

    /// <summary>How many hook exceptions wait to be rethrown (for tests).</summary>
    public static int PendingCount
    {
        get
        {
            lock (Gate)
            {
                return PendingErrors.Count;
            }
        }
    }

    /// <summary>
    /// Runs a native backward or grad call (TorchSharp's <c>backward</c>, <c>torch.autograd.backward</c>, …) so that
    /// a C# hook's exception reaches the caller as itself, and any other libtorch error as the typed
    /// <see cref="AutogradException"/> of <see cref="Ensure"/>.
    /// </summary>
    public static void Run(Action call) => Run<object?>(() =>
    {
        call();
        return null;
    });

    /// <inheritdoc cref="Run(Action)"/>
    public static T Run<T>(Func<T> call)
    {
        DiscardPendingOfThisThread();
        T result;
        try
        {
            result = call();
        }
        catch (ExternalException e)
        {
            ThrowPendingIfAny(e);
            throw Ensure.Translate(e);
        }
        ThrowPendingIfAny();
        return result;
    }

    /// <summary>
    /// After a pass run through a bridge call that catches libtorch's errors (<c>THSTensor_backward</c>,
    /// <c>THSAutograd_backward</c>): rethrows a hook's exception as itself, else libtorch's error as the typed
    /// <see cref="AutogradException"/>; does nothing after a clean pass.
    /// </summary>
    public static void ThrowAfterNativePass()
    {
        if (NativeMethods.TakeNativeError() is { } error)
        {
            ThrowPendingIfAny(new ExternalException(error));
            throw Ensure.FromNativeText(error);
        }
        ThrowPendingIfAny();
    }

    /// <summary>
    /// Rethrows, with its original stack, the exception a hook threw during the pass that just ended on this
    /// thread; does nothing when there is none. Pass the native failure of that pass, if it failed, so that a
    /// hook exception recorded on one of libtorch's device threads (CUDA) is claimed too.
    /// </summary>
    public static void ThrowPendingIfAny(ExternalException? nativeFailure = null)
    {
        bool hookFailure = nativeFailure is not null && IsHookFailure(nativeFailure.Message);
        Pending? pending = Take(allowOtherThreads: hookFailure);
        pending?.Error.Throw();
    }

    /// <summary>Forgets exceptions recorded on this thread by passes nobody reported (e.g. a direct TorchSharp backward).</summary>
    public static void DiscardPendingOfThisThread()
    {
        if (s_pendingCount != 0)
        {
            DiscardPendingOf(Environment.CurrentManagedThreadId);
        }
    }

    private static void DiscardPendingOf(int thread)
    {
        lock (Gate)
        {
            PendingErrors.RemoveAll(p => p.ThreadId == thread);
            s_pendingCount = PendingErrors.Count;
        }
    }

    /// <summary>Whether libtorch's text is the failure a throwing hook provokes.</summary>
    public static bool IsHookFailure(string nativeText) =>
        nativeText.Contains("hook '", StringComparison.Ordinal) && nativeText.Contains("has changed the size of value", StringComparison.Ordinal);

    private static Pending? Take(bool allowOtherThreads) =>
        s_pendingCount == 0 ? null : TakeLocked(Environment.CurrentManagedThreadId, allowOtherThreads);

    private static Pending? TakeLocked(int thread, bool allowOtherThreads)
    {
        lock (Gate)
        {
            int index = PendingErrors.FindIndex(p => p.ThreadId == thread);
            if (index < 0 && allowOtherThreads)
            {
                index = PendingErrors.Count > 0 ? 0 : -1;
            }
            if (index < 0)
            {
                return null;
            }
            Pending pending = PendingErrors[index];
            // Later records of the same pass (a second hook on another thread) would only be stale next time.
            PendingErrors.RemoveAll(p => p.ThreadId == pending.ThreadId);
            s_pendingCount = PendingErrors.Count;
            return pending;
        }
    }
}
