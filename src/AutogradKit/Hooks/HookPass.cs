using System.Runtime.ExceptionServices;

namespace AutogradKit;

/// <summary>
/// One AutogradKit backward or grad pass, from <see cref="HookGate.EnterPass"/> to <see cref="Dispose"/>: it shares
/// the <see cref="HookGate"/> and owns the exceptions its hooks throw, so that a hook's exception reaches the caller
/// of that pass and nobody else.
/// </summary>
/// <remarks>
/// Thread-safety: entered and disposed on one thread; <see cref="Record"/> may come from libtorch's device threads.
/// </remarks>
internal sealed class HookPass : IDisposable
{
    private ExceptionDispatchInfo? _own;
    private ExceptionDispatchInfo? _fromDeviceThread;
    private bool _disposed;

    internal HookPass(HookPass? outer, int depth)
    {
        Outer = outer;
        Depth = depth;
        ThreadId = Environment.CurrentManagedThreadId;
    }

    /// <summary>The pass this one is nested in (a backward run by a hook), or null.</summary>
    internal HookPass? Outer { get; }

    /// <summary>How many AutogradKit passes run on this thread, this one included.</summary>
    internal int Depth { get; }

    /// <summary>The managed thread the pass runs on.</summary>
    internal int ThreadId { get; }

    /// <summary>
    /// Keeps the first exception a hook of this pass threw on the pass's thread, or (<paramref name="onDeviceThread"/>)
    /// on one of libtorch's device threads, which have no pass of their own.
    /// </summary>
    internal void Record(Exception error, bool onDeviceThread)
    {
        // The first exception of the pass wins; later ones (other hooks of a failing pass) are dropped.
        if (onDeviceThread)
        {
            Interlocked.CompareExchange(ref _fromDeviceThread, ExceptionDispatchInfo.Capture(error), null);
        }
        else
        {
            Interlocked.CompareExchange(ref _own, ExceptionDispatchInfo.Capture(error), null);
        }
    }

    /// <summary>Whether a hook of this pass threw (for tests).</summary>
    internal bool HasRecorded => Volatile.Read(ref _own) is not null || Volatile.Read(ref _fromDeviceThread) is not null;

    /// <summary>
    /// Rethrows, with its original stack, the exception a hook of this pass threw on the pass's thread; an exception
    /// recorded on a device thread only when <paramref name="passFailedInAHook"/> (libtorch reported a hook failure
    /// and no hook on this thread threw: the hook ran on a device thread). Does nothing when there is none.
    /// </summary>
    internal void ThrowRecorded(bool passFailedInAHook)
    {
        ExceptionDispatchInfo? mine = Interlocked.Exchange(ref _own, null);
        ExceptionDispatchInfo? device = Interlocked.Exchange(ref _fromDeviceThread, null);
        (mine ?? (passFailedInAHook ? device : null))?.Throw();
    }

    /// <summary>Ends the pass (a second call does nothing); recorded exceptions not rethrown are forgotten.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        HookGate.ExitPass(this);
    }
}
