namespace AutogradKit;

/// <summary>
/// The autograd scopes one thread has applied to its libtorch state, outermost first: always the scope stack
/// of the flow the thread is running (<see cref="GradModeFlow"/> keeps it so), each with what it replaced.
/// </summary>
/// <remarks>
/// <para>
/// Applying a grad-mode scope saves the thread's grad mode and sets the scope's; an inference-mode scope makes
/// a <c>c10::InferenceMode</c> guard on the thread, which saves and switches the whole autograd state; a
/// saved-tensor hooks scope makes its hooks the thread's <see cref="SavedHooks"/>; an anomaly scope has nothing per thread (anomaly mode is process-wide, see <see cref="AnomalyScopes"/>) and is
/// kept only so that the stack mirrors the flow's. Unapplying restores what was saved. Both happen strictly
/// last-in first-out on this thread, which is what libtorch's RAII guards require, so that a thread that
/// leaves a flow — after any number of scopes were applied and unapplied on it — is back in exactly the state
/// it had before: its own mode.
/// </para>
/// <para>
/// Thread-safety: one instance per thread (thread-static), used only by that thread.
/// </para>
/// </remarks>
internal sealed class AppliedScopes
{
    [ThreadStatic]
    private static AppliedScopes? s_current;

    private Layer[] _layers = new Layer[4];
    private int _count;
    private SavedTensorsHooksEntry? _savedHooks;

    /// <summary>This thread's applied scopes.</summary>
    internal static AppliedScopes Current => s_current ??= new AppliedScopes();

    /// <summary>The innermost applied scope, or null when the thread is in its own mode.</summary>
    internal GradModeScope? Top => _count == 0 ? null : _layers[_count - 1].Scope;

    /// <summary>
    /// The saved-tensor hooks of the innermost applied <c>SavedTensorsHooks</c> or <c>DisableSavedTensorsHooks</c>
    /// scope, or null: what libtorch's engine gets for each tensor an operation on this thread saves for backward
    /// (PyTorch's per-thread hooks stack, here the flow's).
    /// </summary>
    internal SavedTensorsHooksEntry? SavedHooks => _savedHooks;

    /// <summary>This thread's <see cref="SavedHooks"/>, without making an instance for a thread that has none (read by libtorch's engine for every saved tensor).</summary>
    internal static SavedTensorsHooksEntry? CurrentSavedHooks => s_current?._savedHooks;

    /// <summary>How many scopes are applied (for tests).</summary>
    internal int Count => _count;

    /// <summary>Applies <paramref name="scope"/> on top of the applied scopes, saving what it replaces.</summary>
    internal void Push(GradModeScope scope)
    {
        var layer = new Layer { Scope = scope };
        switch (scope.Kind)
        {
            case AutogradScopeKind.NoGrad:
            case AutogradScopeKind.EnableGrad:
            case AutogradScopeKind.SetGradEnabled:
                layer.PreviousGrad = NativeGradMode.IsGradEnabled;
                NativeGradMode.SetGradEnabled(scope.Argument);
                break;
            case AutogradScopeKind.InferenceMode:
                layer.Guard = NativeGradMode.EnterInferenceMode(scope.Argument);
                break;
            case AutogradScopeKind.SavedTensorsHooks:
            case AutogradScopeKind.DisableSavedTensorsHooks:
                layer.PreviousSavedHooks = _savedHooks;
                _savedHooks = scope.SavedHooks;
                break;
        }
        if (_count == _layers.Length)
        {
            Array.Resize(ref _layers, _count * 2);
        }
        _layers[_count++] = layer;
    }

    /// <summary>
    /// Unapplies the innermost scope: the thread gets the state saved when it was applied. A grad-mode change
    /// made inside it with TorchSharp's own calls ends here, as in PyTorch when the enclosing scope exits.
    /// </summary>
    internal void Pop()
    {
        ref Layer layer = ref _layers[--_count];
        switch (layer.Scope!.Kind)
        {
            case AutogradScopeKind.NoGrad:
            case AutogradScopeKind.EnableGrad:
            case AutogradScopeKind.SetGradEnabled:
                NativeGradMode.SetGradEnabled(layer.PreviousGrad);
                break;
            case AutogradScopeKind.InferenceMode:
                layer.Guard.Exit();
                break;
            case AutogradScopeKind.SavedTensorsHooks:
            case AutogradScopeKind.DisableSavedTensorsHooks:
                _savedHooks = layer.PreviousSavedHooks;
                break;
        }
        layer = default; // no reference to a closed scope stays on a long-lived thread
    }

    /// <summary>
    /// Makes the applied scopes those of a flow whose innermost scope is <paramref name="target"/>: unapplies
    /// the scopes not shared with it, innermost first, then applies its own, outermost first.
    /// </summary>
    internal void SwitchTo(GradModeScope? target)
    {
        int common = target?.Depth ?? 0;
        GradModeScope? node = target;
        while (common > _count)
        {
            node = node!.Outer;
            common--;
        }
        // Stacks are immutable linked lists: once one level is the same scope, every level below is too.
        while (common > 0 && !ReferenceEquals(_layers[common - 1].Scope, node))
        {
            node = node!.Outer;
            common--;
        }
        while (_count > common)
        {
            Pop();
        }
        if (target is not null && target.Depth > common)
        {
            PushFrom(target, common);
        }
    }

    /// <summary>
    /// <see cref="SwitchTo"/> when this thread's applied scopes are not the flow's <paramref name="innermost"/>.
    /// They always are, since the runtime reports every switch; this keeps a missed one from spreading.
    /// </summary>
    internal void MatchFlow(GradModeScope? innermost)
    {
        if (!ReferenceEquals(Top, innermost))
        {
            SwitchTo(innermost);
        }
    }

    private void PushFrom(GradModeScope scope, int depth)
    {
        if (scope.Outer is { } outer && outer.Depth > depth)
        {
            PushFrom(outer, depth);
        }
        Push(scope);
    }

    private struct Layer
    {
        public GradModeScope? Scope;
        public bool PreviousGrad;
        public InferenceModeGuard Guard;
        public SavedTensorsHooksEntry? PreviousSavedHooks;
    }
}
