using System.Text.Json;
using AutogradKit.Tests.Functional;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.TorchFunc;

/// <summary>
/// torch_func.json (written by TestData/generate_torch_func.py from PyTorch 1.13 and functorch 1.13) and the C# twins
/// of its functions, by the generator's names.
/// </summary>
internal static class TorchFuncData
{
    public static JsonElement Root => Support.TestDataFiles.Json("torch_func.json");

    public static JsonElement Section(string name) => Root.GetProperty(name);

    public static IEnumerable<TestCaseData> Rows(string section) =>
        Section(section).EnumerateArray().Select((c, i) => new TestCaseData(i).SetArgDisplayNames(c.GetProperty("name").GetString()!));

    public static string Message(string key) => Root.GetProperty("messages").GetProperty(key).GetString()!;

    public static Tensor ToTensor(JsonElement t) => FunctionalData.ToTensor(t, torch.CPU);

    public static Tensor X4 => torch.tensor(new[] { 0.5, -1.0, 2.0, 0.25 });

    public static Tensor W4 => torch.linspace(-1.0, 1.5, 16, dtype: ScalarType.Float64).reshape(4, 4);

    public static Tensor A34 => torch.linspace(-0.8, 0.9, 12, dtype: ScalarType.Float64).reshape(3, 4);

    /// <summary>The everyday functions of a 4-vector (issue 11).</summary>
    public static Func<Tensor, Tensor> Everyday(string name)
    {
        Tensor w4 = W4;
        Tensor a34 = A34;
        return name switch
        {
            "x_times_sum" => x => x * x.sum(),
            "normalize" => x => x / x.norm(),
            "softmax" => x => torch.softmax(x, 0),
            "cumsum" => x => x.cumsum(0),
            "max_times" => x => x.max() * x,
            "square_matvec" => x => w4.matmul(x),
            "rect_matvec" => x => a34.matmul(x),
            "tanh_matvec" => x => torch.tanh(a34.matmul(x)),
            "outer" => x => torch.outer(x, x),
            "stack" => x => torch.stack([x, 2 * x]),
            "slice" => x => x[1..3],
            "view" => x => x.view(2, 2),
            "scalar" => x => (x * x).sum(),
            "inplace_intermediate" => InPlaceIntermediate,
            "sin_cos" => x => x.sin() * x.cos(),
            "flip" => x => x.flip(0),
            _ => throw new ArgumentException(name, nameof(name)),
        };
    }

    private static Tensor InPlaceIntermediate(Tensor x)
    {
        Tensor y = x * 1;
        y.mul_(x);
        return y;
    }

    /// <summary>The vmapped functions of the "vmap" section.</summary>
    public static Func<Tensor[], Tensor> Mapped(string name) => name switch
    {
        "sin" => a => a[0].sin(),
        "sum_in1" => a => a[0].sum(),
        "sin_in_neg1_out1" => a => a[0].sin() * 2,
        "sin_in_neg1_out_neg1" => a => a[0].sin() * 2,
        "dot" => a => torch.dot(a[0], a[1]),
        "matvec" => a => a[0].matmul(a[1]),
        "x_times_sum" => a => a[0] * a[0].sum(),
        "outer_out1" => a => torch.outer(a[0], a[1]),
        "both_in1" => a => a[0] * a[1],
        "constant" => a => torch.ones(2, dtype: ScalarType.Float64),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    /// <summary>The scalar functions of the "scalar" section.</summary>
    public static Func<Tensor, Tensor> Scalar(string name)
    {
        Tensor a34 = A34;
        return name switch
        {
            "sin_sum" => x => x.sin().sum(),
            "cube_norm" => x => x.pow(3).sum() * x.norm(),
            "logsumexp" => x => torch.logsumexp(x, 0),
            "tanh_quad" => x => torch.tanh(a34.matmul(x)).pow(2).sum(),
            _ => throw new ArgumentException(name, nameof(name)),
        };
    }

    public static int?[] InDims(JsonElement c) =>
        c.GetProperty("in_dims").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (int?)null : e.GetInt32()).ToArray();

    public static void AssertClose(Tensor actual, Tensor expected, string what = "")
    {
        Assert.That(actual.shape, Is.EqualTo(expected.shape), what + " shape");
        Assert.That(torch.allclose(actual, expected, rtol: 1e-10, atol: 1e-12), Is.True, $"{what}: {actual} vs {expected}");
    }
}
