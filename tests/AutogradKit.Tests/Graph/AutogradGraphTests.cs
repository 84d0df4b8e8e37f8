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
}
