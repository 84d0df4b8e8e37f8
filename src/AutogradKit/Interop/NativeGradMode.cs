namespace AutogradKit;

/// <summary>
/// The typed face of TorchSharp's grad-mode, inference-mode and anomaly-mode exports
/// (<see cref="NativeMethods"/>, <c>THSAutograd.cpp</c>): each native call wrapped once, nothing but
/// <see cref="bool"/> and <see cref="InferenceModeGuard"/> crossing into the rest of AutogradKit.
/// </summary>
/// <remarks>
/// <para>
/// None of these calls can raise a libtorch error: they read or write libtorch's thread-local
/// <c>GradMode</c>/<c>InferenceMode</c> state or its process-wide <c>AnomalyMode</c> flags, and the guard calls
/// are a C++ <c>new</c>/<c>delete</c> of <c>c10::InferenceMode</c> (whose only failure, <c>bad_alloc</c>, would
/// end the process through any P/Invoke). So nothing here goes through <see cref="Ensure"/>.
/// </para>
/// <para>
/// Thread-safety: grad mode and inference mode are per thread in libtorch; every member acts on the calling
/// thread's state, except the anomaly members, which act on the whole process.
/// </para>
/// </remarks>
internal static class NativeGradMode
{
    /// <summary><c>GradMode::is_enabled()</c>: the calling thread's grad mode.</summary>
    public static bool IsGradEnabled => NativeMethods.THSAutograd_isGradEnabled();

    /// <summary><c>GradMode::set_enabled(enabled)</c> on the calling thread.</summary>
    public static void SetGradEnabled(bool enabled) => NativeMethods.THSAutograd_setGrad(enabled);

    /// <summary><c>InferenceMode::is_enabled()</c>: the calling thread's inference mode.</summary>
    public static bool IsInferenceModeEnabled => NativeMethods.THSAutograd_isInferenceModeEnabled();

    /// <summary>
    /// <c>new c10::InferenceMode(enabled)</c> on the calling thread: saves the thread's whole autograd state
    /// (grad mode, inference mode, forward-grad mode, local dispatch keys) and switches it.
    /// </summary>
    /// <param name="enabled">Whether inference mode is on while the guard lives.</param>
    /// <returns>The guard; <see cref="InferenceModeGuard.Exit"/> it on this same thread, after every guard made later on it.</returns>
    public static InferenceModeGuard EnterInferenceMode(bool enabled) =>
        new(NativeMethods.THSAutograd_getInferenceModeGuard(enabled));

    /// <summary><c>AnomalyMode::is_enabled()</c> (process-wide in libtorch).</summary>
    public static bool IsAnomalyEnabled => NativeMethods.THSAutograd_isAnomalyEnabled();

    /// <summary><c>AnomalyMode::should_check_nan()</c> (process-wide in libtorch).</summary>
    public static bool IsAnomalyCheckNanEnabled => NativeMethods.THSAutograd_shouldCheckNaN();

    /// <summary><c>AnomalyMode::set_enabled(enabled, checkNan)</c> for the whole process.</summary>
    public static void SetAnomaly(bool enabled, bool checkNan) => NativeMethods.THSAutograd_setAnomaly(enabled, checkNan);
}

/// <summary>
/// A live <c>c10::InferenceMode</c> RAII guard made on one thread by <see cref="NativeGradMode.EnterInferenceMode"/>.
/// </summary>
/// <remarks>
/// The guard restores the state it saved when it is deleted, on whatever thread deletes it, so it must be
/// deleted on the thread that made it and in reverse order of creation there (libtorch's RAII discipline);
/// the owner (AutogradKit's per-thread stack of applied scopes) guarantees both. The default value holds no
/// guard and <see cref="Exit"/> on it does nothing. Thread-safety: a value belongs to the thread that made it.
/// </remarks>
internal readonly struct InferenceModeGuard
{
    private readonly IntPtr _guard;

    internal InferenceModeGuard(IntPtr guard) => _guard = guard;

    /// <summary>Deletes the guard, restoring the calling thread's autograd state from before it was made.</summary>
    public void Exit()
    {
        if (_guard != IntPtr.Zero)
        {
            NativeMethods.THSAutograd_deleteInferenceModeGuard(_guard);
        }
    }
}
