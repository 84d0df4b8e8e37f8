namespace AutogradKit;

/// <summary>
/// Graphviz's <c>dot</c> was found but did not draw the graph: it could not be started (for instance not an
/// executable this system can run), it stopped reading the graph before its end, or it exited with an error. The
/// message names the program and the cause; <see cref="Exception.InnerException"/> holds the operating system's error
/// where there is one.
/// </summary>
/// <remarks>Thread-safety: immutable.</remarks>
public sealed class GraphvizRenderException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="program"/> failing because of <paramref name="cause"/>.</summary>
    /// <param name="program">The path of the <c>dot</c> program that was run.</param>
    /// <param name="cause">What went wrong, a sentence fragment that follows "Graphviz's dot at '…' did not draw the graph: ".</param>
    /// <param name="exitCode">The program's exit code, or null when it never ran.</param>
    /// <param name="errorOutput">What the program wrote to its standard error, trimmed; empty when nothing.</param>
    /// <param name="innerException">The operating system's error, if any.</param>
    public GraphvizRenderException(string program, string cause, int? exitCode = null, string errorOutput = "", Exception? innerException = null)
        : base($"Graphviz's dot at '{program}' did not draw the graph: {cause}", innerException)
    {
        Program = program;
        ExitCode = exitCode;
        ErrorOutput = errorOutput;
    }

    /// <summary>The path of the <c>dot</c> program that was run.</summary>
    public string Program { get; }

    /// <summary>The program's exit code, or null when it could not be started.</summary>
    public int? ExitCode { get; }

    /// <summary>What the program wrote to its standard error, trimmed; empty when nothing.</summary>
    public string ErrorOutput { get; }
}
