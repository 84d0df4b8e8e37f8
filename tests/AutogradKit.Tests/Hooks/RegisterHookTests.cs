using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Hooks;

[TestFixture]
public class RegisterHookTests
{
    private static readonly Lazy<JsonElement> Cases = new(() =>
        TestDataFiles.Json("hooks.json").GetProperty("cases"));

    private static JsonElement Case(string name) => Cases.Value.GetProperty(name);

    private static double[] Expected(string name, string field) => Doubles(Case(name).GetProperty(field));

    private static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    private static double[][] ExpectedSeen(string name, string field) =>
        Case(name).GetProperty(field).EnumerateArray().Select(Doubles).ToArray();

    private static double[] Values(Tensor t) => t.detach().cpu().data<double>().ToArray();

    /// <summary>x = [1, 2, 3], float64, a leaf that requires grad on <paramref name="device"/>.</summary>
    private static Tensor Leaf(string device) =>
        torch.tensor(new double[] { 1, 2, 3 }, dtype: ScalarType.Float64, device: DeviceCases.Device(device)).requires_grad_();

    private static double[] Grad(Tensor x)
    {
        using Tensor g = x.grad ?? throw new AssertionException("x.grad is None");
        return Values(g);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_LeafSeesGradient(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        var seen = new List<double[]>();
        using IDisposable h = x.RegisterHook(g => { seen.Add(Values(g)); return null; });
        (x * x).sum().backward();
        Assert.That(seen, Is.EqualTo(ExpectedSeen("leaf_sees_gradient", "seen")));
        Assert.That(Grad(x), Is.EqualTo(Expected("leaf_sees_gradient", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_NonLeafSeesGradient(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * x;
        var seen = new List<double[]>();
        using IDisposable h = y.RegisterHook(g => { seen.Add(Values(g)); return null; });
        (y * 3).sum().backward();
        Assert.That(seen, Is.EqualTo(ExpectedSeen("nonleaf_sees_gradient", "seen")));
        Assert.That(Grad(x), Is.EqualTo(Expected("nonleaf_sees_gradient", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_ReturnedTensorReplacesLeafGradient(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        using IDisposable h = x.RegisterHook(g => g * 10);
        (x * x).sum().backward();
        Assert.That(Grad(x), Is.EqualTo(Expected("leaf_replacement", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_ReturnedTensorReplacesNonLeafGradient(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * x;
        using IDisposable h = y.RegisterHook(g => g * 2);
        y.sum().backward();
        Assert.That(Grad(x), Is.EqualTo(Expected("nonleaf_replacement", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_ReturningTheGradientItselfKeepsIt(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        using IDisposable h = x.RegisterHook(g => g);
        (x * x).sum().backward();
        Assert.That(Grad(x), Is.EqualTo(Expected("none_keeps", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_NullKeepsGradient(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        int calls = 0;
        using IDisposable h = x.RegisterHook(_ => { calls++; return null; });
        (x * x).sum().backward();
        Assert.That(calls, Is.EqualTo(Case("none_keeps").GetProperty("calls").GetInt32()));
        Assert.That(Grad(x), Is.EqualTo(Expected("none_keeps", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_SeveralHooksRunInRegistrationOrder(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * x;
        var seen1 = new List<double[]>();
        var seen2 = new List<double[]>();
        using IDisposable h1 = y.RegisterHook(g => { seen1.Add(Values(g)); return g + 1; });
        using IDisposable h2 = y.RegisterHook(g => { seen2.Add(Values(g)); return g * 2; });
        (y * 3).sum().backward();
        Assert.That(seen1, Is.EqualTo(ExpectedSeen("order", "seen1")));
        Assert.That(seen2, Is.EqualTo(ExpectedSeen("order", "seen2")));
        Assert.That(Grad(x), Is.EqualTo(Expected("order", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Dispose_RemovesOnlyThatHook_SecondDisposeDoesNothing(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * x;
        int calls1 = 0, calls2 = 0;
        IDisposable h1 = y.RegisterHook(g => { calls1++; return g * 2; });
        using IDisposable h2 = y.RegisterHook(g => { calls2++; return g * 3; });
        h1.Dispose();
        h1.Dispose();
        y.sum().backward();
        Assert.That(calls1, Is.EqualTo(Case("remove_first").GetProperty("calls1").GetInt32()));
        Assert.That(calls2, Is.EqualTo(Case("remove_first").GetProperty("calls2").GetInt32()));
        Assert.That(Grad(x), Is.EqualTo(Expected("remove_first", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_LeafUsedTwiceSeesSummedGradientOnce(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        var seen = new List<double[]>();
        using IDisposable h = x.RegisterHook(g => { seen.Add(Values(g)); return null; });
        (x * x + x * 3).sum().backward();
        Assert.That(seen, Is.EqualTo(ExpectedSeen("leaf_used_twice", "seen")));
        Assert.That(Grad(x), Is.EqualTo(Expected("leaf_used_twice", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_NonLeafUsedTwiceSeesSummedGradientOnce(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * 2;
        var seen = new List<double[]>();
        using IDisposable h = y.RegisterHook(g => { seen.Add(Values(g)); return null; });
        (y * y + y).sum().backward();
        Assert.That(seen, Is.EqualTo(ExpectedSeen("nonleaf_used_twice", "seen")));
        Assert.That(Grad(x), Is.EqualTo(Expected("nonleaf_used_twice", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_WithCreateGraph_ReplacementIsDifferentiable(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * x;
        IDisposable h = y.RegisterHook(g => g * y);
        torch.autograd.backward([y.sum()], create_graph: true);
        using (Tensor first = x.grad!)
        {
            Assert.That(Values(first), Is.EqualTo(Expected("create_graph", "first")));
            Assert.That(first.requires_grad, Is.EqualTo(Case("create_graph").GetProperty("first_requires_grad").GetBoolean()));
        }
        Tensor gx = x.grad!.clone();
        h.Dispose();
        gx.sum().backward();
        Assert.That(Grad(x), Is.EqualTo(Expected("create_graph", "second")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_TensorNotRequiringGrad_ThrowsPyTorchsError(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor t = torch.ones(3, device: DeviceCases.Device(device));
        var e = Assert.Throws<AutogradException>(() => t.RegisterHook(g => g));
        Assert.That(e!.Message, Is.EqualTo(Case("no_requires_grad_error").GetProperty("message").GetString()));
    }

    [Test]
    public void RegisterHook_NullHookOrDisposedTensor_Throws()
    {
        Tensor t = torch.ones(3).requires_grad_();
        Assert.Throws<ArgumentNullException>(() => t.RegisterHook(null!));
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.RegisterHook(g => g));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_WrongSizeReplacement_FailsBackwardWithLibTorchsError(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * x;
        using IDisposable h = y.RegisterHook(g => g[..2]);
        var e = Assert.Throws<AutogradException>(() => HookErrors.Run(() => y.sum().backward()));
        Assert.That(e!.Message, Is.EqualTo(Case("wrong_size_error").GetProperty("libtorch_message").GetString()));
    }

    private sealed class HookFailedException(string message) : Exception(message);

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_HookThrows_OriginalExceptionReachesCallerAndGraphStillWorks(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * x;
        var thrown = new HookFailedException("boom");
        IDisposable h = y.RegisterHook(_ => throw thrown);
        var e = Assert.Throws<HookFailedException>(() => HookErrors.Run(() => y.sum().backward(retain_graph: true)));
        Assert.That(e, Is.SameAs(thrown));
        Assert.That(HookErrors.PendingCount, Is.Zero);
        Assert.That(x.grad, Is.Null, "a failed pass must not accumulate a gradient");

        // The graph survives the failed pass (retain_graph) and works once the hook is gone.
        h.Dispose();
        HookErrors.Run(() => y.sum().backward());
        Assert.That(Grad(x), Is.EqualTo(Expected("leaf_sees_gradient", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_HookThrows_BackwardRethrowsTheOriginalException(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * x;
        var thrown = new HookFailedException("boom");
        using IDisposable h = x.RegisterHook(_ => throw thrown);
        var e = Assert.Throws<HookFailedException>(() => y.sum().Backward());
        Assert.That(e, Is.SameAs(thrown));
        Assert.That(HookErrors.PendingCount, Is.Zero);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_HookThrows_GradRethrowsTheOriginalExceptionAndRestoresGrad(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * x;
        var thrown = new HookFailedException("boom");
        using IDisposable h = y.RegisterHook(_ => throw thrown);
        var e = Assert.Throws<HookFailedException>(() => Autograd.Grad([y.sum()], [x]));
        Assert.That(e, Is.SameAs(thrown));
        Assert.That(HookErrors.PendingCount, Is.Zero);
        Assert.That(x.grad, Is.Null, "Grad leaves .grad as it found it");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_HookThrows_LibTorchReportsAFailedPass(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        using IDisposable h = x.RegisterHook(_ => throw new InvalidOperationException("boom"));
        var e = Assert.Throws<ExternalException>(() => (x * x).sum().backward());
        Assert.That(Ensure.FirstLine(e!.Message), Is.EqualTo(Case("wrong_size_error").GetProperty("libtorch_message").GetString()));
        Assert.That(HookErrors.IsHookFailure(e.Message), Is.True, e.Message);
        HookErrors.DiscardPendingOfThisThread();
        Assert.That(x.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_HookReturnsDisposedTensor_OriginalExceptionReachesCaller(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        using IDisposable h = x.RegisterHook(g =>
        {
            Tensor r = g * 2;
            r.Dispose();
            return r;
        });
        Assert.Throws<InvalidOperationException>(() => HookErrors.Run(() => (x * x).sum().backward()));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_HookRunsOutsideCallersDisposeScope(string device)
    {
        Tensor? kept = null;
        using (var outer = torch.NewDisposeScope())
        {
            Tensor x = Leaf(device);
            using IDisposable h = x.RegisterHook(g =>
            {
                kept = g.clone().DetachFromDisposeScope();
                return null;
            });
            (x * x).sum().backward();
        }
        Assert.That(kept, Is.Not.Null);
        Assert.That(Values(kept!), Is.EqualTo(ExpectedSeen("leaf_sees_gradient", "seen")[0]));
        kept!.Dispose();
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Dispose_TenThousandRegisterRemoveCycles_LeaveTheTableAsItWas(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        int before = HookTable.Count;
        for (int i = 0; i < 10_000; i++)
        {
            x.RegisterHook(g => g).Dispose();
        }
        Assert.That(HookTable.Count, Is.EqualTo(before));
        (x * x).sum().backward();
        Assert.That(Grad(x), Is.EqualTo(Expected("none_keeps", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_DisposedTensor_ReleasesClosure(string device)
    {
        Tensor x = Leaf(device);
        Tensor y = x * x;
        (TensorHookHandle handle, WeakReference weak) = RegisterCapturing(y);
        Assert.That(HookTable.Contains(handle.Id), Is.True);
        y.Dispose();
        x.Dispose();
        Assert.That(HookTable.Contains(handle.Id), Is.False);
        handle.Dispose(); // the tensor is gone: nothing to do, nothing to crash
        CollectGarbage();
        Assert.That(weak.IsAlive, Is.False);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_TensorCollectedWithoutDispose_ReleasesClosure(string device)
    {
        (long id, WeakReference weak) = RegisterOnGarbage(device);
        CollectGarbage();
        Assert.That(HookTable.Contains(id), Is.False);
        CollectGarbage();
        Assert.That(weak.IsAlive, Is.False);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Dispose_AfterInPlaceOpReplacedTheHookList_IsSafeAndRemovesTheHook(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(device);
        Tensor y = x * 2;
        int calls = 0;
        IDisposable h = y.RegisterHook(g => { calls++; return null; });
        y.add_(1); // new grad_fn: libtorch starts a new hook list for y
        using IDisposable later = y.RegisterHook(g => g);
        h.Dispose();
        (y * y).sum().backward();
        Assert.That(calls, Is.Zero);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_UndefinedGradient_HookNotCalled(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new double[] { 1, 2 }, dtype: ScalarType.Float64, device: DeviceCases.Device(device)).requires_grad_();
        Tensor[] parts = x.unbind();
        int calls = 0;
        using IDisposable h = parts[0].RegisterHook(g => { calls++; return g; });
        (parts[1] * 3).backward();
        Assert.That(calls, Is.EqualTo(Case("undefined_gradient").GetProperty("autogradkit_calls").GetInt32()));
        Assert.That(Grad(x), Is.EqualTo(Expected("undefined_gradient", "grad")));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void RegisterHook_ConcurrentPassesOnSeveralThreads_EachSeesItsOwnHooksAndErrors(string device)
    {
        double[] expected = Expected("leaf_replacement", "grad");
        Parallel.For(0, 4, worker =>
        {
            for (int i = 0; i < 50; i++)
            {
                using var scope = torch.NewDisposeScope();
                Tensor x = Leaf(device);
                if ((worker + i) % 3 == 0)
                {
                    var thrown = new HookFailedException($"worker {worker} pass {i}");
                    using IDisposable failing = x.RegisterHook(_ => throw thrown);
                    var e = Assert.Throws<HookFailedException>(() => HookErrors.Run(() => (x * x).sum().backward()));
                    Assert.That(e, Is.SameAs(thrown));
                }
                else
                {
                    using IDisposable h = x.RegisterHook(g => g * 10);
                    HookErrors.Run(() => (x * x).sum().backward());
                    Assert.That(Grad(x), Is.EqualTo(expected));
                }
            }
        });
    }

    [Test]
    public void Invoke_LibTorchNeverAsksForTheHooksTypeInfo()
    {
        using (var scope = torch.NewDisposeScope())
        {
            Tensor x = Leaf("cpu");
            Tensor y = x * x;
            using IDisposable h = y.RegisterHook(g => g * 2);
            y.sum().backward();
        }
        Assert.That(StdFunctionHooks.TypeInfoRequests, Is.Zero);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Func<Tensor, Tensor?> HookCapturing(object? captured) => g => captured is null ? g : null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (TensorHookHandle Handle, WeakReference Captured) RegisterCapturing(Tensor t)
    {
        var captured = new object();
        var handle = (TensorHookHandle)t.RegisterHook(HookCapturing(captured));
        return (handle, new WeakReference(captured));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (long Id, WeakReference Captured) RegisterOnGarbage(string device)
    {
        (TensorHookHandle handle, WeakReference weak) = RegisterCapturing(Leaf(device));
        return (handle.Id, weak);
    }

    private static void CollectGarbage()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
