using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Hooks;

/// <summary><see cref="PostAccumulateGradHookExtensions"/> against PyTorch 2.x's documented behaviour (more_hooks.json, "post_accumulate").</summary>
public class PostAccumulateGradHookTests
{
    private static JsonElement Expected => TestDataFiles.Json("more_hooks.json").GetProperty("cases").GetProperty("post_accumulate");

    private static Tensor Leaf() => torch.tensor(new double[] { 1, 2, 3 }, requires_grad: true);

    private static double[] Values(Tensor t) => t.detach().reshape(-1).data<double>().ToArray();

    private static double[] Values(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    [Test]
    public void RegisterPostAccumulateGradHook_EachBackward_SeesTheAccumulatedGrad()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf();
        var seen = new List<double[]>();
        using IDisposable h = x.RegisterPostAccumulateGradHook(p => seen.Add(Values(p.grad!)));
        (x * x).sum().Backward();
        (x * x).sum().Backward();
        Assert.That(seen, Is.EqualTo(Expected.GetProperty("seen_grads").EnumerateArray().Select(Values)));
    }

    [Test]
    public void RegisterPostAccumulateGradHook_SgdStep_UpdatesTheTensorInPlace()
    {
        using var scope = torch.NewDisposeScope();
        Tensor v = torch.zeros(3, ScalarType.Float64).RequiresGrad();
        using IDisposable h = v.RegisterPostAccumulateGradHook(p => p.add_(p.grad!, alpha: -0.01));
        v.Backward(torch.tensor(new double[] { 1, 2, 3 }));
        Assert.That(Values(v), Is.EqualTo(Values(Expected.GetProperty("sgd_result"))).Within(1e-15));
    }

    [Test]
    public void RegisterPostAccumulateGradHook_WithTensorHook_RunsAfterIt()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf();
        var order = new List<string>();
        using IDisposable h1 = x.RegisterPostAccumulateGradHook(_ => order.Add("post_accumulate"));
        using IDisposable h2 = x.RegisterHook(_ =>
        {
            order.Add("tensor");
            return null;
        });
        (x * 2).sum().Backward();
        Assert.That(order, Is.EqualTo(Expected.GetProperty("order").EnumerateArray().Select(e => e.GetString())));
    }

    [Test]
    public void RegisterPostAccumulateGradHook_AutogradGrad_IsNotCalled()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf();
        int calls = 0;
        using IDisposable h = x.RegisterPostAccumulateGradHook(_ => calls++);
        Autograd.Grad([(x * x).sum()], [x]);
        Assert.That(calls, Is.EqualTo(Expected.GetProperty("grad_calls").GetInt32()));
    }

    [Test]
    public void RegisterPostAccumulateGradHook_Several_RunInOrderAndDisposeRemovesOne()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf();
        var order = new List<int>();
        IDisposable h1 = x.RegisterPostAccumulateGradHook(_ => order.Add(1));
        using IDisposable h2 = x.RegisterPostAccumulateGradHook(_ => order.Add(2));
        (x * x).sum().Backward();
        h1.Dispose();
        h1.Dispose();
        (x * x).sum().Backward();
        Assert.That(order, Is.EqualTo(new[] { 1, 2, 2 }));
    }

    [Test]
    public void RegisterPostAccumulateGradHook_NonLeaf_ThrowsPyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        Tensor y = Leaf() * 2;
        var e = Assert.Throws<AutogradException>(() => y.RegisterPostAccumulateGradHook(_ => { }));
        Assert.That(e!.Message, Is.EqualTo(Expected.GetProperty("non_leaf_error").GetString()));
    }

    [Test]
    public void RegisterPostAccumulateGradHook_NoRequiresGrad_ThrowsPyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<AutogradException>(() => torch.ones(3).RegisterPostAccumulateGradHook(_ => { }));
        Assert.That(e!.Message, Is.EqualTo(Expected.GetProperty("no_grad_error").GetString()));
    }

    private sealed class HookFailure() : Exception("thrown by a post-accumulate-grad hook");

    [Test]
    public void RegisterPostAccumulateGradHook_HookThrows_ReachesTheCallerAsItself()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf();
        using IDisposable h = x.RegisterPostAccumulateGradHook(_ => throw new HookFailure());
        Assert.Throws<HookFailure>(() => (x * x).sum().Backward());
    }

    [Test]
    public void RegisterPostAccumulateGradHook_TensorFreed_DeletesTheHookObject()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int before = NodeHookObjects.Count;
        using (var scope = torch.NewDisposeScope())
        {
            Tensor x = Leaf();
            x.RegisterPostAccumulateGradHook(_ => { });
            x.RegisterPostAccumulateGradHook(_ => { });
            Assert.That(NodeHookObjects.Count, Is.EqualTo(before + 1), "one hook object a tensor");
        }
        Assert.That(NodeHookObjects.Count, Is.EqualTo(before));
    }
}
