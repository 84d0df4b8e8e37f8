using System.Runtime.CompilerServices;

namespace AutogradKit.Tests.GradMode;

/// <summary>
/// <c>await new ThreadHop()</c> resumes the awaiting async method on a new thread that is not in its flow
/// (started with <see cref="Thread.UnsafeStart()"/>), so every await on one is a real thread hop; once the
/// continuation has reached its next await (or ended) and handed the thread back, the hop records that
/// thread's own grad and inference mode.
/// </summary>
/// <remarks>
/// The continuation runs through the async method's captured <see cref="ExecutionContext"/>, exactly as any
/// await continuation on a thread-pool thread does. Thread-safety: one await per instance; <see cref="Join"/>
/// from any thread.
/// </remarks>
internal sealed class ThreadHop : INotifyCompletion
{
    private Thread? _thread;

    /// <summary>The thread the continuation ran on.</summary>
    public int ThreadId { get; private set; }

    /// <summary>The hop thread's (grad, inference) modes after the continuation handed it back.</summary>
    public (bool Grad, bool Inference) ModeAfter { get; private set; }

    /// <summary>Always false: awaiting a hop always leaves the current thread.</summary>
    public bool IsCompleted => false;

    /// <summary>The awaiter: the hop itself.</summary>
    public ThreadHop GetAwaiter() => this;

    /// <summary>Nothing to return.</summary>
    public void GetResult()
    {
    }

    /// <inheritdoc />
    public void OnCompleted(Action continuation)
    {
        _thread = new Thread(() =>
        {
            ThreadId = Environment.CurrentManagedThreadId;
            continuation();
            ModeAfter = (Autograd.IsGradEnabled, Autograd.IsInferenceModeEnabled);
        });
        _thread.UnsafeStart();
    }

    /// <summary>Waits until the hop thread has handed back and recorded its mode (bounded).</summary>
    public (bool Grad, bool Inference) Join()
    {
        if (_thread is null || !_thread.Join(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException("the hop thread did not finish");
        }
        return ModeAfter;
    }
}
