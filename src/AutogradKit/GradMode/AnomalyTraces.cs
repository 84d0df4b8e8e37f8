using System.Diagnostics;
using System.Text;

namespace AutogradKit;

/// <summary>
/// The C# forward traces of anomaly mode: each node made while it is on keeps the stack of the C# call that made it
/// (<see cref="Capture"/>, from libtorch's <c>store_stack()</c>); when backward fails in a node, libtorch's
/// <c>print_stack()</c> hands that trace over (<see cref="Report"/>) and the pass's error becomes an
/// <see cref="AnomalyException"/> carrying it (<see cref="Ensure.FromNativeText"/>).
/// </summary>
/// <remarks>
/// Thread-safety: a report is kept for the thread that ran the failing node — on the CPU the thread that started the
/// backward pass — and taken by the next error translated on that thread; every AutogradKit pass forgets an older one
/// when it starts (<see cref="Forget"/>).
/// </remarks>
internal static class AnomalyTraces
{
    [ThreadStatic]
    private static (string? Node, string? Trace)? s_reported;

    /// <summary>The user frames of the current C# stack: AutogradKit's and TorchSharp's own frames left out.</summary>
    internal static string Capture()
    {
        var trace = new StackTrace(1, fNeedFileInfo: true);
        var text = new StringBuilder();
        foreach (StackFrame frame in trace.GetFrames())
        {
            if (frame.GetMethod() is not { } method || IsLibrary(method.DeclaringType))
            {
                continue;
            }
            text.Append("   at ").Append(method.DeclaringType?.FullName).Append('.').Append(method.Name).Append('(')
                .AppendJoin(", ", method.GetParameters().Select(p => $"{p.ParameterType.Name} {p.Name}")).Append(')');
            if (frame.GetFileName() is { } file)
            {
                text.Append(" in ").Append(file).Append(":line ").Append(frame.GetFileLineNumber());
            }
            text.AppendLine();
        }
        return text.ToString();
    }

    // AutogradKit.Tests, a sample… are users: only the library's and TorchSharp's own assemblies are left out.
    private static bool IsLibrary(Type? type) =>
        type is null || type.Assembly == typeof(AnomalyTraces).Assembly || type.Assembly == typeof(TorchSharp.torch).Assembly;

    /// <summary>
    /// libtorch's <c>print_stack(node)</c>: backward failed in <paramref name="node"/>, made at <paramref name="trace"/>.
    /// Warns as PyTorch does ("Error detected in SqrtBackward0. Traceback of forward call that caused the error:" and
    /// the trace) and keeps the report for the pass's exception.
    /// </summary>
    internal static void Report(string? node, string? trace)
    {
        s_reported = (node, trace);
        UserWarnings.Warn($"Error detected in {node}. Traceback of forward call that caused the error:\n{trace}");
    }

    /// <summary>Takes this thread's report, if any.</summary>
    internal static bool TryTake(out string? node, out string? trace)
    {
        (string? Node, string? Trace)? reported = s_reported;
        s_reported = null;
        node = reported?.Node;
        trace = reported?.Trace;
        return reported is not null;
    }

    /// <summary>Forgets this thread's report (a pass starts).</summary>
    internal static void Forget() => s_reported = null;
}
