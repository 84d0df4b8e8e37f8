using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Hooks;

/// <summary><see cref="Autograd.Graph.RegisterMultiGradHook"/> against PyTorch 2.x's documented example (more_hooks.json, "multi_grad").</summary>
public class MultiGradHookTests
{
    private static JsonElement Expected => TestDataFiles.Json("more_hooks.json").GetProperty("cases").GetProperty("multi_grad");

    private static double[]? Values(Tensor? t) => t?.detach().reshape(-1).data<double>().ToArray();

    private static double[]? Values(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : [.. e.EnumerateArray().Select(v => v.GetDouble())];

    private static Tensor Make(string name) =>
        torch.tensor(Values(Expected.GetProperty(name))!, dtype: ScalarType.Float64).reshape(2, 3).RequiresGrad();

    [Test]
    public void RegisterMultiGradHook_DocumentedExample_PassesTheComputedGradients()
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = Make("a"), b = Make("b");
        Tensor c = a * b, d = a * b;
        var calls = new List<double[]?[]>();
        using IDisposable h = Autograd.Graph.RegisterMultiGradHook([a, b, c, d], grads => calls.Add([.. grads.Select(Values)]));
        c.sum().Backward(retainGraph: true);
        c.sum().Backward(retainGraph: true, inputs: [a]);
        Assert.That(calls, Has.Count.EqualTo(2));
        Assert.That(calls[0], Is.EqualTo(Expected.GetProperty("full").EnumerateArray().Select(Values)));
        Assert.That(calls[1], Is.EqualTo(Expected.GetProperty("inputs_a").EnumerateArray().Select(Values)));
    }

    [Test]
    public void RegisterMultiGradHook_AutogradGrad_PassesTheCapturedGradients()
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = Make("a"), b = Make("b");
        Tensor c = a * b, d = a * b;
        var calls = new List<double[]?[]>();
        using IDisposable h = Autograd.Graph.RegisterMultiGradHook([a, b, c, d], grads => calls.Add([.. grads.Select(Values)]));
        Autograd.Grad([c.sum()], [a]);
        // As backward(inputs=(a,)): a's gradient is captured, b's is not needed, d is not reached.
        Assert.That(calls, Is.EqualTo(new[] { Expected.GetProperty("inputs_a").EnumerateArray().Select(Values).ToArray() }));
    }

    [Test]
    public void RegisterMultiGradHook_Disposed_IsNotCalled()
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = Make("a"), b = Make("b");
        int calls = 0;
        IDisposable h = Autograd.Graph.RegisterMultiGradHook([a, b], _ => calls++);
        h.Dispose();
        h.Dispose();
        (a * b).sum().Backward();
        Assert.That(calls, Is.Zero);
    }

    [Test]
    public void RegisterMultiGradHook_TensorWithoutRequiresGrad_ThrowsPyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<AutogradException>(() => Autograd.Graph.RegisterMultiGradHook([Make("a"), torch.ones(3)], _ => { }));
        Assert.That(e!.Message, Is.EqualTo(Expected.GetProperty("no_grad_error").GetString()));
    }

    private sealed class HookFailure() : Exception("thrown by a multi-grad hook");

    [Test]
    public void RegisterMultiGradHook_FnThrows_ReachesTheCallerAsItself()
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = Make("a"), b = Make("b");
        using IDisposable h = Autograd.Graph.RegisterMultiGradHook([a, b], _ => throw new HookFailure());
        Assert.Throws<HookFailure>(() => (a * b).sum().Backward());
    }
}
