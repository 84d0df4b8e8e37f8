namespace AutogradKit;

/// <summary>
/// Keeps hook registration and AutogradKit's backward passes apart. libtorch does not lock a tensor's C++ hook list:
/// <c>_register_hook</c> appends to a <c>std::vector</c> that a pass on another thread may be iterating (or that
/// another registration may be growing), and both end the process. So registrations are serialised with each other
/// and wait until no pass that could be iterating a list is running: a reader–writer gate in which every pass is a
/// reader and every registration a writer.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Passes share the gate; a registration waits for the passes running on other threads to end,
/// and new passes (not nested ones) wait behind a waiting registration for a short while, so that a loop of passes
/// cannot starve it. A registration itself never waits for anything but passes and is short, so nothing waits on
/// the gate forever unless a pass does.</para>
/// <para>A hook may register hooks (it runs inside a pass, on the pass's thread): its thread is blocked in managed
/// code, inside the hook, while it waits, so its passes cannot be touching any list, and they are not waited for.
/// Likewise the passes of every other thread blocked in a registration. Two hooks registering on two threads
/// therefore take turns instead of deadlocking.</para>
/// <para>Passes that bypass AutogradKit (TorchSharp's own <c>backward()</c>, <c>torch.autograd.backward/grad</c>)
/// do not enter the gate: registering a hook on a tensor while such a pass runs through it on another thread is
/// undefined in libtorch and stays so. Run them through AutogradKit's <c>Backward</c>/<c>Autograd.Grad</c> (or, inside
/// the library, <see cref="HookErrors.Run(Action)"/>) when other threads register hooks.</para>
/// </remarks>
internal static class HookGate
{
    // A monitor, not a Lock: passes and registrations wait on it.
    private static readonly object Sync = new();
    private static readonly List<HookPass> Active = [];

    // Passes of threads that are waiting in Register (they cannot touch a hook list while they wait).
    private static int s_frozenPasses;
    private static int s_waitingRegistrations;
    private static bool s_registering;

    // How long a new outermost pass lets a waiting registration go first.
    private const int RegistrationPreferenceMilliseconds = 100;

    [ThreadStatic]
    private static HookPass? s_innermost;

    /// <summary>The innermost AutogradKit pass running on this thread, or null.</summary>
    public static HookPass? Current => s_innermost;

    /// <summary>How many AutogradKit passes run now, on all threads (for tests).</summary>
    public static int ActiveCount
    {
        get
        {
            lock (Sync)
            {
                return Active.Count;
            }
        }
    }

    /// <summary>
    /// Starts a pass on this thread: waits while a registration runs (or, for an outermost pass, is waiting), then
    /// shares the gate until the returned pass is disposed, on this thread.
    /// </summary>
    public static HookPass EnterPass()
    {
        HookPass? outer = s_innermost;
        int depth = outer is null ? 1 : outer.Depth + 1;
        var pass = new HookPass(outer, depth);
        lock (Sync)
        {
            // An outermost pass lets a waiting registration go first, so that a loop of passes cannot starve it, but
            // only for a while: the registration may be waiting for a pass that waits for this one (a hook blocking
            // on a pass it started on another thread). A nested pass (backward inside a hook) never waits for it.
            long deadline = Environment.TickCount64 + RegistrationPreferenceMilliseconds;
            while (s_registering || (outer is null && s_waitingRegistrations > 0 && Environment.TickCount64 < deadline))
            {
                if (s_registering)
                {
                    Monitor.Wait(Sync);
                }
                else
                {
                    Monitor.Wait(Sync, TimeSpan.FromMilliseconds(Math.Max(1, deadline - Environment.TickCount64)));
                }
            }
            Active.Add(pass);
        }
        s_innermost = pass;
        return pass;
    }

    /// <summary>Ends <paramref name="pass"/>, which must be this thread's innermost.</summary>
    internal static void ExitPass(HookPass pass)
    {
        s_innermost = pass.Outer;
        lock (Sync)
        {
            Active.Remove(pass);
            Monitor.PulseAll(Sync);
        }
    }

    /// <summary>
    /// Runs <paramref name="register"/> (a native hook registration) alone: no other registration and no running
    /// pass of another thread that could be iterating a hook list.
    /// </summary>
    public static T Register<T>(Func<T> register)
    {
        int mine = s_innermost?.Depth ?? 0;
        lock (Sync)
        {
            s_frozenPasses += mine;
            s_waitingRegistrations++;
            try
            {
                while (s_registering || Active.Count != s_frozenPasses)
                {
                    Monitor.Wait(Sync);
                }
            }
            finally
            {
                s_frozenPasses -= mine;
                s_waitingRegistrations--;
            }
            s_registering = true;
        }
        try
        {
            return register();
        }
        finally
        {
            lock (Sync)
            {
                s_registering = false;
                Monitor.PulseAll(Sync);
            }
        }
    }

    /// <summary>The only pass running in the process, or null when there are none or several.</summary>
    internal static HookPass? SoleActive()
    {
        lock (Sync)
        {
            return Active.Count == 1 ? Active[0] : null;
        }
    }
}
