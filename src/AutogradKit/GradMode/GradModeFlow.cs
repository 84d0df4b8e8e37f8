namespace AutogradKit;

/// <summary>
/// Carries the open autograd scopes with the <see cref="ExecutionContext"/>, as <see cref="AsyncLocal{T}"/>
/// carries a value, and keeps libtorch's per-thread state in step with the flow each thread is running.
/// </summary>
/// <remarks>
/// <para>
/// The flow's value is its innermost open <see cref="GradModeScope"/> (the scopes are a linked stack through
/// <see cref="GradModeScope.Outer"/>), so a child flow — a <c>Task.Run</c>, a <c>Parallel.For</c> worker, an
/// <c>await</c> continuation, a thread started inside a scope — sees exactly the scopes open when it was started,
/// and a scope opened or disposed in a child flow never changes its parent's, as with any <see cref="AsyncLocal{T}"/>.
/// </para>
/// <para>
/// libtorch keeps grad mode and inference mode per thread. The runtime calls <see cref="OnFlowChanged"/> on a
/// thread whenever that thread switches to an execution context whose value differs (an <c>await</c> resuming,
/// a thread-pool work item starting or ending, an async method returning to its caller at its first
/// <c>await</c>, <c>ExecutionContext.Run</c>); the handler makes the thread's <see cref="AppliedScopes"/> match
/// the new flow: it unwinds the scopes of the flow it leaves (restoring what they replaced, so the thread ends
/// with its own mode) and applies those of the flow it enters. Opening and disposing a scope change the value
/// on the current thread and apply the change directly (the handler ignores those calls), so a scope with no
/// <c>await</c> inside costs two small native calls, the scope object and two <see cref="AsyncLocal{T}"/> writes.
/// </para>
/// <para>
/// The handler must not throw: the runtime ends the process on an exception from an
/// <see cref="AsyncLocal{T}"/> notification. It only calls <see cref="NativeGradMode"/> members, which raise no
/// libtorch error, and grows a small array.
/// </para>
/// <para>Thread-safety: all members act on the calling thread and its current flow.</para>
/// </remarks>
internal static class GradModeFlow
{
    private static readonly AsyncLocal<GradModeScope?> InnermostScope = new(OnFlowChanged);

    /// <summary>The innermost scope open in the current flow, or null.</summary>
    internal static GradModeScope? Innermost => InnermostScope.Value;

    /// <summary>Applies <paramref name="scope"/> on this thread and makes it the current flow's innermost scope.</summary>
    /// <param name="scope">A new scope whose <see cref="GradModeScope.Outer"/> is the current <see cref="Innermost"/>.</param>
    internal static void Enter(GradModeScope scope)
    {
        AppliedScopes applied = AppliedScopes.Current;
        applied.MatchFlow(scope.Outer);
        if (scope.Kind == AutogradScopeKind.DetectAnomaly)
        {
            AnomalyScopes.Open(scope);
        }
        applied.Push(scope);
        ExecutionContext? before = ExecutionContext.Capture();
        InnermostScope.Value = scope;
        if (before is not null)
        {
            scope.RememberContexts(before, ExecutionContext.Capture()!);
        }
    }

    /// <summary>Unapplies <paramref name="scope"/>, the current flow's innermost scope, on this thread and pops it.</summary>
    internal static void Leave(GradModeScope scope)
    {
        AppliedScopes applied = AppliedScopes.Current;
        applied.MatchFlow(scope);
        if (scope.TakeContexts(out ExecutionContext? before, out ExecutionContext? after) &&
            ReferenceEquals(ExecutionContext.Capture(), after))
        {
            // Nothing else changed in the flow since the scope opened (any AsyncLocal write makes a new
            // context), so the context from before it is this one with the scope popped: going back to it
            // costs no allocation, where a write would allocate a new context and value map. The runtime reports
            // it as a context switch, so OnFlowChanged unapplies the scope on this thread.
            ExecutionContext.Restore(before!);
        }
        else
        {
            applied.Pop();
            InnermostScope.Value = scope.Outer;
        }
        if (scope.Kind == AutogradScopeKind.DetectAnomaly)
        {
            AnomalyScopes.Close(scope);
        }
    }

    private static void OnFlowChanged(AsyncLocalValueChangedArgs<GradModeScope?> change)
    {
        // Explicit writes come from Enter and Leave, which have already applied the change on this thread.
        if (change.ThreadContextChanged)
        {
            AppliedScopes.Current.SwitchTo(change.CurrentValue);
        }
    }
}
