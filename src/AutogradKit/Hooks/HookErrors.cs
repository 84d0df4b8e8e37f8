using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace AutogradKit;

/// <summary>
/// Exceptions thrown by C# tensor hooks during a backward pass, and the entry points that run a pass. A hook runs
/// inside libtorch's engine, so its exception cannot unwind through native frames: the hook's trampoline catches
/// it, records it for the pass that ran it, and makes libtorch fail the pass (<c>hook 'N' has changed the size of
/// value</c>); the entry point that started the pass then rethrows the original exception.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Every native backward or grad pass of AutogradKit runs through <see cref="Run(Action)"/>,
/// <see cref="Run{T}(Func{T})"/> or <see cref="RunNative"/>: each enters a <see cref="HookPass"/> on the
/// <see cref="HookGate"/> (so no hook registration mutates a hook list the pass iterates) and owns the exceptions of
/// the hooks it runs.</para>
/// <para>Where a hook's exception goes: on the CPU libtorch runs hooks on the thread that started the pass, and the
/// exception belongs to that thread's innermost pass. Hooks of a CUDA graph run on libtorch's device threads; their
/// exception belongs to the only AutogradKit pass running at the time, if exactly one is, and is rethrown only when
/// that pass failed in a hook without a hook of its own thread throwing. Otherwise (a pass AutogradKit did not start:
/// TorchSharp's own <c>backward()</c>) it is kept for the thread that ran it and forgotten by the next AutogradKit pass of that thread: it never reaches
/// another thread's call, nor a later pass of the same thread.</para>
/// </remarks>
internal static class HookErrors
{
    // Hook exceptions of a pass AutogradKit did not start on this thread (raw TorchSharp backward).
    [ThreadStatic]
    private static ExceptionDispatchInfo? s_orphan;

    private static readonly Lazy<bool> HasDeviceThreads = new(() => torch.cuda.is_available(), LazyThreadSafetyMode.PublicationOnly);

    /// <summary>Records an exception a hook threw on this thread, for the pass that ran it.</summary>
    public static void Record(Exception error)
    {
        if (HookGate.Current is { } pass)
        {
            pass.Record(error, onDeviceThread: false);
        }
        else if (HasDeviceThreads.Value && HookGate.SoleActive() is { } sole)
        {
            sole.Record(error, onDeviceThread: true);
        }
        else
        {
            s_orphan ??= ExceptionDispatchInfo.Capture(error);
        }
    }

    /// <summary>Whether this thread keeps a hook exception of a pass AutogradKit did not start (for tests).</summary>
    public static bool HasOrphanOnThisThread => s_orphan is not null;

    /// <summary>
    /// Runs a native backward or grad pass that raises libtorch's errors as <see cref="ExternalException"/>
    /// (TorchSharp's <c>backward</c>, <c>torch.autograd.backward</c>, a TorchScript function) as one AutogradKit pass:
    /// a C# hook's exception reaches the caller as itself, any other libtorch error as the typed
    /// <see cref="AutogradException"/> of <see cref="Ensure"/>. Hooks may not be registered on other threads while
    /// it runs (<see cref="HookGate"/>); a hook may register hooks.
    /// </summary>
    public static void Run(Action call) => Run<object?>(() =>
    {
        call();
        return null;
    });

    /// <inheritdoc cref="Run(Action)"/>
    public static T Run<T>(Func<T> call)
    {
        s_orphan = null;
        AnomalyTraces.Forget();
        using HookPass pass = HookGate.EnterPass();
        T result;
        try
        {
            result = call();
        }
        catch (ExternalException e)
        {
            pass.ThrowRecorded(IsHookFailure(e.Message));
            throw Ensure.Translate(e);
        }
        catch (AutogradException e)
        {
            // A catching TorchScript call (TorchScriptUnit) has already typed libtorch's error.
            pass.ThrowRecorded(IsHookFailure(e.NativeMessage ?? e.Message));
            throw;
        }
        // A hook that threw but whose failure libtorch did not see (it could not be given a failing gradient).
        pass.ThrowRecorded(passFailedInAHook: false);
        return result;
    }

    /// <summary>
    /// <see cref="Run(Action)"/> for a bridge call that catches libtorch's errors and leaves them in TorchSharp's error
    /// slot (<c>THSTensor_backward</c>, <c>THSAutograd_backward</c>).
    /// </summary>
    public static void RunNative(Action call)
    {
        s_orphan = null;
        AnomalyTraces.Forget();
        using HookPass pass = HookGate.EnterPass();
        call();
        try
        {
            Ensure.NoPendingError();
        }
        catch (AutogradException e)
        {
            pass.ThrowRecorded(IsHookFailure(e.NativeMessage ?? e.Message));
            throw;
        }
        pass.ThrowRecorded(passFailedInAHook: false);
    }

    /// <summary>Forgets the hook exception kept for this thread by a pass AutogradKit did not start.</summary>
    public static void DiscardPendingOfThisThread() => s_orphan = null;

    /// <summary>Whether libtorch's text is the failure a throwing hook provokes.</summary>
    public static bool IsHookFailure(string nativeText) =>
        nativeText.Contains("hook '", StringComparison.Ordinal) && nativeText.Contains("has changed the size of value", StringComparison.Ordinal);
}
