using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

/// <summary>functional.json (made by TestData/generate_functional.py with real PyTorch) and its functions.</summary>
internal static class FunctionalData
{
    private static JsonElement Root => Support.TestDataFiles.Json("functional.json");

    public static JsonElement Cases => Root.GetProperty("cases");

    /// <summary>A top-level section of functional.json other than the cases: "grad_graphs", "grad_batched", "grad_materialized".</summary>
    public static JsonElement Section(string name) => Root.GetProperty(name);

    /// <summary>One row (the index) per element of an array section.</summary>
    public static IEnumerable<object?[]> Rows(string section) =>
        Enumerable.Range(0, Section(section).GetArrayLength()).Select(i => new object?[] { i });

    public static string Message(string key) => Root.GetProperty("messages").GetProperty(key).GetString()!;

    public static IEnumerable<object?[]> CaseRows() =>
        Enumerable.Range(0, Cases.GetArrayLength()).Select(i => new object?[] { i });

    public static string CaseName(object?[] row)
    {
        JsonElement c = Cases[(int)row[0]!];
        return $"{row[0]}:{c.GetProperty("kind").GetString()}:{c.GetProperty("function").GetString()}{(c.GetProperty("create_graph").GetBoolean() ? ":createGraph" : "")}";
    }

    public static Tensor ToTensor(JsonElement t, Device device)
    {
        long[] shape = t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        double[] data = t.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        return torch.tensor(data, dtype: ScalarType.Float64, device: device).reshape(shape);
    }

    /// <summary>The same definitions as fn() in generate_functional.py.</summary>
    public static Func<Tensor, Tensor> Function(string name, Device device)
    {
        Tensor w1 = torch.linspace(-1.0, 1.0, 12, dtype: ScalarType.Float64, device: device).reshape(4, 3);
        Tensor b1 = torch.linspace(-0.5, 0.5, 4, dtype: ScalarType.Float64, device: device);
        return name switch
        {
            "cube_sum" => x => x.pow(3).sum(),
            "sin_exp" => x => torch.sin(x) * torch.exp(x),
            "square" => x => x * x,
            "linear_tanh" => x => torch.tanh(w1.matmul(x) + b1),
            "matrix_power" => x => x.matmul(x),
            "log_softmax" => x => torch.nn.functional.log_softmax(x, 0),
            "norm" => x => (x * x).sum().sqrt(),
            "quartic" => x => x.pow(4).sum() + x[0] * x[1],
            "linear" => x => 3 * x,
            "sigmoid" => x => torch.sigmoid(x),
            _ => throw new ArgumentException(name),
        };
    }

    /// <summary>The same definitions as fn2() in generate_functional.py.</summary>
    public static Func<Tensor[], Tensor> Function2(string name) => name switch
    {
        "mul_sum" => xs => (xs[0] * xs[1]).sum(),
        "bilinear" => xs => torch.tanh(xs[0].matmul(xs[1])),
        "xy2" => xs => (xs[0] * xs[1] * xs[1]).sum(),
        _ => throw new ArgumentException(name),
    };
}
