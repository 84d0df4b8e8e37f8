using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Support;

/// <summary>
/// TestData/foundation.json, made by TestData/generate_foundation.py with real PyTorch, and helpers to compare
/// tensors with its numbers.
/// </summary>
public static class FoundationData
{
    private static readonly Lazy<JsonNode> Root = new(() =>
        JsonNode.Parse(File.ReadAllText(TestDataFiles.PathOf("foundation.json")))!);

    /// <summary>The whole document.</summary>
    public static JsonNode Json => Root.Value;

    /// <summary>An error text PyTorch printed; an entry of "overrides" (libtorch 2.10's text) wins.</summary>
    public static string Error(string key) =>
        (string?)Json["overrides"]?[key] ?? (string)Json["errors"]![key]!;

    /// <summary>A list of numbers.</summary>
    public static double[] Doubles(JsonNode? node) => node!.AsArray().Select(v => (double)v!).ToArray();

    /// <summary>The flattened values of <paramref name="t"/>, as doubles, read on the CPU.</summary>
    public static double[] Values(Tensor t)
    {
        using var d = t.detach().cpu().to_type(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }
}
