using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Tensors;

public class BackwardExtensionsTests
{
    private const double Tolerance = 1e-5;

    private static JsonElement Notebook => FoundationData.Json.GetProperty("notebook");

    private static Tensor FromJson(JsonElement values, Device device, params long[] shape) =>
        torch.tensor(FoundationData.Doubles(values).Select(v => (float)v).ToArray(), device: device).reshape(shape);

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Backward_Notebook_GivesPyTorchsGradientsThenGraphFreed(string device)
    {
        Device dev = DeviceCases.Device(device);
        using var x = torch.ones(5, device: dev);
        using var y = torch.zeros(3, device: dev);
        using var w = FromJson(Notebook.GetProperty("w"), dev, 5, 3).RequiresGrad();
        using var b = FromJson(Notebook.GetProperty("b"), dev, 3).RequiresGrad();
        using var z = torch.matmul(x, w) + b;
        using var loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y);
        Assert.That(loss.item<float>(), Is.EqualTo(Notebook.GetProperty("loss").GetDouble()).Within(Tolerance));

        loss.Backward();
        using (var wGrad = w.grad!)
        using (var bGrad = b.grad!)
        {
            Assert.That(FoundationData.Values(wGrad), Is.EqualTo(FoundationData.Doubles(Notebook.GetProperty("w_grad"))).Within(Tolerance));
            Assert.That(FoundationData.Values(bGrad), Is.EqualTo(FoundationData.Doubles(Notebook.GetProperty("b_grad"))).Within(Tolerance));
        }

        var e = Assert.Throws<GraphFreedException>(() => loss.Backward())!;
        Assert.That(e.Message, Is.EqualTo(Notebook.GetProperty("second_backward_error").GetString()));
        Assert.That(e.Message, Does.StartWith("Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed)."));
        Assert.That(e.NativeMessage, Does.StartWith(e.Message));
        Assert.That(e.Message, Does.Not.Contain("frame #").And.Not.Contain("Exception raised from"));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Backward_RetainGraph_AccumulatesAsInTheNotebook(string device)
    {
        using var inp = torch.eye(5, device: DeviceCases.Device(device)).RequiresGrad();
        using var out_ = (inp + 1).pow(2);
        using var ones = torch.ones_like(inp);

        out_.Backward(ones, retainGraph: true);
        using (var g = inp.grad!)
        {
            Assert.That(FoundationData.Values(g), Is.EqualTo(FoundationData.Doubles(Notebook.GetProperty("inp_grad_first"))).Within(Tolerance));
        }
        out_.Backward(ones, retainGraph: true);
        using (var g = inp.grad!)
        {
            Assert.That(FoundationData.Values(g), Is.EqualTo(FoundationData.Doubles(Notebook.GetProperty("inp_grad_second"))).Within(Tolerance));
        }
        inp.ZeroGrad();
        out_.Backward(ones, retainGraph: true);
        using (var g = inp.grad!)
        {
            Assert.That(FoundationData.Values(g), Is.EqualTo(FoundationData.Doubles(Notebook.GetProperty("inp_grad_after_zero"))).Within(Tolerance));
        }
    }

    private static IEnumerable<TestCaseData> ExpressionCases() =>
        DeviceCases.Cross(FoundationData.Json.GetProperty("expressions").EnumerateArray().Select(e => new object?[] { e.GetProperty("name").GetString() }));

    private static Tensor Expression(string name, Tensor x) => name switch
    {
        "cube_sum" => x.pow(3).sum(),
        "sin_times_exp" => x.sin() * x.exp(),
        "mean_of_square_plus_log" => (x * x + x.log()).mean(),
        "sigmoid_scaled" => torch.sigmoid(x) * 3.0,
        _ => throw new ArgumentException($"unknown expression {name}", nameof(name)),
    };

    [TestCaseSource(nameof(ExpressionCases))]
    public void Backward_Expressions_MatchPyTorch(string device, string name)
    {
        JsonElement data = FoundationData.Json.GetProperty("expressions").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        Device dev = DeviceCases.Device(device);
        using var x = torch.tensor(FoundationData.Doubles(data.GetProperty("x")), dtype: ScalarType.Float64, device: dev).RequiresGrad();
        using var output = Expression(name, x);
        using var v = data.GetProperty("v") is { ValueKind: JsonValueKind.Array } seed ? torch.tensor(FoundationData.Doubles(seed), dtype: ScalarType.Float64, device: dev) : null;

        output.Backward(v);

        Assert.That(FoundationData.Values(output), Is.EqualTo(FoundationData.Doubles(data.GetProperty("out"))).Within(1e-12));
        using var grad = x.grad!;
        Assert.That(FoundationData.Values(grad), Is.EqualTo(FoundationData.Doubles(data.GetProperty("grad"))).Within(1e-12));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Backward_CreateGraph_KeepsTheGraphForSecondDerivatives(string device)
    {
        JsonElement data = FoundationData.Json.GetProperty("create_graph");
        using var x = torch.tensor(FoundationData.Doubles(data.GetProperty("x")), dtype: ScalarType.Float64, device: DeviceCases.Device(device)).RequiresGrad();
        using var y = x.pow(3).sum();

        y.Backward(createGraph: true);

        using var first = x.grad!;
        Assert.That(FoundationData.Values(first), Is.EqualTo(FoundationData.Doubles(data.GetProperty("first_grad"))).Within(1e-12));
        Assert.That(first.requires_grad, Is.EqualTo(data.GetProperty("first_grad_requires_grad").GetBoolean()));
        Assert.That(first.is_leaf, Is.False, "the gradient has a grad_fn");
        x.grad = null;
        using var firstSum = first.sum();
        firstSum.Backward();
        using var second = x.grad!;
        Assert.That(FoundationData.Values(second), Is.EqualTo(FoundationData.Doubles(data.GetProperty("second_grad"))).Within(1e-12));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Backward_CreateGraph_RetainsTheGraphByDefault(string device)
    {
        JsonElement data = FoundationData.Json.GetProperty("create_graph_retains");
        using var x = torch.tensor(FoundationData.Doubles(data.GetProperty("x")), dtype: ScalarType.Float64, device: DeviceCases.Device(device)).RequiresGrad();
        using var y = x.pow(2).sum();

        y.Backward(createGraph: true);
        Assert.DoesNotThrow(() => y.Backward(createGraph: true));

        using var grad = x.grad!;
        Assert.That(FoundationData.Values(grad), Is.EqualTo(FoundationData.Doubles(data.GetProperty("grad_after_two"))).Within(1e-12));
    }

    private static IEnumerable<TestCaseData> ShapeCases() => DeviceCases.Cross(
    [
        ["shape_4_vs_3", new long[] { 3 }, new long[] { 4 }],
        ["shape_1_vs_scalar", Array.Empty<long>(), new long[] { 1 }],
        ["shape_3x2_vs_2x3", new long[] { 2, 3 }, new long[] { 3, 2 }],
        ["shape_scalar_vs_3", new long[] { 3 }, Array.Empty<long>()],
    ], row => (string)row[0]!);

    [TestCaseSource(nameof(ShapeCases))]
    public void Backward_GradientOfAnotherShape_ThrowsPythonsMismatchInShape(string device, string key, long[] outputShape, long[] gradientShape)
    {
        Device dev = DeviceCases.Device(device);
        using var x = torch.ones(outputShape, device: dev).RequiresGrad();
        using var y = x * 2;
        using var gradient = torch.ones(gradientShape, device: dev);

        var e = Assert.Throws<GradientShapeException>(() => y.Backward(gradient))!;

        Assert.That(e.Message, Is.EqualTo(FoundationData.Error(key)));
        Assert.That(e.NativeMessage, Is.Null, "PyTorch checks the shape in Python, before libtorch");
        Assert.That(x.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Backward_ComplexGradientForRealOutput_ThrowsPythonsMismatchInDtype(string device)
    {
        Device dev = DeviceCases.Device(device);
        using var x = torch.ones(3, device: dev).RequiresGrad();
        using var y = x * 2;
        using var gradient = torch.ones(3, dtype: ScalarType.ComplexFloat32, device: dev);

        var e = Assert.Throws<AutogradException>(() => y.Backward(gradient))!;

        Assert.That(e.Message, Is.EqualTo(FoundationData.Error("complex_dtype")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Backward_NonScalarWithoutGradient_ThrowsNonScalarOutput(string device)
    {
        using var x = torch.ones(3, device: DeviceCases.Device(device)).RequiresGrad();
        using var y = x * 2;

        var e = Assert.Throws<NonScalarOutputException>(() => y.Backward())!;

        Assert.That(e.Message, Is.EqualTo(FoundationData.Error("non_scalar")));
        Assert.That(e.NativeMessage, Is.Not.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Backward_WithoutGradFn_ThrowsNoGradFn(string device)
    {
        using var x = torch.ones(3, device: DeviceCases.Device(device));
        using var s = x.sum();

        var scalar = Assert.Throws<NoGradFnException>(() => s.Backward())!;
        var vector = Assert.Throws<NoGradFnException>(() => x.Backward())!;

        Assert.That(scalar.Message, Is.EqualTo(FoundationData.Error("no_grad_fn")));
        Assert.That(vector.Message, Is.EqualTo(FoundationData.Error("no_grad_fn_non_scalar")));
        Assert.That(scalar.NativeMessage, Does.StartWith(scalar.Message));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Backward_GraphFreed_ThrowsPyTorchsMessage(string device)
    {
        using var a = torch.ones(2, device: DeviceCases.Device(device)).RequiresGrad();
        using var l = (a * a).sum();
        l.Backward();

        var e = Assert.Throws<GraphFreedException>(() => l.Backward())!;

        Assert.That(e.Message, Is.EqualTo(FoundationData.Error("graph_freed")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Backward_OnALeaf_AccumulatesOnes(string device)
    {
        using var a = torch.tensor(2.0f, device: DeviceCases.Device(device)).RequiresGrad();
        a.Backward();
        a.Backward();
        using var grad = a.grad!;
        Assert.That(FoundationData.Values(grad), Is.EqualTo(new[] { 2.0 }));
    }

    [Test]
    public void Backward_DisposedTensors_ThrowObjectDisposed()
    {
        using var x = torch.ones(2).RequiresGrad();
        using var y = x * 2;
        var gone = torch.ones(2);
        gone.Dispose();
        Assert.That(Assert.Throws<ObjectDisposedException>(() => y.Backward(gone))!.Message, Does.Contain("The tensor 'gradient' was disposed."));
        Assert.That(Assert.Throws<ObjectDisposedException>(() => gone.Backward())!.Message, Does.Contain("The tensor 't' was disposed."));
    }

    [Test]
    public void Backward_NullTensor_ThrowsArgumentNull()
    {
        Tensor? t = null;
        var e = Assert.Throws<ArgumentNullException>(() => t!.Backward())!;
        Assert.That(e.ParamName, Is.EqualTo("t"));
    }
}
