namespace AutogradKit;

// Grad-mode, inference-mode and anomaly-mode scopes: PyTorch's context managers as `using` blocks.
/// <remarks>
/// <para>
/// Grad-mode, inference-mode and anomaly-mode scopes are PyTorch's context managers as <c>using</c> blocks.
/// <b>Grad mode and inference mode follow the async flow</b>, as an <see cref="AsyncLocal{T}"/> does: a scope
/// is open in the flow (the <see cref="ExecutionContext"/>) that opened it, not on a thread. Every continuation
/// of <c>using (Autograd.NoGrad()) { … await … }</c> runs with grad off on whatever thread it resumes, and the
/// scope may be disposed there. Work started inside a scope — <c>Task.Run</c>, <c>Parallel.For</c>, a
/// <see cref="Thread"/>, a timer — inherits the scopes open when it starts and keeps them for its whole life;
/// what it opens or disposes never changes its parent's flow. libtorch itself keeps the mode per thread:
/// AutogradKit sets it on each thread when a flow starts running there and gives the thread its own mode back
/// when the flow leaves, so no thread (a thread-pool thread included) is left in a mode that is not its current
/// flow's. <see cref="IsGradEnabled"/> is libtorch's mode of the current thread.
/// </para>
/// <para>
/// Scopes nest; disposing the innermost restores the mode from before it was opened; a second
/// <see cref="IDisposable.Dispose"/> does nothing. Disposing a scope while a scope opened inside it is still
/// open in this flow, or in a flow that never had it (work started under
/// <see cref="ExecutionContext.SuppressFlow"/>, <see cref="Thread.UnsafeStart()"/> or
/// <see cref="ThreadPool.UnsafeQueueUserWorkItem(WaitCallback, object)"/>, which run with their thread's own
/// mode), throws <see cref="InvalidOperationException"/> and changes nothing, so the scope can still be disposed
/// correctly afterwards. Disposing a scope in a flow started inside it ends it for that flow only. Like any
/// <see cref="AsyncLocal{T}"/> change, a scope opened inside an <c>async</c> method ends for the caller when the
/// method returns (or first awaits).
/// </para>
/// <para>
/// TorchSharp's own <c>torch.no_grad()</c>, <c>torch.set_grad_enabled(b)</c> and <c>torch.inference_mode()</c>
/// stay per thread and do not flow. Outside every AutogradKit scope they change the thread's own mode. Inside
/// one, their change lasts until that AutogradKit scope (or one opened after the change) is disposed — which
/// restores the mode from before it, as PyTorch does — or until the flow leaves the thread at an
/// <c>await</c>; a continuation always resumes with the mode of its innermost AutogradKit scope. A TorchSharp
/// scope nested properly inside or around AutogradKit scopes, with no <c>await</c> inside, works as before;
/// never hold a TorchSharp scope across an <c>await</c>.
/// </para>
/// <para>
/// Anomaly mode is process-wide in libtorch (one flag for every thread and flow), as in PyTorch; its scope
/// takes part in the flow's nesting order like the others. See <see cref="DetectAnomaly"/>.
/// </para>
/// </remarks>
public static partial class Autograd
{
    /// <summary>
    /// <c>with torch.no_grad():</c> — turns grad mode off in this async flow until the scope is disposed:
    /// results of operations do not require grad and no graph is recorded.
    /// </summary>
    /// <returns>A scope that restores the previous grad mode when disposed, on whatever thread the flow runs then.</returns>
    /// <remarks>See <see cref="Autograd"/> for the rules of flows, threads and nesting.</remarks>
    /// <example>
    /// <code>
    /// using (Autograd.NoGrad())
    /// {
    ///     w.sub_(0.1f * w.grad!);   // an update that must not be recorded
    /// }
    /// </code>
    /// </example>
    public static IDisposable NoGrad() => GradModeScope.Open(AutogradScopeKind.NoGrad, false);

    /// <summary><c>with torch.enable_grad():</c> — turns grad mode on in this async flow until the scope is disposed.</summary>
    /// <returns>A scope that restores the previous grad mode when disposed, on whatever thread the flow runs then.</returns>
    /// <remarks>
    /// Inside an <see cref="InferenceMode"/> scope this turns grad mode on but inference mode stays on, as in
    /// PyTorch. See <see cref="Autograd"/> for the rules of flows, threads and nesting.
    /// </remarks>
    public static IDisposable EnableGrad() => GradModeScope.Open(AutogradScopeKind.EnableGrad, true);

    /// <summary><c>with torch.set_grad_enabled(enabled):</c> — sets grad mode in this async flow until the scope is disposed.</summary>
    /// <param name="enabled">The grad mode inside the scope.</param>
    /// <returns>A scope that restores the previous grad mode when disposed, on whatever thread the flow runs then.</returns>
    /// <remarks>See <see cref="Autograd"/> for the rules of flows, threads and nesting.</remarks>
    public static IDisposable SetGradEnabled(bool enabled) =>
        GradModeScope.Open(AutogradScopeKind.SetGradEnabled, enabled);

    /// <summary>
    /// <c>with torch.inference_mode(enabled):</c> — libtorch's <c>c10::InferenceMode</c> in this async flow:
    /// with <paramref name="enabled"/> true, grad mode is off and tensors made inside are inference tensors
    /// (never recorded, cheaper than <see cref="NoGrad"/>); with false, inference mode is off and grad mode on.
    /// </summary>
    /// <param name="enabled">Whether inference mode is on inside the scope.</param>
    /// <returns>A scope that restores the previous state when disposed, on whatever thread the flow runs then.</returns>
    /// <remarks>
    /// libtorch's guard is per thread and must be deleted on the thread that made it, last made first: every
    /// thread the flow runs on makes its own guard when the flow arrives and deletes it when the flow leaves or
    /// the scope is disposed there, so inference mode follows <c>await</c> like grad mode. A scope never disposed
    /// keeps its flow (and the thread running it, while it does) in inference mode. See <see cref="Autograd"/> for
    /// the rules of flows, threads and nesting.
    /// </remarks>
    public static IDisposable InferenceMode(bool enabled = true) => GradModeScope.Open(AutogradScopeKind.InferenceMode, enabled);

    /// <summary>
    /// <c>with torch.autograd.detect_anomaly(check_nan):</c> — turns libtorch's anomaly detection on until the
    /// scope is disposed: backward records where each node was made, and with <paramref name="checkNan"/> a
    /// backward function returning NaN raises <see cref="AnomalyException"/>
    /// (<c>Function 'SqrtBackward0' returned nan values in its 0th output.</c>); any error of a backward function is an
    /// <see cref="AnomalyException"/> whose <see cref="AnomalyException.ForwardStackTrace"/> is the C# stack of the
    /// forward call that made the failing node (PyTorch prints the Python one).
    /// </summary>
    /// <param name="checkNan">Whether backward checks every gradient for NaN.</param>
    /// <returns>A scope that ends this request for anomaly detection when disposed.</returns>
    /// <remarks>
    /// Anomaly mode is process-wide in libtorch, as in PyTorch: while the scope is open it applies to every
    /// thread and every flow, not only this one. While any <see cref="DetectAnomaly"/> scope is open anywhere,
    /// anomaly mode is on and the NaN check is that of the most recently opened one still open; when the last
    /// closes, the mode from before the first returns (so nested scopes restore as PyTorch's do, and concurrent
    /// flows closing in any order never leave it on). Disposing it in any flow ends it for the process. Its
    /// nesting and disposal rules are the other scopes' (see <see cref="Autograd"/>).
    /// </remarks>
    public static IDisposable DetectAnomaly(bool checkNan = true)
    {
        LibTorchLoader.EnsureLoaded();
        // C# forward traces need the engine override; without it (an unverified platform) anomaly mode works as before.
        NativeEngine.TryInstall();
        return GradModeScope.Open(AutogradScopeKind.DetectAnomaly, checkNan);
    }

    /// <summary><c>torch.is_inference_mode_enabled()</c>: whether the current thread is in inference mode (libtorch's truth; inside an <see cref="InferenceMode"/> scope of this flow, it is).</summary>
    public static bool IsInferenceModeEnabled
    {
        get
        {
            LibTorchLoader.EnsureLoaded();
            return NativeGradMode.IsInferenceModeEnabled;
        }
    }

    /// <summary><c>torch.is_anomaly_enabled()</c>: whether anomaly detection is on (process-wide in libtorch).</summary>
    public static bool IsAnomalyEnabled
    {
        get
        {
            LibTorchLoader.EnsureLoaded();
            return NativeGradMode.IsAnomalyEnabled;
        }
    }

    /// <summary>
    /// <c>torch.is_anomaly_check_nan_enabled()</c>: whether anomaly detection checks backward's results for NaN.
    /// Meaningful only while <see cref="IsAnomalyEnabled"/> is true.
    /// </summary>
    public static bool IsAnomalyCheckNanEnabled
    {
        get
        {
            LibTorchLoader.EnsureLoaded();
            return NativeGradMode.IsAnomalyCheckNanEnabled;
        }
    }
}
