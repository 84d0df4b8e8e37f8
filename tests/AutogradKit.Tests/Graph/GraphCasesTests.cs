using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Graph;

/// <summary>The grad_fn walks of TestData/graphs.json (real PyTorch), rebuilt and walked in C#.</summary>
public class GraphCasesTests
{
    private static JsonElement Data() =>
        TestDataFiles.Json("graphs.json");

    public static IEnumerable<TestCaseData> Cases() => DeviceCases.Cross(
        Data().GetProperty("cases").EnumerateArray().Select(c => new object?[] { c.GetProperty("name").GetString() }));

    /// <summary>Breadth first from the root's grad_fn, each node once, as the generator walks.</summary>
    internal static List<string> Walk(Tensor root)
    {
        var lines = new List<string>();
        var queue = new Queue<GradFn>();
        var seen = new HashSet<GradFn>();
        GradFn first = root.GradFn!;
        queue.Enqueue(first);
        seen.Add(first);
        while (queue.Count > 0)
        {
            GradFn fn = queue.Dequeue();
            var edges = new List<string>();
            foreach (GradEdge edge in fn.NextFunctions)
            {
                edges.Add($"({edge.Function?.Name ?? "None"}, {edge.InputNr})");
                if (edge.Function is { } next && seen.Add(next))
                {
                    queue.Enqueue(next);
                }
            }
            lines.Add($"{fn.Name} [{string.Join(", ", edges)}]");
        }
        return lines;
    }

    [TestCaseSource(nameof(Cases))]
    public void GradFn_Walk_MatchesPyTorch(string device, string name)
    {
        JsonElement expected = Data().GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
        var expectedLines = expected.GetProperty("nodes").EnumerateArray().Select(n =>
            $"{n.GetProperty("name").GetString()} [{string.Join(", ", n.GetProperty("next").EnumerateArray().Select(e => $"({(e[0].ValueKind == JsonValueKind.Null ? "None" : e[0].GetString())}, {e[1].GetInt32()})"))}]").ToList();

        using var scope = torch.NewDisposeScope();
        Tensor root = GraphCases.Build(name, DeviceCases.Device(device));
        Assert.That(Walk(root), Is.EqualTo(expectedLines), expected.GetProperty("python").GetString());
    }
}
