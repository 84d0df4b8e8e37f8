using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Checkpointing;

/// <summary>checkpoint.json (made by TestData/generate_checkpoint.py with real PyTorch 1.13) and its network.</summary>
internal static class CheckpointData
{
    public static JsonElement Root => Support.TestDataFiles.Json("checkpoint.json");

    public static string Message(string key) => Root.GetProperty("messages").GetProperty(key).GetString()!;

    public static JsonElement Result(string key) => Root.GetProperty("results").GetProperty(key);

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    /// <summary>The generator's Sequential(Linear(3, 4), Tanh, Linear(4, 4), Tanh, Linear(4, 2)) with its weights, float64.</summary>
    public static nn.Module<Tensor, Tensor> Network()
    {
        var net = nn.Sequential(
            ("0", nn.Linear(3, 4, dtype: ScalarType.Float64)), ("1", nn.Tanh()),
            ("2", nn.Linear(4, 4, dtype: ScalarType.Float64)), ("3", nn.Tanh()),
            ("4", nn.Linear(4, 2, dtype: ScalarType.Float64)));
        JsonElement[] weights = [.. Root.GetProperty("weights").EnumerateArray()];
        using (torch.no_grad())
        {
            int i = 0;
            foreach (var p in net.parameters())
            {
                using Tensor w = torch.tensor(Doubles(weights[i].GetProperty("data")), dtype: ScalarType.Float64)
                    .reshape(weights[i].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
                p.copy_(w);
                i++;
            }
        }
        return net;
    }

    public static Tensor Input() =>
        torch.tensor(Doubles(Root.GetProperty("input")), dtype: ScalarType.Float64)
            .reshape(Root.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt64()).ToArray())
            .requires_grad_(true);

    /// <summary>Asserts the output and the gradients of x and of every parameter equal the generator's <paramref name="key"/> result.</summary>
    public static void AssertGradients(string key, nn.Module<Tensor, Tensor> net, Tensor output, Tensor x)
    {
        JsonElement expected = Result(key);
        NUnit.Framework.Assert.That(output.detach().reshape(-1).data<double>().ToArray(), NUnit.Framework.Is.EqualTo(Doubles(expected.GetProperty("output"))).Within(1e-12), "output");
        NUnit.Framework.Assert.That(x.grad!.reshape(-1).data<double>().ToArray(), NUnit.Framework.Is.EqualTo(Doubles(expected.GetProperty("x"))).Within(1e-12), "x.grad");
        JsonElement[] grads = [.. expected.GetProperty("params").EnumerateArray()];
        int i = 0;
        foreach (var p in net.parameters())
        {
            NUnit.Framework.Assert.That(p.grad!.reshape(-1).data<double>().ToArray(), NUnit.Framework.Is.EqualTo(Doubles(grads[i])).Within(1e-12), $"parameter {i}.grad");
            i++;
        }
    }
}
