using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Tensors;

/// <summary><c>Backward(inputs:)</c> against PyTorch 1.13 (more_hooks.json, "backward_inputs").</summary>
public class BackwardInputsTests
{
    private static JsonElement Expected => TestDataFiles.Json("more_hooks.json").GetProperty("cases").GetProperty("backward_inputs");

    private static double[]? Values(Tensor? t) => t?.detach().reshape(-1).data<double>().ToArray();

    private static double[]? Values(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : [.. e.EnumerateArray().Select(v => v.GetDouble())];

    [Test]
    public void Backward_Inputs_AccumulatesOnlyIntoThem()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new double[] { 1, 2, 3 }, requires_grad: true);
        Tensor w = torch.tensor(new double[] { 4, 5, 6 }, requires_grad: true);
        Tensor y = x * w;
        y.sum().Backward(retainGraph: true, inputs: [x]);
        Assert.That(Values(x.grad), Is.EqualTo(Values(Expected.GetProperty("only_x").GetProperty("x"))));
        Assert.That(Values(w.grad), Is.EqualTo(Values(Expected.GetProperty("only_x").GetProperty("w"))));

        // A non-leaf input gets its .grad (retain_grad is turned on), and the leaves keep theirs.
        y.sum().Backward(retainGraph: true, inputs: [y]);
        Assert.That(Values(y.grad), Is.EqualTo(Values(Expected.GetProperty("non_leaf").GetProperty("y"))));
        Assert.That(Values(x.grad), Is.EqualTo(Values(Expected.GetProperty("non_leaf").GetProperty("x"))));

        // A leaf the graph does not reach keeps no .grad.
        Tensor z = torch.tensor(new double[] { 1, 2, 3 }, requires_grad: true);
        y.sum().Backward(inputs: [z]);
        Assert.That(Values(z.grad), Is.EqualTo(Values(Expected.GetProperty("unreached_grad"))));
    }

    [Test]
    public void Backward_EmptyInputs_ThrowsPyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3, requires_grad: true);
        var e = Assert.Throws<AutogradException>(() => (x * 2).sum().Backward(inputs: []));
        Assert.That(e!.Message, Is.EqualTo(Expected.GetProperty("empty_error").GetString()));
    }

    [Test]
    public void Backward_InputWithoutRequiresGrad_ThrowsPyTorchsErrorAndAccumulatesNothing()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3, requires_grad: true);
        var e = Assert.Throws<AutogradException>(() => (x * 2).sum().Backward(inputs: [x, torch.ones(3)]));
        Assert.That(e!.Message, Is.EqualTo(Expected.GetProperty("no_grad_error").GetString()));
        Assert.That(x.grad, Is.Null);
    }

    [Test]
    public void Backward_DisposedInput_ThrowsObjectDisposed()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3, requires_grad: true);
        Tensor gone = torch.ones(3, requires_grad: true);
        gone.Dispose();
        Assert.Throws<ObjectDisposedException>(() => (x * 2).sum().Backward(inputs: [gone]));
    }
}
