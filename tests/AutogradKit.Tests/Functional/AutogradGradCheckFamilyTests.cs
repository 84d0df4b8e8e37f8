using System.Diagnostics;
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

    private sealed class Exp(bool wrong) : AutogradFunction
    {
        protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
        {
            Tensor r = inputs[0].exp();
            ctx.SaveForBackward(r);
            return [r];
        }

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) =>
            [wrong ? gradOutputs[0]! * ctx.SavedTensors[0]! * 2 : gradOutputs[0]! * ctx.SavedTensors[0]!];
    }

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
                string message = c.GetProperty("message").GetString()!;
                Exception e = c.GetProperty("error").GetString() switch
                {
                    "GradcheckError" => Assert.Throws<GradCheckException>(() => Call(name))!,
                    _ => Assert.Throws<ArgumentException>(() => Call(name))!,
                };
                Assert.That(e.Message, Does.StartWith(message));
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

    [Test]
    public void GradCheck_NotYetSupportedModes_AreRefusedClearly()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = D(0.3, -0.7);
        Assert.Throws<NotSupportedException>(() => Autograd.GradCheck(xs => xs[0] * 2, [x], fastMode: true));
        Assert.Throws<NotSupportedException>(() => Autograd.GradCheck(xs => xs[0] * 2, [x], checkBatchedGrad: true));
        Tensor z = torch.tensor(new[] { 1.0, 2.0 }, dtype: ScalarType.ComplexFloat64).requires_grad_(true);
        Assert.Throws<NotSupportedException>(() => Autograd.GradCheck(xs => xs[0] * 2, [z]));
    }
}
