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
        var nameOf = new Dictionary<IntPtr, string>();
        if (names is not null)
        {
            foreach (var (name, tensor) in names)
            {
                ArgumentNullException.ThrowIfNull(tensor, nameof(names));
                ObjectDisposedException.ThrowIf(tensor.IsInvalid, tensor);
                nameOf[NodeLayout.TensorImpl(tensor.Handle)] = name;
                GC.KeepAlive(tensor);
            }
        }

        var body = new List<string>();
        string TensorLabel(Tensor t, IntPtr impl) =>
            $"{(nameOf.TryGetValue(impl, out string? n) ? n : "")}\\n ({string.Join(", ", TensorShape.Of(t))})";

        IntPtr rootImpl = NodeLayout.TensorImpl(root.Handle);
        string rootId = Id(rootImpl);
        body.Add($"\t{rootId} [label={Quote(TensorLabel(root, rootImpl))} fillcolor=darkolivegreen1]");

        GradFn? rootFn = root.GradFn;
        if (rootFn is not null)
        {
            // torchviz's recursive add_nodes, with an explicit stack so that graphs of any depth draw.
            var seen = new HashSet<GradFn>();
            var stack = new Stack<(GradFn Fn, IReadOnlyList<GradEdge> Next, int Index)>();
            void Enter(GradFn fn)
            {
                seen.Add(fn);
                body.Add($"\t{Id(fn.Address)} [label={Quote(fn.Name)}]");
                using (Tensor? variable = fn.Variable)
                {
                    if (variable is not null)
                    {
                        IntPtr impl = NodeLayout.TensorImpl(variable.Handle);
                        body.Add($"\t{Id(impl)} [label={Quote(TensorLabel(variable, impl))} fillcolor=lightblue]");
                        body.Add($"\t{Id(impl)} -> {Id(fn.Address)}");
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
                    body.Add($"\t{Id(child.Address)} -> {Id(fn.Address)}");
                    if (!seen.Contains(child))
                    {
                        Enter(child);
                    }
                }
            }
            body.Add($"\t{Id(rootFn.Address)} -> {rootId}");
        }
        GC.KeepAlive(root);

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
    /// Draws <see cref="ToDot"/>'s graph to an SVG file at <paramref name="path"/> with Graphviz's <c>dot -Tsvg</c>.
    /// </summary>
    /// <param name="root">The tensor whose graph to draw.</param>
    /// <param name="path">The SVG file to write.</param>
    /// <param name="names">Names for tensors (parameters), as torchviz's <c>params</c>.</param>
    /// <exception cref="GraphvizNotFoundException">Graphviz's <c>dot</c> program is not on the PATH.</exception>
    /// <exception cref="InvalidOperationException"><c>dot</c> failed; the message has its error output.</exception>
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
        using Process process = Process.Start(start) ?? throw new GraphvizNotFoundException();
        Task<string> error = process.StandardError.ReadToEndAsync();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        process.StandardInput.Write(dotText);
        process.StandardInput.Close();
        process.WaitForExit();
        Task.WaitAll(error, output);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"Graphviz's dot failed (exit code {process.ExitCode}): {error.Result.Trim()}");
        }
    }

    /// <summary>Where Graphviz's <c>dot</c> is on the PATH, or null.</summary>
    internal static string? FindDot()
    {
        string file = OperatingSystem.IsWindows() ? "dot.exe" : "dot";
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir.Trim('"'), file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static string Id(IntPtr address) => ((ulong)address).ToString(CultureInfo.InvariantCulture);

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

    /// <summary>python-graphviz's quoting: a bare DOT ID stays bare, anything else is double-quoted.</summary>
    internal static string Quote(string text)
    {
        bool isId = text.Length > 0 && (char.IsAsciiLetter(text[0]) || text[0] == '_')
                    && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
                    && !Keywords.Contains(text.ToLowerInvariant());
        return isId ? text : $"\"{text.Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
    }

    private static readonly HashSet<string> Keywords = ["node", "edge", "graph", "digraph", "subgraph", "strict"];
}

/// <summary>Graphviz's <c>dot</c> program, which <see cref="AutogradGraph.RenderSvg"/> needs, is not installed. Thread-safety: immutable.</summary>
public sealed class GraphvizNotFoundException : FileNotFoundException
{
    /// <summary>Creates the exception.</summary>
    public GraphvizNotFoundException()
        : base("Graphviz's 'dot' program was not found on the PATH; install Graphviz (e.g. apt-get install graphviz, brew install graphviz, or choco install graphviz) to render autograd graphs.", "dot")
    {
    }
}
