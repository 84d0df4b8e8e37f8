using System.Text.Json.Nodes;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;

namespace AutogradKit.Tests.GradMode;

public class AutogradGradModeTests
{
    private static JsonNode States => FoundationData.Json["grad_mode"]!;

    /// <summary>(is_grad_enabled, is_inference_mode_enabled) PyTorch reported at <paramref name="key"/>.</summary>
    private static (bool Grad, bool Inference) Expected(string key) =>
        ((bool)States[key]![0]!, (bool)States[key]![1]!);

    private static (bool Grad, bool Inference) Now() => (Autograd.IsGradEnabled, Autograd.IsInferenceModeEnabled);

    [SetUp]
    public void StartFromDefaults()
    {
        Assert.That(Now(), Is.EqualTo(Expected("initial")), "a previous test left a scope open");
        Assert.That(Autograd.IsAnomalyEnabled, Is.EqualTo((bool)States["anomaly_initial"]!));
    }

    [Test]
    public void NoGrad_NestedScopes_FollowPyTorchStates()
    {
        using (Autograd.NoGrad())
        {
            Assert.That(Now(), Is.EqualTo(Expected("no_grad")));
            using (Autograd.EnableGrad())
            {
                Assert.That(Now(), Is.EqualTo(Expected("no_grad/enable_grad")));
                using (Autograd.SetGradEnabled(false))
                {
                    Assert.That(Now(), Is.EqualTo(Expected("no_grad/enable_grad/set_false")));
                }
                Assert.That(Now(), Is.EqualTo(Expected("no_grad/enable_grad after set_false")));
            }
            Assert.That(Now(), Is.EqualTo(Expected("no_grad after enable_grad")));
            using (Autograd.InferenceMode(false))
            {
                Assert.That(Now(), Is.EqualTo(Expected("no_grad/inference_false")));
            }
        }
        Assert.That(Now(), Is.EqualTo(Expected("after no_grad")));
    }

    [Test]
    public void InferenceMode_NestedScopes_FollowPyTorchStates()
    {
        using (Autograd.InferenceMode())
        {
            Assert.That(Now(), Is.EqualTo(Expected("inference")));
            using (Autograd.EnableGrad())
            {
                Assert.That(Now(), Is.EqualTo(Expected("inference/enable_grad")));
            }
            using (Autograd.InferenceMode(false))
            {
                Assert.That(Now(), Is.EqualTo(Expected("inference/inference_false")));
            }
            Assert.That(Now(), Is.EqualTo(Expected("inference after inner")));
        }
        Assert.That(Now(), Is.EqualTo(Expected("after inference")));
    }

    [Test]
    public void SetGradEnabled_True_TurnsGradOnInsideNoGrad()
    {
        using (Autograd.NoGrad())
        using (Autograd.SetGradEnabled(true))
        {
            Assert.That(Autograd.IsGradEnabled, Is.True);
        }
        Assert.That(Autograd.IsGradEnabled, Is.True);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void NoGrad_ResultsDoNotRequireGrad(string device)
    {
        using var x = torch.ones(2, device: DeviceCases.Device(device), requires_grad: true);
        using (Autograd.NoGrad())
        {
            using var y = x * 2;
            Assert.That(y.requires_grad, Is.EqualTo((bool)States["no_grad_result_requires_grad"]!));
        }
        using var z = x * 2;
        Assert.That(z.requires_grad, Is.True);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void InferenceMode_ResultsDoNotRequireGrad(string device)
    {
        using var x = torch.ones(2, device: DeviceCases.Device(device), requires_grad: true);
        using (Autograd.InferenceMode())
        {
            using var y = x * 2;
            Assert.That(y.requires_grad, Is.EqualTo((bool)States["inference_result_requires_grad"]!));
        }
    }

    [Test]
    public void Dispose_Twice_DoesNothing()
    {
        IDisposable outer = Autograd.NoGrad();
        IDisposable inner = Autograd.EnableGrad();
        inner.Dispose();
        Assert.That(Autograd.IsGradEnabled, Is.False);
        inner.Dispose();
        Assert.That(Autograd.IsGradEnabled, Is.False, "a second Dispose must not restore anything");
        outer.Dispose();
        outer.Dispose();
        Assert.That(Autograd.IsGradEnabled, Is.True);
    }

    [Test]
    public void Dispose_OutOfOrder_ThrowsAndChangesNothing()
    {
        IDisposable outer = Autograd.NoGrad();
        IDisposable inner = Autograd.SetGradEnabled(true);
        int thread = Environment.CurrentManagedThreadId;

        var e = Assert.Throws<InvalidOperationException>(outer.Dispose)!;
        Assert.That(e.Message, Is.EqualTo(
            $"The Autograd.NoGrad() scope was disposed on thread {thread} while the inner Autograd.SetGradEnabled(true) scope is still open. " +
            "Scopes must be disposed in the reverse order they were opened. Nothing was changed; dispose the inner scope first, then this one."));
        Assert.That(Autograd.IsGradEnabled, Is.True, "the misplaced Dispose must not change grad mode");

        inner.Dispose();
        Assert.That(Autograd.IsGradEnabled, Is.False);
        outer.Dispose();
        Assert.That(Autograd.IsGradEnabled, Is.True);
    }

    [Test]
    public void Dispose_OutOfOrder_NamesTheScopeDirectlyInside()
    {
        IDisposable a = Autograd.NoGrad();
        IDisposable b = Autograd.InferenceMode();
        IDisposable c = Autograd.EnableGrad();
        try
        {
            var e = Assert.Throws<InvalidOperationException>(a.Dispose)!;
            Assert.That(e.Message, Does.Contain("while the inner Autograd.InferenceMode() scope is still open"));
            Assert.That(Now(), Is.EqualTo((true, true)));
        }
        finally
        {
            c.Dispose();
            b.Dispose();
            a.Dispose();
        }
        Assert.That(Now(), Is.EqualTo(Expected("initial")));
    }

    [Test]
    public void Dispose_OnAnotherThread_ThrowsAndLeavesBothThreadsAsTheyWere()
    {
        IDisposable scope = Autograd.NoGrad();
        int opener = Environment.CurrentManagedThreadId;
        Exception? caught = null;
        int other = 0;
        bool otherGradBefore = false, otherGradAfter = false;
        var thread = new Thread(() =>
        {
            other = Environment.CurrentManagedThreadId;
            otherGradBefore = Autograd.IsGradEnabled;
            try
            {
                scope.Dispose();
            }
            catch (Exception e)
            {
                caught = e;
            }
            otherGradAfter = Autograd.IsGradEnabled;
        });
        thread.Start();
        thread.Join();

        Assert.That(caught, Is.TypeOf<InvalidOperationException>());
        Assert.That(caught!.Message, Is.EqualTo(
            $"The Autograd.NoGrad() scope was opened on thread {opener} but disposed on thread {other}. " +
            "Grad mode is per thread in libtorch, so a scope must be disposed on the thread that opened it (do not await inside it). " +
            $"Nothing was changed on either thread; dispose it on thread {opener}."));
        Assert.That(otherGradBefore, Is.True, "a new thread starts with grad mode on");
        Assert.That(otherGradAfter, Is.True, "the other thread's grad mode must not change");
        Assert.That(Autograd.IsGradEnabled, Is.False, "the opening thread stays in no-grad");

        scope.Dispose();
        Assert.That(Autograd.IsGradEnabled, Is.True);
    }

    [Test]
    public async Task Dispose_AfterAwaitOnAFreshThread_ThrowsAndCanStillBeDisposedOnItsThread()
    {
        // A scope opened on a dedicated thread and disposed by a continuation elsewhere, as an await would do.
        IDisposable? scope = null;
        int opener = 0;
        using var opened = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        bool openerGradInside = true, openerGradAfter = false;
        var owner = new Thread(() =>
        {
            opener = Environment.CurrentManagedThreadId;
            scope = Autograd.InferenceMode();
            openerGradInside = Autograd.IsGradEnabled;
            opened.Set();
            release.Wait();
            scope.Dispose();
            openerGradAfter = Autograd.IsGradEnabled && !Autograd.IsInferenceModeEnabled;
        });
        owner.Start();
        opened.Wait();

        var e = await Task.Factory.StartNew(() =>
        {
            try
            {
                scope!.Dispose();
                return null;
            }
            catch (InvalidOperationException ex)
            {
                return ex;
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        Assert.That(e, Is.Not.Null);
        Assert.That(e!.Message, Does.StartWith($"The Autograd.InferenceMode() scope was opened on thread {opener} but disposed on thread "));
        release.Set();
        owner.Join();
        Assert.That(openerGradInside, Is.False);
        Assert.That(openerGradAfter, Is.True, "the scope was still disposed correctly on its own thread");
    }

    [Test]
    public void NoGrad_IsPerThread()
    {
        using (Autograd.NoGrad())
        {
            bool other = Task.Factory.StartNew(() => Autograd.IsGradEnabled, CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default).Result;
            Assert.That(other, Is.True);
            Assert.That(Autograd.IsGradEnabled, Is.False);
        }
    }

    [Test]
    public void DetectAnomaly_TurnsAnomalyModeOnAndRestoresIt()
    {
        using (Autograd.DetectAnomaly())
        {
            Assert.That(Autograd.IsAnomalyEnabled, Is.EqualTo((bool)States["anomaly_inside"]!));
            Assert.That(Autograd.IsAnomalyCheckNanEnabled, Is.True);
            using (Autograd.DetectAnomaly(checkNan: false))
            {
                Assert.That(Autograd.IsAnomalyEnabled, Is.True);
                Assert.That(Autograd.IsAnomalyCheckNanEnabled, Is.False);
            }
            Assert.That(Autograd.IsAnomalyEnabled, Is.EqualTo((bool)States["anomaly_after_off"]!));
            Assert.That(Autograd.IsAnomalyCheckNanEnabled, Is.True);
        }
        Assert.That(Autograd.IsAnomalyEnabled, Is.EqualTo((bool)States["anomaly_after"]!));
    }

    [Test]
    public void DetectAnomaly_IsProcessWideInLibTorch()
    {
        using (Autograd.DetectAnomaly())
        {
            bool other = Task.Factory.StartNew(() => Autograd.IsAnomalyEnabled, CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default).Result;
            Assert.That(other, Is.True);
        }
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void DetectAnomaly_NanInBackward_ThrowsPyTorchsMessage(string device)
    {
        using var a = torch.tensor(new[] { -1.0f }, device: DeviceCases.Device(device), requires_grad: true);
        using (Autograd.DetectAnomaly())
        {
            using var loss = a.sqrt().sum();
            var e = Assert.Throws<AutogradException>(() => loss.Backward())!;
            Assert.That(e.Message, Is.EqualTo(FoundationData.Error("anomaly_nan")));
            Assert.That(e.NativeMessage, Does.StartWith(e.Message));
        }
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void DetectAnomaly_WithoutNanCheck_LetsNanThrough(string device)
    {
        using var a = torch.tensor(new[] { -1.0f }, device: DeviceCases.Device(device), requires_grad: true);
        using (Autograd.DetectAnomaly(checkNan: false))
        {
            using var loss = a.sqrt().sum();
            loss.Backward();
        }
        using var grad = a.grad!;
        Assert.That(double.IsNaN(FoundationData.Values(grad)[0]), Is.EqualTo((bool)FoundationData.Json["anomaly_no_check_nan_grad_is_nan"]!));
    }

    [Test]
    public void NoGrad_AllocatesOnlyTheScope()
    {
        for (int i = 0; i < 10; i++)
        {
            Autograd.NoGrad().Dispose();
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            using (Autograd.NoGrad())
            {
            }
        }
        long perScope = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        Assert.That(perScope, Is.LessThanOrEqualTo(72), "one small scope object per NoGrad(), nothing else");
    }

    [Test]
    public void Scopes_OpenAndCloseWithoutLeavingState()
    {
        for (int i = 0; i < 100; i++)
        {
            using (Autograd.NoGrad())
            using (Autograd.InferenceMode())
            using (Autograd.DetectAnomaly())
            {
            }
        }
        Assert.That(Now(), Is.EqualTo(Expected("initial")));
        Assert.That(Autograd.IsAnomalyEnabled, Is.False);
    }
}
