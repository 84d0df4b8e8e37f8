using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Graph;

/// <summary>saved_tensors.json (made by TestData/generate_saved_tensors.py with real PyTorch 1.13) and its functions.</summary>
internal static class SavedTensorsData
{
    public static JsonElement Root => Support.TestDataFiles.Json("saved_tensors.json");

    public static JsonElement Cases => Root.GetProperty("cases");

    public static IEnumerable<object?[]> CaseRows() =>
        Enumerable.Range(0, Cases.GetArrayLength()).Select(i => new object?[] { Cases[i].GetProperty("function").GetString() });

    public static JsonElement Case(string function) =>
        Cases.EnumerateArray().First(c => c.GetProperty("function").GetString() == function);

    public static string Message(string key) => Root.GetProperty("messages").GetProperty(key).GetProperty("message").GetString()!;

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static Tensor Input(JsonElement c) =>
        torch.tensor(Doubles(c.GetProperty("input")), dtype: ScalarType.Float64, requires_grad: true);

    /// <summary>The same definitions as FUNCTIONS in generate_saved_tensors.py.</summary>
    public static Func<Tensor, Tensor> Function(string name) => name switch
    {
        "mul_self" => x => (x * x).sum(),
        "pow_mul" => x => (x.pow(2) * x).sum(),
        "exp_sin" => x => x.exp().sin().sum(),
        "tanh_matmul" => x => torch.tanh(x.reshape(3, 1).matmul(x.reshape(1, 3))).sum(),
        "sum_only" => x => (x + 1).sum(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such function in generate_saved_tensors.py"),
    };
}
