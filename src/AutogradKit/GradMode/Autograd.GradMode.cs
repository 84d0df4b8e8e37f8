namespace AutogradKit;

// Grad-mode, inference-mode and anomaly-mode scopes: PyTorch's context managers as `using` blocks.
/// <remarks>
/// <para>
/// Grad-mode, inference-mode and anomaly-mode scopes are PyTorch's context managers as <c>using</c> blocks.
/// Threading rules, as in libtorch: grad mode and inference mode are per thread. A scope changes the mode of
/// the thread that opens it and must be disposed on that same thread, innermost first. Do not <c>await</c> inside
/// a scope: the continuation may run on another thread, which has its own mode. Disposing a scope on another
/// thread, or while a scope opened inside it is still open, throws <see cref="InvalidOperationException"/> and
/// changes nothing on any thread, so the scope can still be disposed correctly afterwards. A second
/// <see cref="IDisposable.Dispose"/> does nothing. A new thread starts with grad mode on and inference mode
/// off, whatever the thread that started it has; a thread-pool thread has whatever earlier work on it left.
/// </para>
/// <para>
/// Anomaly mode is process-wide in libtorch (one flag for every thread), as in PyTorch; its scope still follows
/// the same rules so that nesting restores the right state.
/// </para>
/// <para>
/// Scopes only know about each other: a TorchSharp <c>torch.no_grad()</c> scope nested properly inside or around
/// them works, since each restores the state it saw when it was opened.
/// </para>
/// </remarks>
public static partial class Autograd
{
    /// <summary>
    /// <c>with torch.no_grad():</c> — turns grad mode off on this thread until the scope is disposed: results of
    /// operations do not require grad and no graph is recorded.
    /// </summary>
    /// <returns>A scope that restores this thread's previous grad mode when disposed, on this thread.</returns>
    /// <remarks>See <see cref="Autograd"/> for the threading rules.</remarks>
    public static IDisposable NoGrad() => GradModeScope.Open(AutogradScopeKind.NoGrad, false);

    /// <summary><c>with torch.enable_grad():</c> — turns grad mode on on this thread until the scope is disposed.</summary>
    /// <returns>A scope that restores this thread's previous grad mode when disposed, on this thread.</returns>
    /// <remarks>
    /// Inside an <see cref="InferenceMode"/> scope this turns grad mode on but inference mode stays on, as in
    /// PyTorch. See <see cref="Autograd"/> for the threading rules.
    /// </remarks>
    public static IDisposable EnableGrad() => GradModeScope.Open(AutogradScopeKind.EnableGrad, true);

    /// <summary><c>with torch.set_grad_enabled(enabled):</c> — sets grad mode on this thread until the scope is disposed.</summary>
    /// <param name="enabled">The grad mode inside the scope.</param>
    /// <returns>A scope that restores this thread's previous grad mode when disposed, on this thread.</returns>
    /// <remarks>See <see cref="Autograd"/> for the threading rules.</remarks>
    public static IDisposable SetGradEnabled(bool enabled) =>
        GradModeScope.Open(AutogradScopeKind.SetGradEnabled, enabled);

    /// <summary>
    /// <c>with torch.inference_mode(enabled):</c> — libtorch's <c>c10::InferenceMode</c> guard on this thread:
    /// with <paramref name="enabled"/> true, grad mode is off and tensors made inside are inference tensors
    /// (never recorded, cheaper than <see cref="NoGrad"/>); with false, inference mode is off and grad mode on.
    /// </summary>
    /// <param name="enabled">Whether inference mode is on inside the scope.</param>
    /// <returns>A scope that deletes the guard, restoring this thread's previous state, when disposed on this thread.</returns>
    /// <remarks>
    /// The native guard must be deleted on the thread that created it; a scope never disposed keeps this
    /// thread in inference mode and leaks the guard. See <see cref="Autograd"/> for the threading rules.
    /// </remarks>
    public static IDisposable InferenceMode(bool enabled = true) => GradModeScope.Open(AutogradScopeKind.InferenceMode, enabled);

    /// <summary>
    /// <c>with torch.autograd.detect_anomaly(check_nan):</c> — turns libtorch's anomaly detection on until the
    /// scope is disposed: backward records where each node was made, and with <paramref name="checkNan"/> a
    /// backward function returning NaN raises <see cref="AutogradException"/>
    /// (<c>Function 'SqrtBackward0' returned nan values in its 0th output.</c>).
    /// </summary>
    /// <param name="checkNan">Whether backward checks every gradient for NaN.</param>
    /// <returns>A scope that restores the previous anomaly mode and NaN check when disposed, on this thread.</returns>
    /// <remarks>
    /// Anomaly mode is process-wide in libtorch: it applies to every thread while the scope is open. The scope
    /// still follows the per-thread rules described on <see cref="Autograd"/>.
    /// </remarks>
    public static IDisposable DetectAnomaly(bool checkNan = true) => GradModeScope.Open(AutogradScopeKind.DetectAnomaly, checkNan);

    /// <summary><c>torch.is_inference_mode_enabled()</c>: whether this thread is in inference mode.</summary>
    public static bool IsInferenceModeEnabled
    {
        get
        {
            LibTorchLoader.EnsureLoaded();
            return NativeMethods.THSAutograd_isInferenceModeEnabled();
        }
    }

    /// <summary><c>torch.is_anomaly_enabled()</c>: whether anomaly detection is on (process-wide in libtorch).</summary>
    public static bool IsAnomalyEnabled
    {
        get
        {
            LibTorchLoader.EnsureLoaded();
            return NativeMethods.THSAutograd_isAnomalyEnabled();
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
            return NativeMethods.THSAutograd_shouldCheckNaN();
        }
    }
}
