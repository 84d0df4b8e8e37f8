namespace AutogradKit;

/// <summary>
/// Runs a first-use check of the interop (a layout, an ABI, a compiled script) where no state of the caller can reach
/// it: on a fresh thread that does not inherit the caller's execution context, so neither the thread's own grad or
/// inference mode nor an AutogradKit scope flowing with the caller's <c>await</c>s applies while the check builds its
/// known graph.
/// </summary>
/// <remarks>Thread-safe; blocks the caller until the check is done. Callers run it once (behind a <see cref="Lazy{T}"/>).</remarks>
internal static class FirstUseCheck
{
    /// <summary>Runs <paramref name="check"/> on a fresh thread named <paramref name="name"/> and returns its result.</summary>
    public static T Run<T>(Func<T> check, string name)
    {
        T result = default!;
        Exception? escaped = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = check();
            }
            catch (Exception e)
            {
                escaped = e;
            }
        }, maxStackSize: 1 << 20)
        { IsBackground = true, Name = name };
        thread.UnsafeStart();
        thread.Join();
        if (escaped is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(escaped);
        }
        return result;
    }

    /// <summary>
    /// A layout check run once, lazily, by <see cref="Run{T}"/>: where no C++ ABI is verified (<see cref="CxxAbi.Unverified"/>)
    /// it is <see cref="PlatformSupport.NotSupported(string, string, string)"/>(<paramref name="feature"/>, <paramref name="reason"/>)
    /// without running; otherwise <paramref name="check"/>'s verdict on this ABI's facts, an exception it throws turned into
    /// <paramref name="mismatch"/>'s. The value is the failure, or null when the feature can be used.
    /// </summary>
    public static Lazy<Exception?> Once(string name, string feature, string reason, Func<Exception?> check, Func<string, Exception, Exception> mismatch) =>
        new(() => Run(() =>
        {
            if (PlatformSupport.RefusedOnUnverifiedAbi(feature, reason) is { } refused)
            {
                return refused;
            }
            try
            {
                return check();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return mismatch(e.Message, e);
            }
        }, name), LazyThreadSafetyMode.ExecutionAndPublication);
}
