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
}

/// <summary>
/// An <see cref="IDisposable"/> scope that changes libtorch's per-thread autograd state and restores the
/// previous state on <see cref="Dispose"/>, PyTorch's <c>with torch.no_grad():</c> in C#.
/// </summary>
/// <remarks>
/// <para>
/// Each thread keeps a stack of its open scopes (a linked list through <see cref="_outer"/>, so opening a scope
/// allocates nothing but the scope). A scope may only be disposed on the thread that opened it and only when it
/// is that thread's innermost open scope; otherwise <see cref="Dispose"/> throws
/// <see cref="InvalidOperationException"/> and changes nothing, so the scope can still be disposed correctly
/// later. A second <see cref="Dispose"/> does nothing.
/// </para>
/// <para>Thread-safety: a scope belongs to the thread that opened it; only that thread may dispose it.</para>
/// </remarks>
internal sealed class GradModeScope : IDisposable
{
    [ThreadStatic]
    private static GradModeScope? t_innermost;

    private readonly GradModeScope? _outer;
    private readonly int _threadId;
    private readonly AutogradScopeKind _kind;
    private readonly bool _argument;
    private readonly bool _previousGrad;
    private readonly bool _previousAnomaly;
    private readonly bool _previousCheckNan;
    private IntPtr _inferenceGuard;
    private bool _disposed;

    private GradModeScope(AutogradScopeKind kind, bool argument)
    {
        _kind = kind;
        _argument = argument;
        _threadId = Environment.CurrentManagedThreadId;
        switch (kind)
        {
            case AutogradScopeKind.NoGrad:
            case AutogradScopeKind.EnableGrad:
            case AutogradScopeKind.SetGradEnabled:
                _previousGrad = NativeMethods.THSAutograd_isGradEnabled();
                NativeMethods.THSAutograd_setGrad(argument);
                break;
            case AutogradScopeKind.InferenceMode:
                // libtorch's guard saves and restores the whole autograd TLS (grad mode, inference mode,
                // dispatch keys); it must be deleted on this thread, in nesting order.
                _inferenceGuard = NativeMethods.THSAutograd_getInferenceModeGuard(argument);
                break;
            case AutogradScopeKind.DetectAnomaly:
                _previousAnomaly = NativeMethods.THSAutograd_isAnomalyEnabled();
                _previousCheckNan = NativeMethods.THSAutograd_shouldCheckNaN();
                NativeMethods.THSAutograd_setAnomaly(true, argument);
                break;
        }
        // Pushed last: a scope whose native call failed is never on the stack.
        _outer = t_innermost;
        t_innermost = this;
    }

    /// <summary>Opens a scope of <paramref name="kind"/> on this thread.</summary>
    /// <param name="kind">What the scope switches.</param>
    /// <param name="argument">Grad mode to set, inference mode's <c>enabled</c>, or anomaly mode's <c>checkNan</c>.</param>
    internal static GradModeScope Open(AutogradScopeKind kind, bool argument)
    {
        LibTorchLoader.EnsureLoaded();
        return new GradModeScope(kind, argument);
    }

    /// <summary>The innermost scope open on this thread, for tests and diagnostics.</summary>
    internal static GradModeScope? Innermost => t_innermost;

    /// <summary>
    /// Restores the state saved when the scope was opened. Does nothing the second time.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The scope is disposed on another thread than the one that opened it, or while a scope opened inside it
    /// is still open. Nothing is changed: dispose the inner scopes first, on the opening thread, then this one.
    /// </exception>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        int thread = Environment.CurrentManagedThreadId;
        if (thread != _threadId)
        {
            throw new InvalidOperationException(
                $"The {Describe()} scope was opened on thread {_threadId} but disposed on thread {thread}. " +
                "Grad mode is per thread in libtorch, so a scope must be disposed on the thread that opened it " +
                "(do not await inside it). Nothing was changed on either thread; dispose it on thread " +
                $"{_threadId}.");
        }
        if (!ReferenceEquals(t_innermost, this))
        {
            GradModeScope? inner = t_innermost;
            while (inner is not null && !ReferenceEquals(inner._outer, this))
            {
                inner = inner._outer;
            }
            string innerText = inner is null ? "a scope opened inside it" : $"the inner {inner.Describe()} scope";
            throw new InvalidOperationException(
                $"The {Describe()} scope was disposed on thread {thread} while {innerText} is still open. " +
                "Scopes must be disposed in the reverse order they were opened. Nothing was changed; dispose the " +
                "inner scope first, then this one.");
        }
        switch (_kind)
        {
            case AutogradScopeKind.NoGrad:
            case AutogradScopeKind.EnableGrad:
            case AutogradScopeKind.SetGradEnabled:
                NativeMethods.THSAutograd_setGrad(_previousGrad);
                break;
            case AutogradScopeKind.InferenceMode:
                NativeMethods.THSAutograd_deleteInferenceModeGuard(_inferenceGuard);
                _inferenceGuard = IntPtr.Zero;
                break;
            case AutogradScopeKind.DetectAnomaly:
                NativeMethods.THSAutograd_setAnomaly(_previousAnomaly, _previousCheckNan);
                break;
        }
        t_innermost = _outer;
        _disposed = true;
    }

    /// <summary>The call that opened the scope, e.g. <c>Autograd.SetGradEnabled(false)</c>.</summary>
    internal string Describe() => _kind switch
    {
        AutogradScopeKind.NoGrad => "Autograd.NoGrad()",
        AutogradScopeKind.EnableGrad => "Autograd.EnableGrad()",
        AutogradScopeKind.SetGradEnabled => _argument ? "Autograd.SetGradEnabled(true)" : "Autograd.SetGradEnabled(false)",
        AutogradScopeKind.InferenceMode => _argument ? "Autograd.InferenceMode()" : "Autograd.InferenceMode(false)",
        _ => _argument ? "Autograd.DetectAnomaly()" : "Autograd.DetectAnomaly(checkNan: false)",
    };

    /// <inheritdoc />
    public override string ToString() => $"{Describe()} scope ({(_disposed ? "disposed" : "open")}, thread {_threadId})";
}
