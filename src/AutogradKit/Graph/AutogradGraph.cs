using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Draws a tensor's autograd graph as torchviz's <c>make_dot(t, params)</c> does: Graphviz DOT text, and SVG
/// through Graphviz's <c>dot</c> program.
/// </summary>
/// <remarks>Thread-safety: the methods are safe to call from several threads for graphs nobody changes meanwhile.</remarks>
public static class AutogradGraph
{
    /// <summary>
    /// torchviz's <c>make_dot(root, params=names)</c> as DOT text: the root tensor (light green, labelled with its
    /// name if <paramref name="names"/> has it, and its shape), one box per backward function named as
    /// <c>type(fn).__name__</c>, each leaf that an <c>AccumulateGrad</c> fills (light blue, <c>w\n (5, 3)</c>),
    /// and an edge from each function of <see cref="GradFn.NextFunctions"/> to its user. Nodes and edges come in
    /// torchviz's depth-first order; node ids are native addresses. Labels write torchviz's line break as
    /// DOT's <c>\n</c> escape.
    /// </summary>
    /// <param name="root">The tensor whose graph to draw.</param>
    /// <param name="names">Names for tensors (parameters), as torchviz's <c>params</c>.</param>
    /// <exception cref="ObjectDisposedException"><paramref name="root"/> was disposed.</exception>
    /// <example>
    /// <code>
    /// var names = new Dictionary&lt;string, Tensor&gt; { ["w"] = w, ["b"] = b };
    /// File.WriteAllText("loss.dot", AutogradGraph.ToDot(loss, names));   // then: dot -Tsvg loss.dot
    /// </code>
    /// </example>
    public static string ToDot(Tensor root, IReadOnlyDictionary<string, Tensor>? names = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ObjectDisposedException.ThrowIf(root.IsInvalid, root);
        var nameOf = new Dictionary<ulong, string>();
        if (names is not null)
        {
            foreach (var (name, tensor) in names)
            {
                ArgumentNullException.ThrowIfNull(tensor, nameof(names));
                ObjectDisposedException.ThrowIf(tensor.IsInvalid, tensor);
                nameOf[NativeGraph.TensorIdentity(tensor)] = name;
            }
        }

        var body = new List<string>();
        string TensorLabel(Tensor t, ulong id) =>
            $"{(nameOf.TryGetValue(id, out string? n) ? Escape(n) : "")}\\n ({string.Join(", ", TensorShape.Of(t))})";

        ulong rootIdentity = NativeGraph.TensorIdentity(root);
        string rootId = Id(rootIdentity);
        body.Add($"\t{rootId} [label={Quote(TensorLabel(root, rootIdentity))} fillcolor=darkolivegreen1]");

        GradFn? rootFn = root.GradFn;
        if (rootFn is not null)
        {
            // torchviz's recursive add_nodes, with an explicit stack so that graphs of any depth draw.
            var seen = new HashSet<GradFn>();
            var stack = new Stack<(GradFn Fn, IReadOnlyList<GradEdge> Next, int Index)>();
            void Enter(GradFn fn)
            {
                seen.Add(fn);
                body.Add($"\t{Id(fn.Node.Identity)} [label={Quote(Escape(fn.Name))}]");
                using (Tensor? variable = fn.Variable)
                {
                    if (variable is not null)
                    {
                        ulong id = NativeGraph.TensorIdentity(variable);
                        body.Add($"\t{Id(id)} [label={Quote(TensorLabel(variable, id))} fillcolor=lightblue]");
                        body.Add($"\t{Id(id)} -> {Id(fn.Node.Identity)}");
                    }
                }
                stack.Push((fn, fn.NextFunctions, 0));
            }

            Enter(rootFn);
            while (stack.Count > 0)
            {
                var (fn, next, index) = stack.Pop();
                if (index == next.Count)
                {
                    continue;
                }
                stack.Push((fn, next, index + 1));
                if (next[index].Function is { } child)
                {
                    body.Add($"\t{Id(child.Node.Identity)} -> {Id(fn.Node.Identity)}");
                    if (!seen.Contains(child))
                    {
                        Enter(child);
                    }
                }
            }
            body.Add($"\t{Id(rootFn.Node.Identity)} -> {rootId}");
        }

        var dot = new StringBuilder();
        dot.Append("digraph {\n");
        dot.Append(CultureInfo.InvariantCulture, $"\tgraph [size=\"{Size(body.Count)}\"]\n");
        dot.Append("\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n");
        foreach (string line in body)
        {
            dot.Append(line).Append('\n');
        }
        dot.Append("}\n");
        return dot.ToString();
    }

    /// <summary>
    /// Draws <see cref="ToDot"/>'s graph to an SVG file at <paramref name="path"/> with Graphviz's <c>dot -Tsvg</c>
    /// (the first executable <c>dot</c> on the PATH).
    /// </summary>
    /// <param name="root">The tensor whose graph to draw.</param>
    /// <param name="path">The SVG file to write.</param>
    /// <param name="names">Names for tensors (parameters), as torchviz's <c>params</c>.</param>
    /// <exception cref="GraphvizNotFoundException">No executable Graphviz <c>dot</c> program is on the PATH.</exception>
    /// <exception cref="GraphvizRenderException"><c>dot</c> could not be started, stopped reading the graph, or failed;
    /// the message names the program and the cause (the operating system's error, or <c>dot</c>'s own error output).</exception>
    public static void RenderSvg(Tensor root, string path, IReadOnlyDictionary<string, Tensor>? names = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string dotText = ToDot(root, names);
        string program = FindDot() ?? throw new GraphvizNotFoundException();
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-Tsvg");
        start.ArgumentList.Add("-o");
        start.ArgumentList.Add(Path.GetFullPath(path));
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new GraphvizRenderException(program, "the operating system started no process.");
        }
        catch (Win32Exception e)
        {
            // Not a program this system can run (no execute permission, not an executable format, …).
            throw new GraphvizRenderException(program, $"it could not be started: {e.Message}", exitCode: null, errorOutput: "", e);
        }
        using (process)
        {
            Task<string> error = process.StandardError.ReadToEndAsync();
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            IOException? writeFailure = null;
            try
            {
                process.StandardInput.Write(dotText);
                process.StandardInput.Close();
            }
            catch (IOException e)
            {
                // dot closed its input before reading the whole graph (a broken pipe): its exit code and error output
                // say why.
                writeFailure = e;
            }
            process.WaitForExit();
            Task.WaitAll(error, output);
            string errorOutput = error.Result.Trim();
            if (writeFailure is not null)
            {
                throw new GraphvizRenderException(program,
                    $"it stopped reading the graph before the end (exit code {process.ExitCode}){(errorOutput.Length > 0 ? ": " + errorOutput : ".")}",
                    process.ExitCode, errorOutput, writeFailure);
            }
            if (process.ExitCode != 0)
            {
                throw new GraphvizRenderException(program,
                    $"it failed (exit code {process.ExitCode}){(errorOutput.Length > 0 ? ": " + errorOutput : ".")}",
                    process.ExitCode, errorOutput);
            }
        }
    }

    /// <summary>Where Graphviz's <c>dot</c> is on the PATH, or null: the first file of that name a shell would run
    /// (on Unix, one with an execute permission bit; a non-executable <c>dot</c> is skipped as a shell skips it).</summary>
    internal static string? FindDot()
    {
        string file = OperatingSystem.IsWindows() ? "dot.exe" : "dot";
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir.Trim('"'), file);
            if (File.Exists(candidate) && IsExecutable(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static bool IsExecutable(string file) => OperatingSystem.IsWindows()
        || (File.GetUnixFileMode(file) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    private static string Id(ulong identity) => identity.ToString(CultureInfo.InvariantCulture);

    /// <summary>torchviz's resize_graph: max(12, rows * 0.15) printed as Python prints it.</summary>
    internal static string Size(int rows)
    {
        double content = rows * 0.15;
        if (content <= 12)
        {
            return "12,12";
        }
        string size = content.ToString("R", CultureInfo.InvariantCulture);
        if (!size.Contains('.') && !size.Contains('E'))
        {
            size += ".0";
        }
        return $"{size},{size}";
    }

    /// <summary>
    /// Escapes <paramref name="text"/> for a double-quoted DOT string, as Graphviz reads it: a backslash as
    /// <c>\\</c> (Graphviz takes a lone backslash as the start of an escape such as <c>\n</c> or <c>\l</c>, and one
    /// before a line break as a line continuation), a double quote as <c>\"</c>, and each line break (<c>\r\n</c>,
    /// <c>\n</c> or <c>\r</c>) as <c>\n</c>, so that the label shows the text as written. torchviz (through
    /// python-graphviz) escapes only the double quote, and writes a backslash and a line break raw: its DOT for such
    /// names is valid but draws them without their backslashes.
    /// </summary>
    internal static string Escape(string text)
    {
        if (text.AsSpan().IndexOfAny("\\\"\r\n") < 0)
        {
            return text;
        }
        var escaped = new StringBuilder(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '\\':
                    escaped.Append("\\\\");
                    break;
                case '"':
                    escaped.Append("\\\"");
                    break;
                case '\r':
                    escaped.Append("\\n");
                    if (i + 1 < text.Length && text[i + 1] == '\n')
                    {
                        i++;
                    }
                    break;
                case '\n':
                    escaped.Append("\\n");
                    break;
                default:
                    escaped.Append(text[i]);
                    break;
            }
        }
        return escaped.ToString();
    }

    /// <summary>
    /// python-graphviz's quoting of an already escaped label (<see cref="Escape"/>): a bare DOT ID stays bare,
    /// anything else is double-quoted.
    /// </summary>
    internal static string Quote(string escaped)
    {
        bool isId = escaped.Length > 0 && (char.IsAsciiLetter(escaped[0]) || escaped[0] == '_')
                    && escaped.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
                    && !Keywords.Contains(escaped.ToLowerInvariant());
        return isId ? escaped : $"\"{escaped}\"";
    }

    private static readonly HashSet<string> Keywords = ["node", "edge", "graph", "digraph", "subgraph", "strict"];
}
