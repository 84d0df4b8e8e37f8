using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;

namespace AutogradKit.Tests.GradMode;

public class AutogradGradModeTests
{
    private static JsonElement States => FoundationData.Json.GetProperty("grad_mode");

    /// <summary>(is_grad_enabled, is_inference_mode_enabled) PyTorch reported at <paramref name="key"/>.</summary>
    private static (bool Grad, bool Inference) Expected(string key) =>
        (States.GetProperty(key)[0].GetBoolean(), States.GetProperty(key)[1].GetBoolean());

    private static (bool Grad, bool Inference) Now() => (Autograd.IsGradEnabled, Autograd.IsInferenceModeEnabled);

    [SetUp]
    public void StartFromDefaults()
    {
        Assert.That(Now(), Is.EqualTo(Expected("initial")), "a previous test left a scope open");
        Assert.That(Autograd.IsAnomalyEnabled, Is.EqualTo(States.GetProperty("anomaly_initial").GetBoolean()));
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
            Assert.That(y.requires_grad, Is.EqualTo(States.GetProperty("no_grad_result_requires_grad").GetBoolean()));
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
            Assert.That(y.requires_grad, Is.EqualTo(States.GetProperty("inference_result_requires_grad").GetBoolean()));
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

        var e = Assert.Throws<InvalidOperationException>(outer.Dispose)!;
        Assert.That(e.Message, Is.EqualTo(
            "The Autograd.NoGrad() scope was disposed while the inner Autograd.SetGradEnabled(true) scope is still open. " +
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
    public void DetectAnomaly_TurnsAnomalyModeOnAndRestoresIt()
    {
        using (Autograd.DetectAnomaly())
        {
            Assert.That(Autograd.IsAnomalyEnabled, Is.EqualTo(States.GetProperty("anomaly_inside").GetBoolean()));
            Assert.That(Autograd.IsAnomalyCheckNanEnabled, Is.True);
            using (Autograd.DetectAnomaly(checkNan: false))
            {
                Assert.That(Autograd.IsAnomalyEnabled, Is.True);
                Assert.That(Autograd.IsAnomalyCheckNanEnabled, Is.False);
            }
            Assert.That(Autograd.IsAnomalyEnabled, Is.EqualTo(States.GetProperty("anomaly_after_off").GetBoolean()));
            Assert.That(Autograd.IsAnomalyCheckNanEnabled, Is.True);
        }
        Assert.That(Autograd.IsAnomalyEnabled, Is.EqualTo(States.GetProperty("anomaly_after").GetBoolean()));
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
            var e = Assert.Throws<AnomalyException>(() => loss.Backward())!;
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
        Assert.That(double.IsNaN(FoundationData.Values(grad)[0]), Is.EqualTo(FoundationData.Json.GetProperty("anomaly_no_check_nan_grad_is_nan").GetBoolean()));
    }

    [Test]
    public void NoGrad_AllocatesOnlyTheScopeAndItsFlowContext()
    {
        // Measured in a flow with no other AsyncLocal values (a thread outside the test runner's flow), whose
        // value map is the smallest.
        long perScope = 0;
        var thread = new Thread(() =>
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
            perScope = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        });
        thread.UnsafeStart();
        thread.Join();
        // The scope (48 B) and the AsyncLocal write that puts it in the flow: a context (40 B), its one-value map
        // (32 B) and, when the thread was in the default context, the context's notification list (32 B).
        // Disposing allocates nothing: it goes back to the context from before.
        Assert.That(perScope, Is.LessThanOrEqualTo(152), "the scope and its flow context per NoGrad(), nothing else");
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
