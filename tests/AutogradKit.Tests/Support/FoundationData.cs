using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Support;

/// <summary>
/// TestData/foundation.json, made by TestData/generate_foundation.py with real PyTorch, and helpers to compare
/// tensors with its numbers.
/// </summary>
public static class FoundationData
{
    /// <summary>The whole document, read through <see cref="TestDataFiles"/>.</summary>
    public static JsonElement Json => TestDataFiles.Json("foundation.json");

    /// <summary>An error text PyTorch printed; an entry of "overrides" (libtorch 2.10's text) wins.</summary>
    public static string Error(string key) =>
        Json.TryGetProperty("overrides", out JsonElement overrides) && overrides.TryGetProperty(key, out JsonElement text)
            ? text.GetString()!
            : Json.GetProperty("errors").GetProperty(key).GetString()!;

    /// <summary>A list of numbers.</summary>
    public static double[] Doubles(JsonElement node) => [.. node.EnumerateArray().Select(v => v.GetDouble())];

    /// <summary>The flattened values of <paramref name="t"/>, as doubles, read on the CPU.</summary>
    public static double[] Values(Tensor t)
    {
        using var d = t.detach().cpu().to_type(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }
}
