namespace AutogradKit;

/// <summary>
/// What an autograd scope switches; used to name the scope in error messages without storing a string.
/// </summary>
internal enum AutogradScopeKind : byte
{
    NoGrad,
    EnableGrad,
    SetGradEnabled,
    InferenceMode,
    DetectAnomaly,
    SavedTensorsHooks,
    DisableSavedTensorsHooks,
}

/// <summary>
/// One open autograd scope, PyTorch's <c>with torch.no_grad():</c> in C#: a node of an async flow's stack of
/// open scopes (<see cref="GradModeFlow"/>), immutable apart from its disposed flag.
/// </summary>
/// <remarks>
/// <para>
/// A scope does not hold libtorch state itself: libtorch's state is per thread and a scope may be in force on
/// several threads at once (every thread a <c>Parallel.For</c> inside it runs on). Each thread applies the
/// scopes of the flow it is running in its own <see cref="AppliedScopes"/>. Opening a scope pushes it on the
/// flow's stack; disposing pops it, and only the flow's innermost scope may be disposed.
/// </para>
/// <para>
/// Thread-safety: immutable but for <see cref="_disposed"/>, which only ever goes from false to true; any
/// thread running a flow that has the scope may dispose it (see <see cref="Dispose"/>).
/// </para>
/// </remarks>
internal class GradModeScope : IDisposable
{
    private readonly AutogradScopeKind _kind;
    private readonly bool _argument;
    private readonly int _depth;
    private readonly GradModeScope? _outer;
    private volatile bool _disposed;
    private ExecutionContext? _contextBefore;
    private ExecutionContext? _contextAfter;

    private GradModeScope(AutogradScopeKind kind, bool argument, GradModeScope? outer)
    {
        _kind = kind;
        _argument = argument;
        _outer = outer;
        _depth = outer is null ? 1 : outer._depth + 1;
    }

    /// <summary>What the scope switches.</summary>
    internal AutogradScopeKind Kind => _kind;

    /// <summary>Grad mode to set, inference mode's <c>enabled</c>, or anomaly mode's <c>checkNan</c>.</summary>
    internal bool Argument => _argument;

    /// <summary>The saved-tensor hooks (or the disabling) of a <see cref="AutogradScopeKind.SavedTensorsHooks"/> or <see cref="AutogradScopeKind.DisableSavedTensorsHooks"/> scope; null for the others.</summary>
    internal SavedTensorsHooksEntry? SavedHooks => (this as SavedHooksScope)?.Entry;

    /// <summary>A saved-tensor hooks scope: the entry rides in a subclass so that the other scopes stay their size.</summary>
    private sealed class SavedHooksScope(SavedTensorsHooksEntry entry, GradModeScope? outer)
        : GradModeScope(entry.IsDisabling ? AutogradScopeKind.DisableSavedTensorsHooks : AutogradScopeKind.SavedTensorsHooks, false, outer)
    {
        public SavedTensorsHooksEntry Entry { get; } = entry;
    }

    /// <summary>The scope this one was opened in, in its flow; null for a flow's outermost scope.</summary>
    internal GradModeScope? Outer => _outer;

    /// <summary>How many scopes are open in the flow with this one innermost (1 for an outermost scope).</summary>
    internal int Depth => _depth;

    /// <summary>
    /// Remembers the execution contexts just before and just after the scope was opened, so that disposing it
    /// in the same, otherwise unchanged, context can go back to the first (see <see cref="GradModeFlow.Leave"/>).
    /// </summary>
    internal void RememberContexts(ExecutionContext before, ExecutionContext after)
    {
        _contextBefore = before;
        _contextAfter = after;
    }

    /// <summary>The contexts <see cref="RememberContexts"/> saved, forgotten now (they hold other flow values alive).</summary>
    /// <returns>Whether there were any.</returns>
    internal bool TakeContexts(out ExecutionContext? before, out ExecutionContext? after)
    {
        before = _contextBefore;
        after = _contextAfter;
        _contextBefore = null;
        _contextAfter = null;
        return before is not null;
    }

    /// <summary>Opens a scope of <paramref name="kind"/> in the current async flow and applies it on this thread.</summary>
    /// <param name="kind">What the scope switches.</param>
    /// <param name="argument">Grad mode to set, inference mode's <c>enabled</c>, or anomaly mode's <c>checkNan</c>.</param>
    internal static GradModeScope Open(AutogradScopeKind kind, bool argument)
    {
        LibTorchLoader.EnsureLoaded();
        var scope = new GradModeScope(kind, argument, GradModeFlow.Innermost);
        GradModeFlow.Enter(scope);
        return scope;
    }

    /// <summary>Opens a saved-tensor hooks scope (or one disabling them, <see cref="SavedTensorsHooksEntry.IsDisabling"/>) in the current async flow.</summary>
    internal static GradModeScope OpenSavedTensorsHooks(SavedTensorsHooksEntry entry)
    {
        LibTorchLoader.EnsureLoaded();
        var scope = new SavedHooksScope(entry, GradModeFlow.Innermost);
        GradModeFlow.Enter(scope);
        return scope;
    }

    /// <summary>The innermost saved-tensor hooks entry of the flow whose innermost scope is <paramref name="innermost"/>, or null.</summary>
    internal static SavedTensorsHooksEntry? InnermostSavedHooks(GradModeScope? innermost)
    {
        for (GradModeScope? scope = innermost; scope is not null; scope = scope._outer)
        {
            if (scope is SavedHooksScope { Entry: var entry })
            {
                return entry;
            }
        }
        return null;
    }

    /// <summary>
    /// Ends the scope in the current async flow, on whatever thread the flow runs now: this thread gets the
    /// mode the scope replaced (see <see cref="AppliedScopes.Pop"/>). Does nothing the second time.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// A scope opened inside this one is still open in this flow, or this flow never had the scope (work started
    /// with the flow suppressed). Nothing is changed; the scope can still be disposed correctly afterwards.
    /// </exception>
    public void Dispose()
    {
        GradModeScope? innermost = GradModeFlow.Innermost;
        if (ReferenceEquals(innermost, this))
        {
            GradModeFlow.Leave(this);
            _disposed = true;
            return;
        }
        // Walk out from the innermost scope: the one whose outer is this scope is the one still open inside it.
        GradModeScope? inner = innermost;
        while (inner is not null && !ReferenceEquals(inner._outer, this))
        {
            inner = inner._outer;
        }
        if (inner is not null)
        {
            throw new InvalidOperationException(
                $"The {Describe()} scope was disposed while the inner {inner.Describe()} scope is still open. " +
                "Scopes must be disposed in the reverse order they were opened. Nothing was changed; dispose the " +
                "inner scope first, then this one.");
        }
        if (_disposed)
        {
            return;
        }
        throw new InvalidOperationException(
            $"The {Describe()} scope is not open in the async flow disposing it. Grad mode flows with the " +
            "ExecutionContext: a scope can be disposed by the code that opened it (after any await) or by work " +
            "started inside it, not by code whose flow was cut off from it (ExecutionContext.SuppressFlow, " +
            "Thread.UnsafeStart, ThreadPool.UnsafeQueueUserWorkItem). Nothing was changed; dispose it in its own flow.");
    }

    /// <summary>The call that opened the scope, e.g. <c>Autograd.SetGradEnabled(false)</c>.</summary>
    internal string Describe() => _kind switch
    {
        AutogradScopeKind.NoGrad => "Autograd.NoGrad()",
        AutogradScopeKind.EnableGrad => "Autograd.EnableGrad()",
        AutogradScopeKind.SetGradEnabled => _argument ? "Autograd.SetGradEnabled(true)" : "Autograd.SetGradEnabled(false)",
        AutogradScopeKind.InferenceMode => _argument ? "Autograd.InferenceMode()" : "Autograd.InferenceMode(false)",
        AutogradScopeKind.SavedTensorsHooks => "Autograd.Graph.SavedTensorsHooks(pack, unpack)",
        AutogradScopeKind.DisableSavedTensorsHooks => "Autograd.Graph.DisableSavedTensorsHooks(errorMessage)",
        _ => _argument ? "Autograd.DetectAnomaly()" : "Autograd.DetectAnomaly(checkNan: false)",
    };

    /// <inheritdoc />
    public override string ToString() => $"{Describe()} scope ({(_disposed ? "disposed" : "open")}, depth {_depth})";
}
