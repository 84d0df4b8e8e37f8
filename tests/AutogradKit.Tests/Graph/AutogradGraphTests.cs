using System.Text.Json;
using System.Text.RegularExpressions;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Graph;

/// <summary>ToDot against torchviz's make_dot (transcribed in TestData/generate_graphs.py), and RenderSvg.</summary>
public class AutogradGraphTests
{
    private static JsonElement DotCase(string name) =>
        TestDataFiles.Json("graphs.json")
            .GetProperty("dot_cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    public static IEnumerable<TestCaseData> Cases() => DeviceCases.Cross(
        new[] { "notebook_loss", "notebook_z_unnamed", "notebook_z_root_named", "chain_100_mul" }.Select(n => new object?[] { n }));

    /// <summary>Addresses become n0, n1, … in order of first appearance, as the generator does with id().</summary>
    private static string NormaliseIds(string dot)
    {
        var ids = new Dictionary<string, string>();
        return Regex.Replace(dot, @"(?m)(?<=\t)\d+|(?<=-> )\d+", m =>
        {
            if (!ids.TryGetValue(m.Value, out string? id))
            {
                ids[m.Value] = id = $"n{ids.Count}";
            }
            return id;
        });
    }

    private static (Tensor Root, Dictionary<string, Tensor> Names) Build(string name, Device device)
    {
        var (w, b, z, loss) = GraphCases.Notebook(device);
        switch (name)
        {
            case "notebook_loss":
                return (loss, new() { ["w"] = w, ["b"] = b });
            case "notebook_z_unnamed":
                return (z, new());
            case "notebook_z_root_named":
                return (z, new() { ["z"] = z, ["w"] = w });
            case "chain_100_mul":
                Tensor x = torch.rand(2, 3, device: device).requires_grad_(true);
                Tensor y = torch.rand(2, 3, device: device).requires_grad_(true);
                Tensor chain = x;
                for (int i = 0; i < 100; i++)
                {
                    chain = chain * y;
                }
                return (chain, new() { ["x"] = x, ["y"] = y });
            default:
                throw new ArgumentException(name, nameof(name));
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void ToDot_MatchesTorchvizMakeDot(string device, string name)
    {
        using var scope = torch.NewDisposeScope();
        var (root, names) = Build(name, DeviceCases.Device(device));
        Assert.That(NormaliseIds(AutogradGraph.ToDot(root, names)), Is.EqualTo(DotCase(name).GetProperty("dot").GetString()));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void ToDot_Leaf_IsTheRootAlone(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor w = torch.ones(5, 3, requires_grad: true, device: DeviceCases.Device(device));
        string dot = AutogradGraph.ToDot(w, new Dictionary<string, Tensor> { ["w"] = w });
        Assert.That(NormaliseIds(dot), Does.Contain("\tn0 [label=\"w\\n (5, 3)\" fillcolor=darkolivegreen1]\n}"));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RenderSvg_WithGraphviz_WritesAnSvg(string device)
    {
        if (AutogradGraph.FindDot() is null)
        {
            Assert.Ignore("Graphviz's dot is not installed");
        }
        using var scope = torch.NewDisposeScope();
        var (w, b, _, loss) = GraphCases.Notebook(DeviceCases.Device(device));
        string path = Path.Combine(Path.GetTempPath(), $"autogradkit-{Guid.NewGuid():N}.svg");
        try
        {
            AutogradGraph.RenderSvg(loss, path, new Dictionary<string, Tensor> { ["w"] = w, ["b"] = b });
            string svg = File.ReadAllText(path);
            Assert.That(svg, Does.Contain("<svg"));
            Assert.That(svg, Does.Contain("BinaryCrossEntropyWithLogitsBackward0"));
            Assert.That(svg, Does.Contain("(5, 3)"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void RenderSvg_WithoutGraphviz_NamesTheMissingProgram()
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        using var scope = torch.NewDisposeScope();
        Tensor a = torch.ones(2, requires_grad: true);
        Tensor c = a * a;
        try
        {
            Environment.SetEnvironmentVariable("PATH", Path.GetTempPath());
            var e = Assert.Throws<GraphvizNotFoundException>(() => AutogradGraph.RenderSvg(c, Path.Combine(Path.GetTempPath(), "never.svg")));
            Assert.That(e!.Message, Does.Contain("'dot'").And.Contain("Graphviz"));
            Assert.That(e.FileName, Is.EqualTo("dot"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
    }
    [Test]
    public void ToDot_NamesWithQuoteBackslashAndLineBreak_AreEscapedAsGraphvizReadsThem()
    {
        // Before: a '"' ended the DOT string early (invalid DOT). torchviz escapes only '"' and writes backslashes and
        // line breaks raw, which Graphviz then reads as escapes and line continuations (the names lose their
        // backslashes); here every character of a name is drawn as written.
        using var scope = torch.NewDisposeScope();
        Tensor a = torch.ones(2, requires_grad: true), b = torch.ones(2, requires_grad: true);
        Tensor c = torch.ones(2, requires_grad: true), d = torch.ones(2, requires_grad: true);
        Tensor root = a * b * c * d;
        var names = new Dictionary<string, Tensor> { ["a\"b"] = a, ["back\\slash"] = b, ["two\r\nlines"] = c, ["end\\"] = d };

        string dot = AutogradGraph.ToDot(root, names);

        Assert.That(dot, Does.Contain("[label=\"a\\\"b\\n (2)\" fillcolor=lightblue]"));
        Assert.That(dot, Does.Contain("[label=\"back\\\\slash\\n (2)\" fillcolor=lightblue]"));
        Assert.That(dot, Does.Contain("[label=\"two\\nlines\\n (2)\" fillcolor=lightblue]"));
        Assert.That(dot, Does.Contain("[label=\"end\\\\\\n (2)\" fillcolor=lightblue]"));
        Assert.That(dot.Split('\n'), Has.All.Not.Contain("\r"));

        string? program = AutogradGraph.FindDot();
        if (program is null)
        {
            Assert.Ignore("Graphviz's dot is not installed: the text was checked, not drawn");
        }
        var (exitCode, svg, errors) = RunDot(program!, dot);
        Assert.That(exitCode, Is.Zero, errors);
        Assert.That(errors, Is.Empty);
        Assert.That(svg, Does.Contain(">a&quot;b<").And.Contain(">back\\slash<").And.Contain(">two<").And.Contain(">lines<").And.Contain(">end\\<"));
    }

    private static (int ExitCode, string Output, string Errors) RunDot(string program, string input)
    {
        var start = new System.Diagnostics.ProcessStartInfo(program, "-Tsvg")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        process.WaitForExit();
        return (process.ExitCode, output.Result, errors.Result);
    }

    /// <summary>Runs <paramref name="test"/> with PATH set to a fresh folder holding only a file 'dot' with <paramref name="content"/>.</summary>
    private static void WithFakeDot(string content, UnixFileMode mode, Action<string> test)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            Assert.Ignore("the fake dot is a Unix file");
            return;
        }
        string folder = Directory.CreateTempSubdirectory("autogradkit-dot-").FullName;
        string dot = Path.Combine(folder, "dot");
        File.WriteAllText(dot, content);
        File.SetUnixFileMode(dot, mode);
        string? path = Environment.GetEnvironmentVariable("PATH");
        try
        {
            Environment.SetEnvironmentVariable("PATH", folder);
            test(dot);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
            Directory.Delete(folder, recursive: true);
        }
    }

    private const UnixFileMode ReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Executable = ReadWrite | UnixFileMode.UserExecute;

    [Test]
    public void RenderSvg_DotNotExecutable_IsSkippedAsAShellSkipsIt()
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = torch.ones(2, requires_grad: true);
        Tensor c = a * a;
        WithFakeDot("#!/bin/sh\nexit 0\n", ReadWrite, _ =>
        {
            Assert.That(AutogradGraph.FindDot(), Is.Null);
            Assert.Throws<GraphvizNotFoundException>(() => AutogradGraph.RenderSvg(c, Path.Combine(Path.GetTempPath(), "never.svg")));
        });
    }

    [Test]
    public void RenderSvg_DotThatCannotBeStarted_ThrowsGraphvizRenderExceptionNamingItAndTheCause()
    {
        // Before: a raw Win32Exception. An executable file that is not a program (no #! line, not ELF): exec fails.
        using var scope = torch.NewDisposeScope();
        Tensor a = torch.ones(2, requires_grad: true);
        Tensor c = a * a;
        WithFakeDot("not a program\n", Executable, dot =>
        {
            var e = Assert.Throws<GraphvizRenderException>(() => AutogradGraph.RenderSvg(c, Path.Combine(Path.GetTempPath(), "never.svg")));
            Assert.That(e!.Program, Is.EqualTo(dot));
            Assert.That(e.ExitCode, Is.Null);
            Assert.That(e.InnerException, Is.InstanceOf<System.ComponentModel.Win32Exception>());
            Assert.That(e.Message, Does.StartWith($"Graphviz's dot at '{dot}' did not draw the graph: it could not be started: "));
        });
    }

    [Test]
    public void RenderSvg_DotClosingItsInput_ThrowsGraphvizRenderExceptionWithItsExitCodeAndError()
    {
        // Before: IOException "Broken pipe". The graph is larger than a pipe's buffer, so the write must fail.
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(2, requires_grad: true);
        Tensor chain = x;
        for (int i = 0; i < 2000; i++)
        {
            chain = chain * x;
        }
        WithFakeDot("#!/bin/sh\nexec 0<&-\necho 'dot: cannot read the graph' >&2\nexit 3\n", Executable, dot =>
        {
            var e = Assert.Throws<GraphvizRenderException>(() => AutogradGraph.RenderSvg(chain, Path.Combine(Path.GetTempPath(), "never.svg")));
            Assert.That(e!.ExitCode, Is.EqualTo(3));
            Assert.That(e.ErrorOutput, Is.EqualTo("dot: cannot read the graph"));
            Assert.That(e.InnerException, Is.InstanceOf<IOException>());
            Assert.That(e.Message, Is.EqualTo($"Graphviz's dot at '{dot}' did not draw the graph: it stopped reading the graph before the end (exit code 3): dot: cannot read the graph"));
        });
    }

    [Test]
    public void RenderSvg_DotFailing_ThrowsGraphvizRenderExceptionWithItsErrorOutput()
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = torch.ones(2, requires_grad: true);
        Tensor c = a * a;
        WithFakeDot("#!/bin/sh\n/bin/cat > /dev/null\necho 'Error: syntax error in line 1' >&2\nexit 1\n", Executable, dot =>
        {
            var e = Assert.Throws<GraphvizRenderException>(() => AutogradGraph.RenderSvg(c, Path.Combine(Path.GetTempPath(), "never.svg")));
            Assert.That(e!.ExitCode, Is.EqualTo(1));
            Assert.That(e.InnerException, Is.Null);
            Assert.That(e.Message, Is.EqualTo($"Graphviz's dot at '{dot}' did not draw the graph: it failed (exit code 1): Error: syntax error in line 1"));
        });
    }
}
