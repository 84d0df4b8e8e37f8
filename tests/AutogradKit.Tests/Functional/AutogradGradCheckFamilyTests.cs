using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

/// <summary>
/// GradCheck and GradGradCheck against torch.autograd.gradcheck / gradgradcheck (gradcheck.json, made by
/// TestData/generate_gradcheck.py with PyTorch 1.13): results, GradcheckError texts, argument errors and warnings.
/// </summary>
[NonParallelizable]
public class AutogradGradCheckFamilyTests
{
    private static JsonElement Cases => TestDataFiles.Json("gradcheck.json").GetProperty("cases");

    /// <summary>exp, saving its result (generate_gradcheck.py's Exp): the custom functions here differ only in their backward.</summary>
    private abstract class SavesExp : AutogradFunction
    {
        protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
        {
            Tensor r = inputs[0].exp();
            ctx.SaveForBackward(r);
            return [r];
        }
    }

    private sealed class Exp(bool wrong) : SavesExp
    {
        protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) =>
            [wrong ? gradOutputs[0]! * ctx.SavedTensors[0]! * 2 : gradOutputs[0]! * ctx.SavedTensors[0]!];
    }

    /// <summary>Backward calls <c>item()</c>, which vmap cannot batch.</summary>
    private sealed class ItemExp : SavesExp
    {
        protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) =>
            [gradOutputs[0]! * ctx.SavedTensors[0]! * (1 + (0 * gradOutputs[0]!.sum().item<double>()))];
    }

    /// <summary>Backward doubles its result on its 9th call, the vmapped one (see generate_gradcheck.py's NinthCallDoubles).</summary>
    private sealed class NinthCallDoubles(StrongBox<int> calls) : SavesExp
    {
        protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) =>
            [gradOutputs[0]! * ctx.SavedTensors[0]! * (++calls.Value == 9 ? 2.0 : 1.0)];
    }

    private static Tensor Z(double[] re, double[] im) =>
        torch.complex(torch.tensor(re, dtype: ScalarType.Float64), torch.tensor(im, dtype: ScalarType.Float64)).requires_grad_(true);

    private static Tensor D(params double[] values) => torch.tensor(values, dtype: ScalarType.Float64, requires_grad: true);

    /// <summary>The same calls as generate_gradcheck.py's cases, by name.</summary>
    private static bool Call(string name)
    {
        Tensor a = D(1.0, 2.0), b = D(3.0, 4.0);
        Tensor x3 = D(0.3, -0.7, 1.1), y3 = D(1.5, 0.2, -0.4), go = D(0.5, -1.0, 2.0);
        return name switch
        {
            "mismatch" => Autograd.GradCheck(xs => xs[0] * 2 + xs[1].detach() * xs[1], [a, b]),
            "mismatch_no_raise" => Autograd.GradCheck(xs => xs[0] * 2 + xs[1].detach() * xs[1], [a, b], raiseException: false),
            "float32_linear" => Autograd.GradCheck(xs => xs[0] * 2, [torch.tensor(new[] { 0.3f, -0.7f }, requires_grad: true)], eps: 1e-3, atol: 1e-2),
            "shape_change" => Autograd.GradCheck(xs => xs[0][xs[0] > 0.5] * 2, [D(0.5, 1.0)]),
            "integer_output" => Autograd.GradCheck(xs => (xs[0] > 0).to_type(ScalarType.Int64), [a]),
            "integer_output_jumps" => Autograd.GradCheck(xs => (xs[0] * 1e7).to_type(ScalarType.Int64), [a]),
            "stride0" => Autograd.GradCheck(xs => xs[0] * 2, [D(1.0).expand(3)]),
            "none_require_grad" => Autograd.GradCheck(xs => xs[0] * 2, [torch.ones(2, dtype: ScalarType.Float64)]),
            "two_outputs" => Autograd.GradCheck(xs => [torch.sin(xs[0]), xs[0] * xs[1]], [x3, y3]),
            "two_outputs_wrong_second" => Autograd.GradCheck(xs => [torch.sin(xs[0]), xs[0] * xs[1].detach() * xs[1]], [x3, y3]),
            "grad_inside" => Autograd.GradCheck(xs => Autograd.Grad([xs[0].pow(3).sum()], [xs[0]], createGraph: true)[0]!, [x3]),
            "gradgrad_cube" => Autograd.GradGradCheck(xs => xs[0].pow(3), [x3], [go]),
            "gradgrad_generated" => Autograd.GradGradCheck(xs => torch.sin(xs[0]) * xs[1], [x3, y3]),
            "gradgrad_detached_backward" => Autograd.GradGradCheck(xs => xs[0] * xs[0].detach().exp(), [x3], [go]),
            "gradgrad_detached_backward_no_raise" => Autograd.GradGradCheck(xs => xs[0] * xs[0].detach().exp(), [x3], [go], raiseException: false),
            "custom_exp" => Autograd.GradCheck(xs => new Exp(false).Apply(xs)[0], [x3]),
            "custom_exp_gradgrad" => Autograd.GradGradCheck(xs => new Exp(false).Apply(xs)[0], [x3], [go]),
            "custom_wrong_exp" => Autograd.GradCheck(xs => new Exp(true).Apply(xs)[0], [x3], raiseException: false),
            _ when name.StartsWith("fast_", StringComparison.Ordinal) => CallFast(name["fast_".Length..]),
            _ when name.StartsWith("batched_", StringComparison.Ordinal) => CallBatched(name),
            _ => CallComplex(name, fastMode: false),
        };
    }

    /// <summary>generate_gradcheck.py's fast_mode cases (the slow case of the same name, with fast_mode=True).</summary>
    private static bool CallFast(string name)
    {
        Tensor a = D(1.0, 2.0), b = D(3.0, 4.0);
        Tensor x3 = D(0.3, -0.7, 1.1), y3 = D(1.5, 0.2, -0.4), go = D(0.5, -1.0, 2.0);
        Tensor f32 = torch.tensor(new[] { 0.3f, -0.7f }, requires_grad: true);
        return name switch
        {
            "two_outputs" => Autograd.GradCheck(xs => [torch.sin(xs[0]), xs[0] * xs[1]], [x3, y3], fastMode: true),
            "mismatch" => Autograd.GradCheck(xs => xs[0] * 2 + xs[1].detach() * xs[1], [a, b], fastMode: true),
            "mismatch_no_raise" => Autograd.GradCheck(xs => xs[0] * 2 + xs[1].detach() * xs[1], [a, b], fastMode: true, raiseException: false),
            "two_outputs_wrong_second" => Autograd.GradCheck(xs => [torch.sin(xs[0]), xs[0] * xs[1].detach() * xs[1]], [x3, y3], fastMode: true),
            "custom_exp" => Autograd.GradCheck(xs => new Exp(false).Apply(xs)[0], [x3], fastMode: true),
            "custom_wrong_exp" => Autograd.GradCheck(xs => new Exp(true).Apply(xs)[0], [x3], fastMode: true),
            "float32_linear" => Autograd.GradCheck(xs => xs[0] * 2, [f32], eps: 1e-3, atol: 1e-2, fastMode: true),
            "float32_wrong" => Autograd.GradCheck(xs => xs[0] * xs[0].detach(), [f32], eps: 1e-3, atol: 1e-2, fastMode: true),
            "integer_output" => Autograd.GradCheck(xs => (xs[0] > 0).to_type(ScalarType.Int64), [a], fastMode: true),
            "integer_output_jumps" => Autograd.GradCheck(xs => (xs[0] * 1e7).to_type(ScalarType.Int64), [a], fastMode: true),
            "coarse_eps_slow_ok" => Autograd.GradCheck(xs => xs[0].pow(3), [x3], eps: 0.5, fastMode: true),
            "shape_change" => Autograd.GradCheck(xs => xs[0][xs[0] > 0.5] * 2, [D(0.5, 1.0)], fastMode: true),
            "gradgrad_cube" => Autograd.GradGradCheck(xs => xs[0].pow(3), [x3], [go], fastMode: true),
            "gradgrad_detached_backward" => Autograd.GradGradCheck(xs => xs[0] * xs[0].detach().exp(), [x3], [go], fastMode: true),
            "matmul_wrong" => Autograd.GradCheck(xs => xs[0].matmul(xs[1].detach()) * xs[1], [torch.tensor(new[,] { { 0.5, -1.2 }, { 2.0, 0.7 } }, requires_grad: true), D(0.3, -0.7)], fastMode: true),
            _ => CallComplex(name, fastMode: true),
        };
    }

    /// <summary>generate_gradcheck.py's check_batched_grad cases.</summary>
    private static bool CallBatched(string name)
    {
        Tensor x3 = D(0.3, -0.7, 1.1), y3 = D(1.5, 0.2, -0.4), go = D(0.5, -1.0, 2.0);
        return name switch
        {
            "batched_two_inputs" => Autograd.GradCheck(xs => torch.sin(xs[0]) * xs[1], [x3, y3], checkBatchedGrad: true),
            "batched_two_outputs" => Autograd.GradCheck(xs => [torch.sin(xs[0]), xs[0] * xs[1]], [x3, y3], checkBatchedGrad: true),
            "batched_custom_exp" => Autograd.GradCheck(xs => new Exp(false).Apply(xs)[0], [x3], checkBatchedGrad: true),
            "batched_fast_custom_exp" => Autograd.GradCheck(xs => new Exp(false).Apply(xs)[0], [x3], checkBatchedGrad: true, fastMode: true),
            "batched_gradgrad" => Autograd.GradGradCheck(xs => xs[0].pow(3), [x3], [go], checkBatchedGrad: true),
            "batched_item" => Autograd.GradCheck(xs => new ItemExp().Apply(xs)[0], [x3], checkBatchedGrad: true),
            "batched_item_no_raise" => Autograd.GradCheck(xs => new ItemExp().Apply(xs)[0], [x3], checkBatchedGrad: true, raiseException: false),
            "batched_mismatch" => BatchedMismatch(x3),
            _ => throw new ArgumentException(name),
        };
    }

    private static bool BatchedMismatch(Tensor x3)
    {
        var calls = new StrongBox<int>(0);
        return Autograd.GradCheck(xs => new NinthCallDoubles(calls).Apply(xs)[0], [x3], checkBatchedGrad: true);
    }

    /// <summary>generate_gradcheck.py's complex cases (each in slow and fast mode).</summary>
    private static bool CallComplex(string name, bool fastMode)
    {
        Tensor z2 = Z([0.3, -0.7], [1.1, 0.4]), w2 = Z([-0.2, 0.9], [0.5, -1.3]), r2 = D(0.6, -1.4);
        return name switch
        {
            "complex_to_real" => Autograd.GradCheck(xs => xs[0].abs(), [z2], fastMode: fastMode),
            "complex_to_complex" => Autograd.GradCheck(xs => xs[0] * xs[1].exp(), [z2, w2], fastMode: fastMode),
            "real_to_complex" => Autograd.GradCheck(xs => torch.complex(xs[0] * xs[0], xs[0].sin()), [r2], fastMode: fastMode),
            "complex_mixed_outputs" => Autograd.GradCheck(xs => [xs[0].abs() * xs[1], xs[0] * xs[1]], [z2, r2], fastMode: fastMode),
            "complex_wrong" => Autograd.GradCheck(xs => xs[0] * xs[0].detach(), [z2], fastMode: fastMode),
            "complex_wrong_second_output" => Autograd.GradCheck(xs => [xs[0].abs() * xs[1], xs[0] * xs[1].detach() * xs[1]], [z2, r2], fastMode: fastMode),
            "complex_to_real_wrong" => Autograd.GradCheck(xs => (xs[0] * xs[0].detach()).real, [z2], fastMode: fastMode),
            "complex_gradgrad" => Autograd.GradGradCheck(xs => xs[0] * xs[0] * xs[0], [z2], [w2.detach().requires_grad_(true)], fastMode: fastMode),
            "complex_gradgrad_generated" => Autograd.GradGradCheck(xs => xs[0] * xs[0] * xs[0], [z2]),
            "complex_gradgrad_generated_fast" => Autograd.GradGradCheck(xs => xs[0] * xs[0] * xs[0], [z2], fastMode: true, genNonContigGradOutputs: true),
            "complex_batched" => Autograd.GradCheck(xs => xs[0] * xs[0], [z2], checkBatchedGrad: true, fastMode: fastMode),
            _ => throw new ArgumentException(name),
        };
    }

    private static IEnumerable<TestCaseData> CaseNames() =>
        Cases.EnumerateObject().Select(p => new TestCaseData(p.Name).SetName($"GradCheckFamily_MatchesPyTorch({p.Name})"));

    private sealed class Recorder : TraceListener
    {
        public List<string> Lines { get; } = [];

        public override void Write(string? message)
        {
        }

        public override void WriteLine(string? message) => Lines.Add(message ?? "");
    }

    [TestCaseSource(nameof(CaseNames))]
    public void GradCheckFamily_MatchesPyTorch(string name)
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Cases.GetProperty(name);
        var recorder = new Recorder();
        Trace.Listeners.Add(recorder);
        try
        {
            if (c.TryGetProperty("result", out JsonElement result))
            {
                Assert.That(Call(name), Is.EqualTo(result.GetBoolean()));
            }
            else
            {
                Exception e = c.GetProperty("error").GetString() switch
                {
                    "GradcheckError" => Assert.Throws<GradCheckException>(() => Call(name))!,
                    _ => Assert.Throws<ArgumentException>(() => Call(name))!,
                };
                if (c.TryGetProperty("message", out JsonElement message))
                {
                    Assert.That(e.Message, Does.StartWith(message.GetString()!));
                }
                else
                {
                    // PyTorch's text around a detail that is libtorch's own (vmap's error) or random (randn_like values).
                    Assert.That(e.Message, Does.StartWith(c.GetProperty("message_prefix").GetString()!));
                    Assert.That(e.Message, Does.EndWith(c.GetProperty("message_suffix").GetString()!));
                }
            }
        }
        finally
        {
            Trace.Listeners.Remove(recorder);
        }
        foreach (JsonElement w in c.GetProperty("warnings").EnumerateArray())
        {
            Assert.That(recorder.Lines, Has.Some.Contains(w.GetString()!), "PyTorch's warning, through Trace");
        }
    }
}
