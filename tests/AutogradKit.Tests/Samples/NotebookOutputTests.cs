using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AutogradKit.Tests.Support;
using NUnit.Framework;

namespace AutogradKit.Tests.Samples;

/// <summary>
/// The saved outputs of samples/AutogradNotebook.ipynb — written by a real headless run of the notebook
/// (dotnet-repl; <c>.ci/notebook-check --update</c> re-runs it) — show what real PyTorch prints for the tutorial
/// notebook (TestData/notebook-output.txt, the same reference the tour is held to), but for object addresses and
/// the exception's type name. Reads the committed JSON only: no kernel, no dotnet-repl.
/// </summary>
public partial class NotebookOutputTests
{
    private static readonly IReadOnlyList<string> Reference = TestDataFiles.Lines("notebook-output.txt");

    /// <summary>The cells of the committed notebook, linked into the test output by the project file.</summary>
    private static readonly Cell[] Cells = ReadNotebook(Path.Combine(AppContext.BaseDirectory, "TestData", "AutogradNotebook.ipynb"));

    /// <summary>The tutorial's markdown headings, in the tutorial's order (TestData/autograd-tutorial-notebook.txt).</summary>
    private static readonly string[] TutorialHeadings =
    [
        "# Automatic Differentiation with `torch.autograd`",
        "## Back Propagation",
        "## 勾配計算をしない方法",
        "# 計算グラフについて補足",
        "## テンソルに対する勾配とヤコビ行列",
    ];

    [Test]
    public void SavedOutputs_EqualPyTorchsNotebookOutput()
    {
        Assert.That(SeededOutputLines().Select(Mask), Is.EqualTo(Reference));
    }

    [Test]
    public void SavedOutputs_ShowRealNodeAddresses()
    {
        string[] lines = SeededOutputLines();
        // A run's own addresses, not the masked reference pasted in.
        Assert.That(lines[0], Does.Match(@"^Gradient function for z = <AddBackward0 object at 0x[0-9a-f]{6,16}>$"));
        Assert.That(lines[1], Does.Match(@"^Gradient function for loss = <BinaryCrossEntropyWithLogitsBackward0 object at 0x[0-9a-f]{6,16}>$"));
    }

    [Test]
    public void SavedOutputs_ReportTheFreedGraphAsGraphFreedException()
    {
        string line = SeededOutputLines().Single(l => l.Contains("backward through the graph", StringComparison.Ordinal));
        string pytorch = Reference.Single(l => l.Contains("backward through the graph", StringComparison.Ordinal));
        Assert.That(line, Is.EqualTo(pytorch.Replace("RuntimeError: ", "GraphFreedException: ", StringComparison.Ordinal)));
    }

    [Test]
    public void SavedOutputs_AreTextWithoutErrors()
    {
        foreach (Output output in Cells.SelectMany(c => c.Outputs))
        {
            Assert.That(output.Type, Is.AnyOf("stream", "display_data", "execute_result"), $"an output of type {output.Type}: {output.Text}");
            Assert.That(output.MimeTypes, Is.Empty.Or.EquivalentTo(new[] { "text/plain" }), $"an output that is not plain text: {output.Text}");
        }
    }

    [Test]
    public void SavedOutputs_NameNoPathOfTheMachine()
    {
        foreach (Output output in Cells.SelectMany(c => c.Outputs))
        {
            Assert.That(AbsolutePathPattern().IsMatch(output.Text), Is.False, $"an absolute path in an output: {output.Text}");
        }
    }

    [Test]
    public void Cells_FollowTheTutorial()
    {
        // The tutorial's six code cells (setup, nvidia-smi, In [1], In [3], In [4], In [7]), each with its C# counterpart.
        string[] code = Cells.Where(c => c.Kind == "code").Select(c => c.Source).ToArray();
        Assert.That(code, Has.Length.EqualTo(6));
        Assert.That(code[0], Does.Contain("#r \"AutogradTour/bin/Debug/net10.0/TorchSharp.dll\"").And.Contain("Formatter.Register<torch.Tensor>(t => t.Repr()"));
        Assert.That(code[1], Does.Contain("Devices.Describe()"));
        Assert.That(code[2], Does.Contain("torch.manual_seed(0)").And.Contain("binary_cross_entropy_with_logits(z, y)"));
        Assert.That(code[3], Does.Contain("z.GradFn").And.Contain("loss.Backward()").And.Contain("catch (GraphFreedException e)"));
        Assert.That(code[4], Does.Contain("Autograd.NoGrad()").And.Contain("z3.Detach()"));
        Assert.That(code[5], Does.Contain("retainGraph: true").And.Contain("inp.ZeroGrad()"));

        // The markdown cells carry the tutorial's notes, headings in the tutorial's order.
        string[] headings = Cells.Where(c => c.Kind == "markdown").Skip(1)
            .Select(c => c.Source.Split('\n')[0]).ToArray();
        Assert.That(headings, Is.EqualTo(TutorialHeadings));
    }

    /// <summary>
    /// What the seeded cells print, line by line, as Python's print would: from the cell that calls
    /// <c>torch.manual_seed(0)</c> on (before it: loading the build and describing the machine's devices).
    /// Each displayed value is one print, so it ends with a new line; stream text is taken as written.
    /// </summary>
    private static string[] SeededOutputLines()
    {
        int seeded = Array.FindIndex(Cells, c => c.Kind == "code" && c.Source.Contains("torch.manual_seed(0)", StringComparison.Ordinal));
        Assert.That(seeded, Is.GreaterThanOrEqualTo(0), "no cell calls torch.manual_seed(0)");
        var printed = new StringBuilder();
        foreach (Output output in Cells[seeded..].SelectMany(c => c.Outputs))
        {
            printed.Append(output.Text);
            if (output.Type != "stream" && !output.Text.EndsWith('\n'))
            {
                printed.Append('\n');
            }
        }
        return printed.ToString().TrimEnd('\n').Split('\n');
    }

    /// <summary>What notebook_reference.py does to PyTorch's text, and the one name .NET spells differently.</summary>
    private static string Mask(string line) =>
        AddressPattern().Replace(line, " object").Replace("GraphFreedException: ", "RuntimeError: ", StringComparison.Ordinal);

    private static Cell[] ReadNotebook(string path)
    {
        using JsonDocument notebook = JsonDocument.Parse(File.ReadAllText(path));
        return notebook.RootElement.GetProperty("cells").EnumerateArray().Select(cell => new Cell(
            cell.GetProperty("cell_type").GetString()!,
            Text(cell.GetProperty("source")),
            cell.TryGetProperty("outputs", out JsonElement outputs) ? outputs.EnumerateArray().Select(ReadOutput).ToArray() : [])).ToArray();
    }

    private static Output ReadOutput(JsonElement output)
    {
        string type = output.GetProperty("output_type").GetString()!;
        if (type == "stream")
        {
            return new Output(type, Text(output.GetProperty("text")), []);
        }
        if (output.TryGetProperty("data", out JsonElement data))
        {
            string[] mimeTypes = data.EnumerateObject().Select(p => p.Name).ToArray();
            string text = data.TryGetProperty("text/plain", out JsonElement plain) ? Text(plain) : "";
            return new Output(type, text, mimeTypes);
        }
        // An error: its name and value, so that a failing assertion shows what went wrong.
        return new Output(type, $"{output.GetProperty("ename").GetString()}: {output.GetProperty("evalue").GetString()}", []);
    }

    /// <summary>nbformat's multiline strings: one string, or an array of lines to join.</summary>
    private static string Text(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? string.Concat(value.EnumerateArray().Select(line => line.GetString())) : value.GetString() ?? "";

    private sealed record Cell(string Kind, string Source, Output[] Outputs);

    private sealed record Output(string Type, string Text, string[] MimeTypes);

    [GeneratedRegex(" object at 0x[0-9a-f]+")]
    private static partial Regex AddressPattern();

    /// <summary>A Unix path of two or more folders (<c>/home/me/…</c>), or a Windows drive path (<c>C:\…</c>).</summary>
    [GeneratedRegex(@"(?<![\w.])/[\w.-]+/[\w.-]+|\b[A-Za-z]:\\")]
    private static partial Regex AbsolutePathPattern();
}
