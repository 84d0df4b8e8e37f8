using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Printing;

/// <summary>One tensor printed by real PyTorch 1.13 (TestData/repr.json, made by generate_repr.py).</summary>
public sealed record ReprCase(
    string Name,
    string Dtype,
    long[] Shape,
    JsonElement? Values,
    double[]? Arange,
    JsonElement? Randn,
    string? View,
    string? GradFn,
    bool RequiresGrad,
    bool? Parameter,
    ReprOptions Options,
    string Expected,
    string Body,
    string[] Suffixes)
{
    public override string ToString() => Name;
}

/// <summary>A meta tensor printed by PyTorch 1.13: its dtype, shape, "leaf" (requires grad) or "mul2" (times a tensor 2).</summary>
public sealed record MetaReprCase(string Name, string Dtype, long[] Shape, string? Grad, string Expected)
{
    public override string ToString() => Name;
}

/// <summary>
/// A view made under <see cref="Mode"/> ("no_grad" or "inference") of <c>[0.5, -1.5, 2.0, 3.25] * 1</c> (a leaf
/// that requires grad), its first two elements, whose base was then multiplied by 2 in place with grad mode
/// <see cref="InplaceGrad"/>: PyTorch's grad_fn error and the repr PyTorch 2.1+ prints.
/// </summary>
public sealed record InvalidViewCase(string Mode, bool InplaceGrad, string Message, string Expected)
{
    public override string ToString() => $"{Mode}, in-place with grad {(InplaceGrad ? "on" : "off")}";
}

/// <summary>Loads repr.json and rebuilds its tensors in TorchSharp.</summary>
public static class ReprCases
{
    private static readonly Lazy<(IReadOnlyDictionary<string, ReprCase> Cases, JsonElement Formats, JsonElement Root)> Data = new(Load);

    public static IReadOnlyDictionary<string, ReprCase> All => Data.Value.Cases;

    public static JsonElement Formats => Data.Value.Formats;

    public static IEnumerable<MetaReprCase> Meta() => Data.Value.Root.GetProperty("meta").EnumerateArray().Select(e => new MetaReprCase(
        e.GetProperty("name").GetString()!, e.GetProperty("dtype").GetString()!,
        e.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray(),
        e.GetProperty("grad").GetString(), e.GetProperty("expected").GetString()!));

    public static IEnumerable<InvalidViewCase> InvalidViews() => Data.Value.Root.GetProperty("invalid_views").EnumerateArray().Select(e => new InvalidViewCase(
        e.GetProperty("mode").GetString()!, e.GetProperty("inplace_grad").GetBoolean(),
        e.GetProperty("message").GetString()!, e.GetProperty("expected").GetString()!));

    /// <summary>The case's meta tensor, built as the generator built it.</summary>
    public static Tensor BuildMeta(MetaReprCase c)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor t = torch.empty(c.Shape, dtype: DtypeOf(c.Dtype), device: torch.META);
        if (c.Grad is not null)
        {
            t.requires_grad_(true);
        }
        if (c.Grad == "mul2")
        {
            // A tensor operand, as Python's t * 2 (MulBackward0; TorchSharp's scalar overload would be MulBackward1).
            t = t * torch.tensor(2.0f, device: torch.META);
        }
        return t.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The case's view, built as the generator built it; its base is returned too (the caller disposes both; the
    /// view's graph keeps what it needs).
    /// </summary>
    public static (Tensor View, Tensor Base) BuildInvalidView(InvalidViewCase c)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor w = torch.tensor(new[] { 0.5f, -1.5f, 2.0f, 3.25f }).requires_grad_(true);
        Tensor b = w * torch.tensor(1.0f);
        Tensor view;
        using (c.Mode == "no_grad" ? Autograd.NoGrad() : Autograd.InferenceMode())
        {
            view = b[TensorIndex.Slice(0, 2)];
        }
        using (c.InplaceGrad ? Autograd.EnableGrad() : Autograd.NoGrad())
        {
            b.mul_(2);
        }
        return (view.MoveToOuterDisposeScope(), b.MoveToOuterDisposeScope());
    }

    /// <summary>Case names without a grad_fn, each on every device.</summary>
    public static IEnumerable<NUnit.Framework.TestCaseData> Leaves() =>
        Support.DeviceCases.Cross(All.Values.Where(c => c.GradFn is null).Select(c => new object?[] { c.Name }));

    /// <summary>Case names with a grad_fn, each on every device.</summary>
    public static IEnumerable<NUnit.Framework.TestCaseData> WithGradFn() =>
        Support.DeviceCases.Cross(All.Values.Where(c => c.GradFn is not null).Select(c => new object?[] { c.Name }));

    /// <summary>PyTorch's _add_suffixes, to add device='cuda:0' exactly where PyTorch would put it.</summary>
    public static string AddSuffixes(string body, IEnumerable<string> suffixes, int lineWidth)
    {
        const int indent = 7;
        var text = new StringBuilder(body);
        int lastLineLength = body.Length - body.LastIndexOf('\n') + 1;
        foreach (string suffix in suffixes)
        {
            if (lastLineLength + suffix.Length + 2 > lineWidth)
            {
                text.Append(",\n").Append(' ', indent).Append(suffix);
                lastLineLength = indent + suffix.Length;
            }
            else
            {
                text.Append(", ").Append(suffix);
                lastLineLength += suffix.Length + 2;
            }
        }
        return text.Append(')').ToString();
    }

    /// <summary>The text PyTorch prints for the case's tensor on <paramref name="device"/>: non-CPU devices add a first suffix.</summary>
    public static string ExpectedOn(ReprCase c, string device) => device == "cpu"
        ? c.Expected
        : (c.Parameter is null ? "" : "Parameter containing:\n") + AddSuffixes(c.Body, [$"device='{device}'", .. c.Suffixes], c.Options.LineWidth);

    public static ScalarType DtypeOf(string name) => name switch
    {
        "float64" => ScalarType.Float64,
        "float32" => ScalarType.Float32,
        "float16" => ScalarType.Float16,
        "bfloat16" => ScalarType.BFloat16,
        "int64" => ScalarType.Int64,
        "int32" => ScalarType.Int32,
        "int16" => ScalarType.Int16,
        "int8" => ScalarType.Int8,
        "uint8" => ScalarType.Byte,
        "bool" => ScalarType.Bool,
        "complex64" => ScalarType.ComplexFloat32,
        "complex128" => ScalarType.ComplexFloat64,
        _ => throw new ArgumentException($"Unknown dtype {name}", nameof(name)),
    };

    public static double ParsePythonFloat(string text) => text switch
    {
        "nan" => double.NaN,
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    /// <summary>The case's base tensor (before view and grad), built on the CPU from its stored values.</summary>
    public static Tensor BuildValues(ReprCase c)
    {
        ScalarType dtype = DtypeOf(c.Dtype);
        long numel = c.Shape.Aggregate(1L, (a, b) => a * b);
        if (c.Arange is { } arange)
        {
            using Tensor steps = torch.arange(numel, dtype: ScalarType.Float64);
            using Tensor scaled = steps * arange[1];
            using Tensor shifted = scaled + arange[0];
            using Tensor shaped = shifted.reshape(c.Shape);
            if (torch.is_complex(torch.empty(0, dtype: dtype)))
            {
                // The generator's complex arange: the imaginary part is minus half the real part.
                using Tensor half = shaped / -2;
                using Tensor complex = torch.complex(shaped, half);
                return complex.to_type(dtype);
            }
            return shaped.to_type(dtype);
        }
        JsonElement values = c.Values!.Value;
        if (torch.is_complex(torch.empty(0, dtype: dtype)))
        {
            double Part(JsonElement pair, int i) => ParsePythonFloat(pair[i].GetString()!);
            using Tensor re = torch.tensor(values.EnumerateArray().Select(v => Part(v, 0)).ToArray(), dtype: ScalarType.Float64);
            using Tensor im = torch.tensor(values.EnumerateArray().Select(v => Part(v, 1)).ToArray(), dtype: ScalarType.Float64);
            using Tensor complex = torch.complex(re, im);
            using Tensor shaped = complex.reshape(c.Shape);
            return shaped.to_type(dtype);
        }
        if (dtype == ScalarType.Bool)
        {
            return torch.tensor(values.EnumerateArray().Select(v => v.GetBoolean()).ToArray()).reshape(c.Shape);
        }
        if (!torch.is_floating_point(torch.empty(0, dtype: dtype)))
        {
            using Tensor longs = torch.tensor(values.EnumerateArray().Select(v => v.GetInt64()).ToArray(), dtype: ScalarType.Int64);
            using Tensor shaped = longs.reshape(c.Shape);
            return shaped.to_type(dtype);
        }
        using Tensor doubles = torch.tensor(values.EnumerateArray().Select(v => ParsePythonFloat(v.GetString()!)).ToArray(), dtype: ScalarType.Float64);
        using Tensor reshaped = doubles.reshape(c.Shape);
        return reshaped.to_type(dtype);
    }

    /// <summary>The case's seeded randn tensor, rebuilt with libtorch's generator.</summary>
    public static Tensor BuildRandn(ReprCase c)
    {
        JsonElement randn = c.Randn!.Value;
        torch.manual_seed(randn.GetProperty("seed").GetInt64());
        int pick = randn.GetProperty("pick").GetInt32();
        Tensor? kept = null;
        int i = 0;
        foreach (JsonElement shape in randn.GetProperty("shapes").EnumerateArray())
        {
            Tensor made = torch.randn(shape.EnumerateArray().Select(s => s.GetInt64()).ToArray());
            if (i++ == pick)
            {
                kept = made;
            }
            else
            {
                made.Dispose();
            }
        }
        using (kept)
        {
            return kept!.to_type(DtypeOf(c.Dtype));
        }
    }

    /// <summary>The case's tensor on <paramref name="device"/>, with its view, requires_grad and grad_fn applied.</summary>
    public static Tensor Build(ReprCase c, Device device)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor t = (c.Randn is not null ? BuildRandn(c) : BuildValues(c)).to(device);
        t = c.View switch
        {
            null => t,
            "transpose" => t.transpose(-1, -2),
            "step2" => t[TensorIndex.Slice(null, null, 2)],
            "narrow1" => t[TensorIndex.Slice(1, null)],
            "expand3" => t.unsqueeze(0).expand([3, .. t.shape]),
            "conj" => t.conj(),
            "conj_imag" => t.conj().imag,
            _ => throw new ArgumentException($"Unknown view {c.View}", nameof(c)),
        };
        if (c.RequiresGrad || c.GradFn is not null)
        {
            t = t.detach().requires_grad_(true);
        }
        t = c.GradFn switch
        {
            null => t,
            "mul_self" => t * t,
            "add_self" => t + t,
            "sum" => t.sum(),
            "neg" => -t,
            "add1_pow2" => (t + 1).pow(2),
            "t" => t.t(),
            "relu" => t.relu(),
            "sub_self" => t - t,
            "div_self" => t / t,
            _ => throw new ArgumentException($"Unknown grad_fn {c.GradFn}", nameof(c)),
        };
        if (c.Parameter is { } parameterRequiresGrad)
        {
            t = new TorchSharp.Modules.Parameter(t, parameterRequiresGrad);
        }
        return t.MoveToOuterDisposeScope();
    }

    private static (IReadOnlyDictionary<string, ReprCase>, JsonElement, JsonElement) Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "TestData", "repr.json");
        JsonElement root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        var cases = new Dictionary<string, ReprCase>();
        foreach (JsonElement e in root.GetProperty("cases").EnumerateArray())
        {
            JsonElement o = e.GetProperty("options");
            var options = new ReprOptions(
                o.GetProperty("precision").GetInt32(),
                o.GetProperty("threshold").GetInt32(),
                o.GetProperty("edgeitems").GetInt32(),
                o.GetProperty("linewidth").GetInt32(),
                o.GetProperty("sci_mode").ValueKind == JsonValueKind.Null ? null : o.GetProperty("sci_mode").GetBoolean());
            string name = e.GetProperty("name").GetString()!;
            cases[name] = new ReprCase(
                name,
                e.GetProperty("dtype").GetString()!,
                e.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray(),
                e.TryGetProperty("values", out JsonElement values) ? values : null,
                e.TryGetProperty("arange", out JsonElement arange) ? arange.EnumerateArray().Select(v => ParsePythonFloat(v.GetString()!)).ToArray() : null,
                e.TryGetProperty("randn", out JsonElement randn) ? randn : null,
                e.GetProperty("view").GetString(),
                e.GetProperty("grad_fn").GetString(),
                e.GetProperty("requires_grad").GetBoolean(),
                e.GetProperty("parameter").ValueKind == JsonValueKind.Null ? null : e.GetProperty("parameter").GetBoolean(),
                options,
                e.GetProperty("expected").GetString()!,
                e.GetProperty("body").GetString()!,
                e.GetProperty("suffixes").EnumerateArray().Select(s => s.GetString()!).ToArray());
        }
        return (cases, root.GetProperty("formats"), root);
    }
}
