using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Graph;

/// <summary><see cref="GradFn.RegisterHook"/> and <see cref="GradFn.RegisterPrehook"/> against PyTorch 1.13 (more_hooks.json).</summary>
public class GradFnHooksTests
{
    private static JsonElement Case(string name) => TestDataFiles.Json("more_hooks.json").GetProperty("cases").GetProperty(name);

    private static Tensor Leaf() => torch.tensor(new double[] { 1, 2, 3 }, requires_grad: true);

    private static double[] Values(Tensor t) => t.detach().reshape(-1).data<double>().ToArray();

    private static double[]? Values(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : [.. e.EnumerateArray().Select(v => v.GetDouble())];

    private static double[]?[] Lists(JsonElement e) => [.. e.EnumerateArray().Select(Values)];

    private static double[]?[] Lists(Tensor?[] tensors) => [.. tensors.Select(t => t is null ? null : Values(t))];

    [Test]
    public void RegisterHook_OneNode_RunsAfterTensorHookAndPrehook()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Case("node_order");
        Tensor x = Leaf();
        Tensor y = x * torch.tensor(2.0, ScalarType.Float64); // Python wraps 2 in a tensor: MulBackward0, two inputs
        var order = new List<string>();
        using IDisposable t = y.RegisterHook(_ =>
        {
            order.Add("tensor");
            return null;
        });
        using IDisposable pre = y.GradFn!.RegisterPrehook(_ =>
        {
            order.Add("pre");
            return null;
        });
        using IDisposable post = y.GradFn!.RegisterHook((_, _) =>
        {
            order.Add("post");
            return null;
        });
        y.sum().Backward();
        Assert.That(order, Is.EqualTo(expected.GetProperty("order").EnumerateArray().Select(e => e.GetString())));
        Assert.That(Values(x.grad!), Is.EqualTo(Values(expected.GetProperty("grad"))));
    }

    /// <summary>
    /// 600 gradients make a list of 4800 bytes, which MSVC's allocator frees as an over-aligned block: the lists a hook
    /// hands back (a replacement, or the copy when it returns null) must be made so.
    /// </summary>
    [Test]
    public void RegisterHook_NodeWith600Inputs_ReplacesOrKeepsEveryGradient([Values(3.0, null)] double? factor)
    {
        using var scope = torch.NewDisposeScope();
        Tensor[] xs = [.. Enumerable.Range(0, 600).Select(i => torch.tensor(new double[] { i }, requires_grad: true))];
        Tensor y = torch.cat(xs);
        int seen = 0;
        using IDisposable h = y.GradFn!.RegisterHook((gradInputs, _) =>
        {
            seen = gradInputs.Length;
            return factor is { } f ? [.. gradInputs.Select(g => g! * f)] : null;
        });
        (y * 2).sum().Backward();
        Assert.That(seen, Is.EqualTo(600));
        // d(sum(2y))/dx_i = 2, times the hook's factor.
        Assert.That(xs.Select(x => x.grad!.item<double>()), Is.All.EqualTo(2 * (factor ?? 1)));
    }

    [Test]
    public void RegisterPrehook_ReturnsReplacement_ReplacesGradOutputs()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Case("prehook_replaces");
        Tensor x = Leaf();
        Tensor y = x * x;
        var seen = new List<double[]?[]>();
        using IDisposable h = y.GradFn!.RegisterPrehook(go =>
        {
            seen.Add(Lists(go));
            return [go[0]! * 2];
        });
        (y * 3).sum().Backward();
        Assert.That(seen, Is.EqualTo(expected.GetProperty("seen").EnumerateArray().Select(Lists)));
        Assert.That(Values(x.grad!), Is.EqualTo(Values(expected.GetProperty("grad"))));
    }

    [Test]
    public void RegisterHook_ReturnsReplacement_ReplacesGradInputs()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Case("posthook_replaces").GetProperty("seen")[0];
        Tensor x = Leaf();
        Tensor y = x * x;
        double[]?[]? gi = null, go = null;
        using IDisposable h = y.GradFn!.RegisterHook((gradInputs, gradOutputs) =>
        {
            gi = Lists(gradInputs);
            go = Lists(gradOutputs);
            return [gradInputs[0]! * 10, gradInputs[1]];
        });
        y.sum().Backward();
        Assert.That(gi, Is.EqualTo(Lists(expected.GetProperty("gi"))));
        Assert.That(go, Is.EqualTo(Lists(expected.GetProperty("go"))));
        Assert.That(Values(x.grad!), Is.EqualTo(Values(Case("posthook_replaces").GetProperty("grad"))));
    }

    [Test]
    public void RegisterHook_InputNeedsNoGradient_SeesNull()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Case("posthook_none_input");
        Tensor x = Leaf();
        Tensor y = x * torch.tensor(2.0, ScalarType.Float64); // Python wraps 2 in a tensor: MulBackward0, two inputs
        double[]?[]? gi = null;
        using IDisposable h = y.GradFn!.RegisterHook((gradInputs, _) =>
        {
            gi = Lists(gradInputs);
            return null;
        });
        y.sum().Backward();
        Assert.That(gi, Is.EqualTo(Lists(expected.GetProperty("seen")[0])));
        Assert.That(Values(x.grad!), Is.EqualTo(Values(expected.GetProperty("grad"))));
    }

    [Test]
    public void RegisterHook_ReturnsNulls_DropsGradients()
    {
        using var scope = torch.NewDisposeScope();
        Assert.That(Values(Case("posthook_drops").GetProperty("grad")), Is.Null);
        Tensor x = Leaf();
        Tensor y = x * torch.tensor(2.0, ScalarType.Float64); // Python wraps 2 in a tensor: MulBackward0, two inputs
        using IDisposable h = y.GradFn!.RegisterHook((gi, _) => [null, null]);
        y.sum().Backward();
        Assert.That(x.grad, Is.Null);
    }

    [Test]
    public void RegisterPrehook_Several_ChainInRegistrationOrder()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Case("prehooks_chain");
        Tensor x = Leaf();
        Tensor y = x * x;
        double[]? seen1 = null, seen2 = null, post = null;
        using IDisposable h1 = y.GradFn!.RegisterPrehook(go =>
        {
            seen1 = Values(go[0]!);
            return [go[0]! + 1];
        });
        using IDisposable h2 = y.GradFn!.RegisterPrehook(go =>
        {
            seen2 = Values(go[0]!);
            return [go[0]! * 2];
        });
        using IDisposable h3 = y.GradFn!.RegisterHook((_, go) =>
        {
            post = Values(go[0]!);
            return null;
        });
        y.sum().Backward();
        Assert.That(seen1, Is.EqualTo(Values(expected.GetProperty("seen1")[0])));
        Assert.That(seen2, Is.EqualTo(Values(expected.GetProperty("seen2")[0])));
        Assert.That(post, Is.EqualTo(Values(expected.GetProperty("post_go")[0])));
        Assert.That(Values(x.grad!), Is.EqualTo(Values(expected.GetProperty("grad"))));
    }

    [Test]
    public void RegisterPrehook_Disposed_IsNotCalled()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Case("removed_not_called");
        Tensor x = Leaf();
        Tensor y = x * x;
        int calls = 0;
        IDisposable h = y.GradFn!.RegisterPrehook(go =>
        {
            calls++;
            return [go[0]! * 100];
        });
        h.Dispose();
        h.Dispose();
        y.sum().Backward();
        Assert.That(calls, Is.EqualTo(expected.GetProperty("calls").GetInt32()));
        Assert.That(Values(x.grad!), Is.EqualTo(Values(expected.GetProperty("grad"))));
    }

    [Test]
    public void RegisterPrehook_OnAccumulateGrad_ReplacesWhatIsAccumulated()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement expected = Case("accumulate_grad");
        Tensor x = Leaf();
        Tensor y = x * torch.tensor(2.0, ScalarType.Float64); // Python wraps 2 in a tensor: MulBackward0, two inputs
        GradFn acc = y.GradFn!.NextFunctions[0].Function!;
        Assert.That(acc.Name, Is.EqualTo(expected.GetProperty("name").GetString()));
        double[]?[]? pre = null, postGi = null, postGo = null;
        using IDisposable h1 = acc.RegisterPrehook(go =>
        {
            pre = Lists(go);
            return [go[0]! * 5];
        });
        using IDisposable h2 = acc.RegisterHook((gi, go) =>
        {
            postGi = Lists(gi);
            postGo = Lists(go);
            return null;
        });
        y.sum().Backward();
        Assert.That(pre, Is.EqualTo(Lists(expected.GetProperty("pre"))));
        Assert.That(postGi, Is.EqualTo(Lists(expected.GetProperty("post_gi"))));
        Assert.That(postGo, Is.EqualTo(Lists(expected.GetProperty("post_go"))));
        Assert.That(Values(x.grad!), Is.EqualTo(Values(expected.GetProperty("grad"))));
    }

    private static IEnumerable<TestCaseData> ErrorCases()
    {
        yield return new TestCaseData("post_count", false, (Func<Tensor?[], Tensor?[]>)(g => [g[0], g[0], g[0]]));
        yield return new TestCaseData("pre_count", true, (Func<Tensor?[], Tensor?[]>)(g => [g[0], g[0]]));
        yield return new TestCaseData("post_none_replaced", false, (Func<Tensor?[], Tensor?[]>)(g => [g[0], torch.ones(3, ScalarType.Float64)]));
        yield return new TestCaseData("post_size", false, (Func<Tensor?[], Tensor?[]>)(g => [torch.ones(2, ScalarType.Float64), null]));
        yield return new TestCaseData("pre_size", true, (Func<Tensor?[], Tensor?[]>)(g => [torch.ones(2, ScalarType.Float64)]));
        yield return new TestCaseData("pre_type", true, (Func<Tensor?[], Tensor?[]>)(g => [torch.ones(3, ScalarType.Float32)]));
    }

    [TestCaseSource(nameof(ErrorCases))]
    public void RegisterHook_WrongResult_ThrowsPyTorchsError(string name, bool pre, Func<Tensor?[], Tensor?[]> result)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf();
        Tensor y = x * torch.tensor(2.0, ScalarType.Float64); // Python wraps 2 in a tensor: MulBackward0, two inputs
        // Lambdas, as in the generator: PyTorch names them '<lambda>'.
        using IDisposable h = pre ? y.GradFn!.RegisterPrehook(g => result(g)) : y.GradFn!.RegisterHook((gi, _) => result(gi));
        var e = Assert.Throws<AutogradException>(() => y.sum().Backward());
        Assert.That(e!.Message, Is.EqualTo(Case("errors").GetProperty(name).GetString()));
        // The failed hook stopped the gradient: nothing from this node was accumulated.
        Assert.That(x.grad, Is.Null);
    }

    private sealed class HookFailure() : Exception("thrown by a node hook");

    [Test]
    public void RegisterPrehook_HookThrows_ReachesTheCallerAsItself()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf();
        Tensor y = x * torch.tensor(2.0, ScalarType.Float64); // Python wraps 2 in a tensor: MulBackward0, two inputs
        using IDisposable h = y.GradFn!.RegisterPrehook(_ => throw new HookFailure());
        Assert.Throws<HookFailure>(() => y.sum().Backward());
        Assert.Throws<HookFailure>(() => Autograd.Grad([y.sum()], [x]));
    }

    [Test]
    public void RegisterHook_RootDisposed_ThrowsObjectDisposed()
    {
        GradFn fn;
        using (var scope = torch.NewDisposeScope())
        {
            Tensor x = Leaf();
            fn = (x * 2).GradFn!;
        }
        Assert.Throws<ObjectDisposedException>(() => fn.RegisterHook((_, _) => null));
        Assert.Throws<ObjectDisposedException>(() => fn.RegisterPrehook(_ => null));
    }

    [Test]
    public void RegisterHook_NullHook_ThrowsArgumentNull()
    {
        using var scope = torch.NewDisposeScope();
        GradFn fn = (Leaf() * 2).GradFn!;
        Assert.Throws<ArgumentNullException>(() => fn.RegisterHook(null!));
        Assert.Throws<ArgumentNullException>(() => fn.RegisterPrehook(null!));
    }

    [Test]
    public void RegisterHook_NodeFreed_DeletesTheHookObjects()
    {
        // Other tests' nodes may still wait for their GradFn's finalizer.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int before = NodeHookObjects.Count;
        RegisterTwoAndDispose(before);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.That(NodeHookObjects.Count, Is.EqualTo(before));
    }

    // Its own frame, so that no GradFn (and the node reference it holds) outlives it on the test's stack.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void RegisterTwoAndDispose(int before)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf();
        Tensor y = x * 2;
        y.GradFn!.RegisterHook((_, _) => null);
        y.GradFn!.RegisterPrehook(_ => null);
        Assert.That(NodeHookObjects.Count, Is.EqualTo(before + 2));
    }
}
