namespace AutogradKit;

/// <summary>
/// The <see cref="Autograd.DetectAnomaly"/> scopes open anywhere in the process, which decide libtorch's
/// process-wide anomaly mode.
/// </summary>
/// <remarks>
/// <para>
/// libtorch has one anomaly flag (and one NaN-check flag) for all threads. While any scope is open, anomaly
/// mode is on and the NaN check is that of the most recently opened scope still open; when the last one
/// closes, the flags return to what they were before the first opened. Within one flow this is exactly
/// PyTorch's save-and-restore nesting; across concurrent flows it never leaves anomaly mode stuck on or
/// switches it off under a scope still open, whatever order they close in.
/// </para>
/// <para>Thread-safety: every member takes one process-wide lock.</para>
/// </remarks>
internal static class AnomalyScopes
{
    private static readonly Lock Lock = new();
    private static readonly List<GradModeScope> OpenScopes = new();
    private static bool s_enabledBefore;
    private static bool s_checkNanBefore;

    /// <summary>Records <paramref name="scope"/> as open and turns anomaly mode on with its NaN check.</summary>
    internal static void Open(GradModeScope scope)
    {
        lock (Lock)
        {
            if (OpenScopes.Count == 0)
            {
                s_enabledBefore = NativeGradMode.IsAnomalyEnabled;
                s_checkNanBefore = NativeGradMode.IsAnomalyCheckNanEnabled;
            }
            NativeGradMode.SetAnomaly(true, scope.Argument);
            OpenScopes.Add(scope);
        }
    }

    /// <summary>Records <paramref name="scope"/> as closed (once; a flow that inherited it may close it too).</summary>
    internal static void Close(GradModeScope scope)
    {
        lock (Lock)
        {
            int index = OpenScopes.LastIndexOf(scope);
            if (index < 0)
            {
                return;
            }
            OpenScopes.RemoveAt(index);
            if (OpenScopes.Count == 0)
            {
                NativeGradMode.SetAnomaly(s_enabledBefore, s_checkNanBefore);
            }
            else
            {
                NativeGradMode.SetAnomaly(true, OpenScopes[^1].Argument);
            }
        }
    }
}
