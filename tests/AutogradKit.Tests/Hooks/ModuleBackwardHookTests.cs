using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Hooks;

/// <summary>
/// <see cref="ModuleBackwardHookExtensions"/> against PyTorch 1.13's <c>register_full_backward_hook</c> and PyTorch 2.x's
/// documented <c>register_full_backward_pre_hook</c> (more_hooks.json, "module_hook" and "module_pre_hook").
/// </summary>
[AllowTensorLeaks(AllowTensorLeaksAttribute.TorchSharpParameterCount, ParameterDriftOnly = true)]
public class ModuleBackwardHookTests
{
    private static JsonElement Cases => TestDataFiles.Json("more_hooks.json").GetProperty("cases");

    private static JsonElement Expected => Cases.GetProperty("module_hook");

    private static double[]? Values(Tensor? t) => t?.detach().reshape(-1).data<double>().ToArray();

    private static double[]? Values(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : [.. Flatten(e)];

    private static IEnumerable<double> Flatten(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten) : [e.GetDouble()];

    private static double[]?[] Lists(JsonElement e) => [.. e.EnumerateArray().Select(Values)];

    private static Tensor Matrix(string name, long rows, long columns, bool requiresGrad = false) =>
        torch.tensor(Values(Expected.GetProperty(name))!, dtype: ScalarType.Float64).reshape(rows, columns).requires_grad_(requiresGrad);

    private static nn.Module<Tensor, Tensor> Linear()
    {
        var linear = nn.Linear(3, 2, dtype: ScalarType.Float64);
        using (Autograd.NoGrad())
        {
            linear.weight!.copy_(Matrix("weight", 2, 3));
            linear.bias!.copy_(torch.tensor(Values(Expected.GetProperty("bias"))!, dtype: ScalarType.Float64));
        }
        return linear;
    }

    private static void AssertClose(double[]? actual, JsonElement expected) =>
        Assert.That(actual, Is.EqualTo(Values(expected)).Within(1e-12));

    private static void AssertClose(double[]?[] actual, JsonElement expected)
    {
        double[]?[] lists = Lists(expected);
        Assert.That(actual, Has.Length.EqualTo(lists.Length));
        for (int i = 0; i < lists.Length; i++)
        {
            Assert.That(actual[i], Is.EqualTo(lists[i]).Within(1e-12));
        }
    }

    [TestCase("plain", true, false)]
    [TestCase("replace", true, true)]
    [TestCase("no_input_grad", false, false)]
    public void RegisterFullBackwardHook_Linear_MatchesPyTorch(string name, bool inputRequiresGrad, bool replace)
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Expected.GetProperty(name);
        using var linear = (TorchSharp.Modules.Linear)Linear();
        Tensor x = Matrix("x", 5, 3, inputRequiresGrad);
        double[]?[]? gradInput = null, gradOutput = null;
        long[]?[]? inputShapes = null, outputShapes = null;
        nn.Module? seenModule = null;
        using IDisposable h = linear.RegisterFullBackwardHook((m, gi, go) =>
        {
            seenModule = m;
            gradInput = [.. gi.Select(Values)];
            gradOutput = [.. go.Select(Values)];
            inputShapes = [.. gi.Select(g => g?.shape)];
            outputShapes = [.. go.Select(g => g?.shape)];
            return replace ? [.. gi.Select(g => g is null ? null : g * 2)] : null;
        });
        (linear.call(x) * Matrix("k", 5, 2)).sum().Backward();
        Assert.That(seenModule, Is.SameAs(linear));
        AssertClose(gradInput!, expected.GetProperty("grad_input"));
        AssertClose(gradOutput!, expected.GetProperty("grad_output"));
        Assert.That(inputShapes, Is.EqualTo(expected.GetProperty("grad_input_shapes").EnumerateArray().Select(s => s.ValueKind == JsonValueKind.Null ? null : s.EnumerateArray().Select(d => d.GetInt64()).ToArray())));
        Assert.That(outputShapes, Is.EqualTo(expected.GetProperty("grad_output_shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(d => d.GetInt64()).ToArray())));
        AssertClose(Values(x.grad), expected.GetProperty("x_grad"));
        AssertClose(Values(linear.weight!.grad), expected.GetProperty("weight_grad"));
        AssertClose(Values(linear.bias!.grad), expected.GetProperty("bias_grad"));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void RegisterFullBackwardHook_ChildOfSequential_FiresThroughForwardAndCall(bool viaCall)
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Expected.GetProperty("sequential");
        var last = nn.Linear(2, 1, dtype: ScalarType.Float64);
        using (Autograd.NoGrad())
        {
            last.weight!.copy_(torch.tensor(Values(expected.GetProperty("last_weight"))!, dtype: ScalarType.Float64).reshape(1, 2));
            last.bias!.copy_(torch.tensor(Values(expected.GetProperty("last_bias"))!, dtype: ScalarType.Float64));
        }
        nn.Module<Tensor, Tensor> first = Linear();
        using var seq = nn.Sequential(first, nn.ReLU(), last);
        double[]?[]? gradInput = null, gradOutput = null;
        using IDisposable h = first.RegisterFullBackwardHook((_, gi, go) =>
        {
            gradInput = [.. gi.Select(Values)];
            gradOutput = [.. go.Select(Values)];
            return null;
        });
        Tensor x = Matrix("x", 5, 3, requiresGrad: true);
        (viaCall ? seq.call(x) : seq.forward(x)).sum().Backward();
        AssertClose(gradInput!, expected.GetProperty("grad_input"));
        AssertClose(gradOutput!, expected.GetProperty("grad_output"));
        AssertClose(Values(x.grad), expected.GetProperty("x_grad"));
    }

    [Test]
    public void RegisterFullBackwardHook_ModuleRunByForward_DoesNotFire()
    {
        // TorchSharp runs forward hooks only through call(): documented on ModuleBackwardHookExtensions.
        using var scope = torch.NewDisposeScope();
        using var linear = Linear();
        int calls = 0;
        using IDisposable h = linear.RegisterFullBackwardHook((_, _, _) =>
        {
            calls++;
            return null;
        });
        linear.forward(Matrix("x", 5, 3, requiresGrad: true)).sum().Backward();
        Assert.That(calls, Is.Zero);
    }

    [Test]
    public void RegisterFullBackwardHook_WrongCount_ThrowsPyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        using var linear = Linear();
        using IDisposable h = linear.RegisterFullBackwardHook((_, gi, _) => [gi[0], gi[0]]);
        var e = Assert.Throws<AutogradException>(() => linear.call(Matrix("x", 5, 3, requiresGrad: true)).sum().Backward());
        Assert.That(e!.Message, Is.EqualTo(Expected.GetProperty("wrong_count_error").GetString()));
    }

    [Test]
    public void RegisterFullBackwardHook_Disposed_IsNotCalledAndRemovesTheWrapping()
    {
        using var scope = torch.NewDisposeScope();
        using var linear = Linear();
        int calls = 0;
        IDisposable h = linear.RegisterFullBackwardHook((_, _, _) =>
        {
            calls++;
            return null;
        });
        h.Dispose();
        h.Dispose();
        Tensor y = linear.call(Matrix("x", 5, 3, requiresGrad: true));
        Assert.That(y.GradFn!.Name, Is.EqualTo("AddmmBackward0"));
        y.sum().Backward();
        Assert.That(calls, Is.Zero);
    }

    [Test]
    public void RegisterFullBackwardHook_Wrapped_OutputNodeIsBackwardHookFunctionBackward()
    {
        using var scope = torch.NewDisposeScope();
        using var linear = Linear();
        using IDisposable h = linear.RegisterFullBackwardHook((_, _, _) => null);
        Assert.That(linear.call(Matrix("x", 5, 3, requiresGrad: true)).GradFn!.Name, Is.EqualTo("BackwardHookFunctionBackward"));
    }

    [Test]
    public void RegisterFullBackwardPreHook_DoublesGradOutput_AsASeedTwiceAsLarge()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Cases.GetProperty("module_pre_hook");
        using var linear = (TorchSharp.Modules.Linear)Linear();
        Tensor x = Matrix("x", 5, 3, requiresGrad: true);
        double[]?[]? seen = null;
        var order = new List<string>();
        using IDisposable pre = linear.RegisterFullBackwardPreHook((_, go) =>
        {
            order.Add("pre");
            seen = [.. go.Select(Values)];
            return [.. go.Select(g => g is null ? null : g * 2)];
        });
        using IDisposable post = linear.RegisterFullBackwardHook((_, _, _) =>
        {
            order.Add("hook");
            return null;
        });
        (linear.call(x) * Matrix("k", 5, 2)).sum().Backward();
        Assert.That(order, Is.EqualTo(new[] { "pre", "hook" }));
        AssertClose(seen!, expected.GetProperty("grad_output"));
        AssertClose(Values(x.grad), expected.GetProperty("doubled").GetProperty("x_grad"));
        AssertClose(Values(linear.weight!.grad), expected.GetProperty("doubled").GetProperty("weight_grad"));
        AssertClose(Values(linear.bias!.grad), expected.GetProperty("doubled").GetProperty("bias_grad"));
    }

    [Test]
    public void RegisterFullBackwardPreHook_WrongCount_ThrowsPyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        using var linear = Linear();
        using IDisposable h = linear.RegisterFullBackwardPreHook((_, go) => [go[0], go[0]]);
        var e = Assert.Throws<AutogradException>(() => linear.call(Matrix("x", 5, 3, requiresGrad: true)).sum().Backward());
        Assert.That(e!.Message, Is.EqualTo(Cases.GetProperty("module_pre_hook").GetProperty("wrong_count_error").GetString()));
    }

    [Test]
    public void RegisterFullBackwardHook_ModuleWithTwoInputs_ThrowsArgumentException()
    {
        using var scope = torch.NewDisposeScope();
        using var bilinear = nn.Bilinear(2, 2, 1);
        var e = Assert.Throws<ArgumentException>(() => bilinear.RegisterFullBackwardHook((_, _, _) => null));
        Assert.That(e!.ParamName, Is.EqualTo("module"));
    }

    private sealed class HookFailure() : Exception("thrown by a module backward hook");

    [Test]
    public void RegisterFullBackwardHook_HookThrows_ReachesTheCallerAsItself()
    {
        using var scope = torch.NewDisposeScope();
        using var linear = Linear();
        using IDisposable h = linear.RegisterFullBackwardHook((_, _, _) => throw new HookFailure());
        Assert.Throws<HookFailure>(() => linear.call(Matrix("x", 5, 3, requiresGrad: true)).sum().Backward());
    }
}
