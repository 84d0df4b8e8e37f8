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

    /// <summary>
    /// One recorded pass: what each hook saw (a list of gradients per field of the case, e.g. <c>seen1</c>) and how
    /// often it ran (per <c>calls*</c> field).
    /// </summary>
    public sealed class HookLog
    {
        public Dictionary<string, List<double[]>> Seen { get; } = [];

        /// <summary>A hook that records each gradient under <paramref name="field"/>, then returns <paramref name="then"/>'s result (null: keeps it).</summary>
        public Func<Tensor, Tensor?> See(string field, Func<Tensor, Tensor?>? then = null)
        {
            List<double[]> seen = Seen[field] = [];
            return g =>
            {
                seen.Add(Values(g));
                return then?.Invoke(g);
            };
        }
    }

    /// <summary>
    /// A hook scenario of hooks.json: <see cref="Run"/> builds its graph on <c>device</c>, registers hooks through the
    /// log and runs backward, returning the leaf whose <c>.grad</c> the case gives. Fields named <c>seen*</c> are
    /// compared with what the hooks saw, <c>*calls*</c> with how often they ran, <c>grad</c> with the leaf's gradient.
    /// </summary>
    public sealed record HookScenario(string Name, string Case, Func<string, HookLog, Tensor> Run)
    {
        public override string ToString() => Name;
    }

    private static readonly HookScenario[] Scenarios =
    [
        new("leaf sees its gradient", "leaf_sees_gradient", (d, log) =>
        {
            Tensor x = Leaf(d);
            x.RegisterHook(log.See("seen"));
            (x * x).sum().backward();
            return x;
        }),
        new("non-leaf sees its gradient", "nonleaf_sees_gradient", (d, log) =>
        {
            Tensor x = Leaf(d);
            Tensor y = x * x;
            y.RegisterHook(log.See("seen"));
            (y * 3).sum().backward();
            return x;
        }),
        new("returned tensor replaces a leaf's gradient", "leaf_replacement", (d, log) =>
        {
            Tensor x = Leaf(d);
            x.RegisterHook(g => g * 10);
            (x * x).sum().backward();
            return x;
        }),
        new("returned tensor replaces a non-leaf's gradient", "nonleaf_replacement", (d, log) =>
        {
            Tensor x = Leaf(d);
            Tensor y = x * x;
            y.RegisterHook(g => g * 2);
            y.sum().backward();
            return x;
        }),
        new("returning the gradient itself keeps it", "none_keeps", (d, log) =>
        {
            Tensor x = Leaf(d);
            x.RegisterHook(log.See("calls", g => g));
            (x * x).sum().backward();
            return x;
        }),
        new("null keeps the gradient", "none_keeps", (d, log) =>
        {
            Tensor x = Leaf(d);
            x.RegisterHook(log.See("calls"));
            (x * x).sum().backward();
            return x;
        }),
        new("several hooks run in registration order", "order", (d, log) =>
        {
            Tensor x = Leaf(d);
            Tensor y = x * x;
            y.RegisterHook(log.See("seen1", g => g + 1));
            y.RegisterHook(log.See("seen2", g => g * 2));
            (y * 3).sum().backward();
            return x;
        }),
        new("Dispose removes only that hook; a second Dispose does nothing", "remove_first", (d, log) =>
        {
            Tensor x = Leaf(d);
            Tensor y = x * x;
            IDisposable h1 = y.RegisterHook(log.See("calls1", g => g * 2));
            y.RegisterHook(log.See("calls2", g => g * 3));
            h1.Dispose();
            h1.Dispose();
            y.sum().backward();
            return x;
        }),
        new("a leaf used twice sees the summed gradient once", "leaf_used_twice", (d, log) =>
        {
            Tensor x = Leaf(d);
            x.RegisterHook(log.See("seen"));
            (x * x + x * 3).sum().backward();
            return x;
        }),
        new("a non-leaf used twice sees the summed gradient once", "nonleaf_used_twice", (d, log) =>
        {
            Tensor x = Leaf(d);
            Tensor y = x * 2;
            y.RegisterHook(log.See("seen"));
            (y * y + y).sum().backward();
            return x;
        }),
        // PyTorch calls a Python hook with None for an undefined gradient; libtorch's C++ hooks (ours) are not called.
        new("an undefined gradient does not call the hook", "undefined_gradient", (d, log) =>
        {
            Tensor x = torch.tensor(new double[] { 1, 2 }, dtype: ScalarType.Float64, device: DeviceCases.Device(d)).requires_grad_();
            Tensor[] parts = x.unbind();
            parts[0].RegisterHook(log.See("autogradkit_calls", g => g));
            (parts[1] * 3).backward();
            return x;
        }),
    ];

    private static IEnumerable<TestCaseData> ScenarioCases() =>
        DeviceCases.Cross(Scenarios.Select(s => new object?[] { s }), row => ((HookScenario)row[0]!).Name);

    [TestCaseSource(nameof(ScenarioCases))]
    public void RegisterHook_Scenario_MatchesPyTorch(string device, HookScenario scenario)
    {
        using var scope = torch.NewDisposeScope();
        var log = new HookLog();
        Tensor x = scenario.Run(device, log);
        JsonElement expected = Case(scenario.Case);
        int checkedFields = 0;
        foreach (JsonProperty field in expected.EnumerateObject())
        {
            if (field.Name == "grad")
            {
                Assert.That(Grad(x), Is.EqualTo(Doubles(field.Value)), field.Name);
            }
            else if (field.Name.StartsWith("seen", StringComparison.Ordinal))
            {
                Assert.That(log.Seen[field.Name], Is.EqualTo(ExpectedSeen(scenario.Case, field.Name)), field.Name);
            }
            else if (log.Seen.TryGetValue(field.Name, out List<double[]>? calls))
            {
                Assert.That(calls.Count, Is.EqualTo(field.Value.GetInt32()), field.Name);
            }
            else
            {
                continue; // PyTorch-only facts (python_calls_with_none)
            }
            checkedFields++;
        }
        Assert.That(checkedFields, Is.GreaterThan(0), "the case checks nothing");
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
        Assert.That(HookErrors.HasOrphanOnThisThread, Is.False);
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
        Assert.That(HookErrors.HasOrphanOnThisThread, Is.False);
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
        Assert.That(HookErrors.HasOrphanOnThisThread, Is.False);
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
        Assert.That(HookErrors.HasOrphanOnThisThread, Is.True, "kept for this thread, never for another");
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
    public void Dispose_TenThousandRegisterRemoveCycles_DropEveryClosureAndTheTensorFreesTheRest(string device)
    {
        int entriesBefore = HookTable.Count;
        int liveBefore = HookTable.LiveHooks;
        using (var scope = torch.NewDisposeScope())
        {
            Tensor x = Leaf(device);
            for (int i = 0; i < 10_000; i++)
            {
                x.RegisterHook(g => g * 100).Dispose();
            }
            Assert.That(HookTable.LiveHooks, Is.EqualTo(liveBefore));
            Assert.That(HookTable.Count, Is.EqualTo(entriesBefore + 1), "each registration reuses the removed hook's trampoline");
            (x * x).sum().backward();
            Assert.That(Grad(x), Is.EqualTo(Expected("none_keeps", "grad")));
        }
        // The removed hook's trampoline stayed in libtorch's list (remove_hook is never called) until it was freed.
        Assert.That(HookTable.Count, Is.EqualTo(entriesBefore));
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
