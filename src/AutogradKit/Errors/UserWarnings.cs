namespace AutogradKit;

/// <summary>
/// Python's <c>warnings.warn(message)</c> for the few warnings PyTorch raises in Python (not libtorch): written to
/// standard error as <c>UserWarning: message</c>, as Python prints them.
/// </summary>
/// <remarks>Thread-safe; a thread may capture its own warnings instead (<see cref="Capture"/>, for tests).</remarks>
internal static class UserWarnings
{
    [ThreadStatic]
    private static List<string>? s_captured;

    /// <summary>Warns with PyTorch's text.</summary>
    internal static void Warn(string message)
    {
        if (s_captured is { } captured)
        {
            captured.Add(message);
        }
        else
        {
            Console.Error.WriteLine($"UserWarning: {message}");
        }
    }

    /// <summary>Collects this thread's warnings into <paramref name="into"/> until the returned scope is disposed.</summary>
    internal static IDisposable Capture(List<string> into)
    {
        List<string>? previous = s_captured;
        s_captured = into;
        return new Restore(previous);
    }

    private sealed class Restore(List<string>? previous) : IDisposable
    {
        public void Dispose() => s_captured = previous;
    }
}
