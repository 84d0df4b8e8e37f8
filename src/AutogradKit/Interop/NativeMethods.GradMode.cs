using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>TorchSharp's bridge exports for grad mode, inference mode and anomaly mode (THSAutograd.cpp).</summary>
/// <remarks>
/// The three calls marked <see cref="SuppressGCTransitionAttribute"/> only read or write a thread-local flag in
/// libtorch (no lock, no allocation, no callback, cannot throw), which is exactly what that attribute allows; it
/// saves the GC mode switch that otherwise costs as much as the call itself, so that
/// <see cref="Autograd.IsGradEnabled"/> costs less than TorchSharp's own and a grad-mode scope, which also
/// carries itself with the async flow, stays cheap; they also run on every execution-context switch of a flow
/// with a scope open. Everything else reaches these through <see cref="NativeGradMode"/>. Anomaly mode's setter may print a
/// warning and the inference guard allocates, so those keep the normal transition.
/// </remarks>
internal static partial class NativeMethods
{
    /// <summary><c>GradMode::is_enabled()</c>: this thread's grad mode.</summary>
    [SuppressGCTransition]
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_isGradEnabled")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool THSAutograd_isGradEnabled();

    /// <summary><c>GradMode::set_enabled(enabled)</c> on this thread.</summary>
    [SuppressGCTransition]
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_setGrad")]
    internal static partial void THSAutograd_setGrad([MarshalAs(UnmanagedType.U1)] bool enabled);

    /// <summary><c>InferenceMode::is_enabled()</c>: this thread's inference mode.</summary>
    [SuppressGCTransition]
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_isInferenceModeEnabled")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool THSAutograd_isInferenceModeEnabled();

    /// <summary><c>new c10::InferenceMode(mode)</c>: a heap RAII guard; delete it on the thread that made it.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_getInferenceModeGuard")]
    internal static partial IntPtr THSAutograd_getInferenceModeGuard([MarshalAs(UnmanagedType.U1)] bool mode);

    /// <summary>Deletes the guard, restoring the thread's previous autograd state.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_deleteInferenceModeGuard")]
    internal static partial void THSAutograd_deleteInferenceModeGuard(IntPtr guard);

    /// <summary><c>AnomalyMode::is_enabled()</c> (process-wide in libtorch).</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_isAnomalyEnabled")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool THSAutograd_isAnomalyEnabled();

    /// <summary><c>AnomalyMode::should_check_nan()</c>.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_shouldCheckNaN")]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool THSAutograd_shouldCheckNaN();

    /// <summary><c>AnomalyMode::set_enabled(enabled, checkNan)</c>.</summary>
    [LibraryImport(Libraries.TorchSharp, EntryPoint = "THSAutograd_setAnomaly")]
    internal static partial void THSAutograd_setAnomaly([MarshalAs(UnmanagedType.U1)] bool enabled, [MarshalAs(UnmanagedType.U1)] bool checkNan);
}
