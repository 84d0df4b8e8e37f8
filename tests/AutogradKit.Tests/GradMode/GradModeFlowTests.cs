using System.Collections.Concurrent;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;

namespace AutogradKit.Tests.GradMode;

/// <summary>
/// Grad mode follows the async flow (docs/api.md, "Grad mode"): across real thread hops, into work started inside a
/// scope, and never left behind on a thread the flow passed through.
/// </summary>
public class GradModeFlowTests
{
    private static readonly (bool Grad, bool Inference) Defaults = (true, false);

    private static (bool Grad, bool Inference) Now() => (Autograd.IsGradEnabled, Autograd.IsInferenceModeEnabled);

    /// <summary>What the current thread's libtorch mode means: whether a result of an op records a graph.</summary>
    private static bool RecordsGraph()
    {
        using var scope = torch.NewDisposeScope();
        using var w = torch.ones(2, requires_grad: true);
        return (w * 2).requires_grad;
    }

    [SetUp]
    public void StartFromDefaults() => Assert.That(Now(), Is.EqualTo(Defaults), "a previous test left a scope open");

    [Test]
    public async Task NoGrad_AcrossThreadHops_EveryContinuationHasGradOffAndEveryThreadGetsItsModeBack()
    {
        var hops = new List<ThreadHop>();
        var seen = new List<(int Thread, bool Grad, bool Records)>();
        int opener = Environment.CurrentManagedThreadId;
        using (Autograd.NoGrad())
        {
            for (int i = 0; i < 4; i++)
            {
                var hop = new ThreadHop();
                hops.Add(hop);
                await hop;
                seen.Add((Environment.CurrentManagedThreadId, Autograd.IsGradEnabled, RecordsGraph()));
            }
        }
        Assert.That(Autograd.IsGradEnabled, Is.True, "disposed on the last hop thread, the flow is back to grad on");
        // Managed thread ids are reused once a thread ends, so each continuation is matched with its own hop.
        Assert.That(seen.Select(s => s.Thread), Is.EqualTo(hops.Select(h => h.ThreadId)), "every continuation ran on its hop's new thread");
        Assert.That(seen.Select(s => s.Thread), Has.None.EqualTo(opener));
        Assert.That(seen.Select(s => (s.Grad, s.Records)), Is.All.EqualTo((false, false)));
        foreach (ThreadHop hop in hops.Take(3))
        {
            Assert.That(hop.Join(), Is.EqualTo(Defaults), "a thread the flow left has its own mode again");
        }
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    public async Task NoGrad_AcrossDelayYieldOrConfigureAwait_EveryContinuationHasGradOff(int how)
    {
        var grads = new List<bool>();
        await Task.Run(async () =>
        {
            using (Autograd.NoGrad())
            {
                for (int i = 0; i < 5; i++)
                {
                    switch (how)
                    {
                        case 0: await Task.Delay(5); break;
                        case 1: await Task.Yield(); break;
                        default: await Task.Delay(5).ConfigureAwait(false); break;
                    }
                    grads.Add(Autograd.IsGradEnabled);
                    grads.Add(RecordsGraph());
                }
            }
            grads.Add(!Autograd.IsGradEnabled); // false expected: grad is on again after Dispose
        });
        Assert.That(grads, Is.All.False);
        Assert.That(Autograd.IsGradEnabled, Is.True);
    }

    [Test]
    public async Task NoGrad_AwaitedInsideTaskRun_LeavesNoThreadPoolThreadInNoGrad()
    {
        // The repro of issue 10 §4, 40 times at once, then 400 unrelated work items.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(async () =>
        {
            using (Autograd.NoGrad())
            {
                await Task.Delay(20);
                Assert.That(Autograd.IsGradEnabled, Is.False);
            }
        })));
        await AssertThreadPoolHasGradOn();
    }

    [Test]
    public async Task NoGrad_NeverDisposedInAWorkItem_EndsWithTheWorkItem()
    {
        // A leaked scope stays in its flow only: when the work item ends, its pool thread gets its own mode back.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
        {
            _ = i % 2 == 0 ? Autograd.NoGrad() : Autograd.InferenceMode();
        })));
        await AssertThreadPoolHasGradOn();
    }

    [Test]
    public async Task TaskRun_InsideScope_InheritsItAndLeavesThePoolClean()
    {
        bool[] inside;
        using (Autograd.NoGrad())
        {
            inside = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
            {
                bool before = RecordsGraph();
                await Task.Yield();
                return before || Autograd.IsGradEnabled;
            })));
        }
        Assert.That(inside, Is.All.False);
        await AssertThreadPoolHasGradOn();
    }

    [Test]
    public async Task ParallelFor_InsideScope_InheritsItAndLeavesThePoolClean()
    {
        var seen = new ConcurrentBag<(bool Grad, bool Inference)>();
        using (Autograd.InferenceMode())
        {
            Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ => seen.Add(Now()));
        }
        Assert.That(seen, Has.Count.EqualTo(200));
        Assert.That(seen, Is.All.EqualTo((false, true)));
        await AssertThreadPoolHasGradOn();
    }

    [Test]
    public void Thread_StartedInsideScope_InheritsIt_UnsafeStart_HasItsOwnMode()
    {
        (bool, bool) inherited = default, unsafeStarted = default;
        using (Autograd.InferenceMode())
        {
            var t = new Thread(() => inherited = Now());
            t.Start();
            var u = new Thread(() => unsafeStarted = Now());
            u.UnsafeStart();
            t.Join();
            u.Join();
        }
        Assert.That(inherited, Is.EqualTo((false, true)));
        Assert.That(unsafeStarted, Is.EqualTo(Defaults));
    }

    [Test]
    public async Task NestedScopes_AcrossHops_EachContinuationSeesItsInnermostScope()
    {
        var hops = new List<ThreadHop>();
        async Task Hop()
        {
            var hop = new ThreadHop();
            hops.Add(hop);
            await hop;
        }

        using (Autograd.NoGrad())
        {
            await Hop();
            Assert.That(Now(), Is.EqualTo((false, false)));
            using (Autograd.EnableGrad())
            {
                await Hop();
                Assert.That(Now(), Is.EqualTo((true, false)));
                using (Autograd.InferenceMode())
                {
                    await Hop();
                    Assert.That(Now(), Is.EqualTo((false, true)));
                    using (Autograd.EnableGrad())
                    {
                        await Hop();
                        Assert.That(Now(), Is.EqualTo((true, true)), "enable_grad inside inference_mode, as in PyTorch");
                    }
                    Assert.That(Now(), Is.EqualTo((false, true)));
                    await Hop();
                    Assert.That(Now(), Is.EqualTo((false, true)));
                }
                Assert.That(Now(), Is.EqualTo((true, false)));
                await Hop();
            }
            Assert.That(Now(), Is.EqualTo((false, false)));
            await Hop();
            Assert.That(Now(), Is.EqualTo((false, false)));
        }
        Assert.That(Now(), Is.EqualTo(Defaults));
        foreach (ThreadHop hop in hops.Take(hops.Count - 1))
        {
            Assert.That(hop.Join(), Is.EqualTo(Defaults), "every hop thread got its own grad and inference mode back");
        }
    }

    [Test]
    public async Task Dispose_OutOfOrderAfterHop_ThrowsAndChangesNothing()
    {
        IDisposable outer = Autograd.NoGrad();
        IDisposable inner = Autograd.InferenceMode();
        await new ThreadHop();
        Assert.That(outer.Dispose, Throws.InvalidOperationException.With.Message.Contains(
            "while the inner Autograd.InferenceMode() scope is still open"));
        Assert.That(Now(), Is.EqualTo((false, true)), "the refused Dispose changed nothing");
        await new ThreadHop();
        Assert.That(Now(), Is.EqualTo((false, true)));
        inner.Dispose();
        Assert.That(Now(), Is.EqualTo((false, false)));
        outer.Dispose();
        Assert.That(Now(), Is.EqualTo(Defaults));
    }

    [Test]
    public async Task Dispose_InWorkStartedInsideIt_EndsItForThatWorkOnly()
    {
        IDisposable scope = Autograd.NoGrad();
        (bool Grad, bool Inference) childAfter = await Task.Run(() =>
        {
            scope.Dispose();
            return Now();
        });
        Assert.That(childAfter, Is.EqualTo(Defaults));
        Assert.That(Autograd.IsGradEnabled, Is.False, "the parent flow still has its scope");
        scope.Dispose();
        Assert.That(Autograd.IsGradEnabled, Is.True);
        scope.Dispose();
        Assert.That(Autograd.IsGradEnabled, Is.True, "a second Dispose does nothing");
    }

    [Test]
    public async Task Dispose_UnderSuppressedFlow_ThrowsAndChangesNothing()
    {
        IDisposable scope = Autograd.NoGrad();
        Task<(Exception? Error, bool Grad)> work;
        using (ExecutionContext.SuppressFlow())
        {
            work = Task.Run(() =>
            {
                bool grad = Autograd.IsGradEnabled;
                try
                {
                    scope.Dispose();
                    return ((Exception?)null, grad);
                }
                catch (InvalidOperationException e)
                {
                    return (e, grad);
                }
            });
        }
        (Exception? error, bool gradInWork) = await work;
        Assert.That(gradInWork, Is.True, "work started with the flow suppressed runs in its thread's own mode");
        Assert.That(error, Is.Not.Null);
        Assert.That(error!.Message, Is.EqualTo(
            "The Autograd.NoGrad() scope is not open in the async flow disposing it. Grad mode flows with the " +
            "ExecutionContext: a scope can be disposed by the code that opened it (after any await) or by work " +
            "started inside it, not by code whose flow was cut off from it (ExecutionContext.SuppressFlow, " +
            "Thread.UnsafeStart, ThreadPool.UnsafeQueueUserWorkItem). Nothing was changed; dispose it in its own flow."));
        Assert.That(Autograd.IsGradEnabled, Is.False);
        scope.Dispose();
        Assert.That(Autograd.IsGradEnabled, Is.True);
    }

    [Test]
    public async Task RawSetGradEnabled_InsideScope_LastsUntilTheFlowLeavesTheThread()
    {
        using (Autograd.NoGrad())
        {
            IDisposable raw = torch.set_grad_enabled(true);
            Assert.That(Autograd.IsGradEnabled, Is.True, "TorchSharp's call changes this thread now");
            using (Autograd.NoGrad())
            {
                Assert.That(Autograd.IsGradEnabled, Is.False);
            }
            Assert.That(Autograd.IsGradEnabled, Is.True, "the inner scope restores what it replaced, as in PyTorch");
            var hop = new ThreadHop();
            await hop;
            Assert.That(Autograd.IsGradEnabled, Is.False, "a continuation resumes with its innermost AutogradKit scope");
            raw.Dispose(); // restores, on this thread, what it saw when made: grad off
            Assert.That(Autograd.IsGradEnabled, Is.False);
        }
        Assert.That(Autograd.IsGradEnabled, Is.True);
    }

    [Test]
    public void RawSetGradEnabled_OutsideScopes_IsTheThreadsOwnModeAndDoesNotFlow()
    {
        (bool Own, bool InScope, bool AfterScope, bool InTask) seen = default;
        var t = new Thread(() =>
        {
            IDisposable raw = torch.set_grad_enabled(false);
            bool inScope;
            using (Autograd.EnableGrad())
            {
                inScope = Autograd.IsGradEnabled;
            }
            bool inTask = Task.Run(() => Autograd.IsGradEnabled).Result;
            seen = (!Autograd.IsGradEnabled, inScope, !Autograd.IsGradEnabled, inTask);
            raw.Dispose();
        });
        t.Start();
        Assert.That(t.Join(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(seen, Is.EqualTo((true, true, true, true)),
            "own mode off; EnableGrad on; back to the thread's own mode; a task does not inherit TorchSharp's call");
    }

    [Test]
    public async Task Scope_OpenedInAnAsyncMethod_EndsForTheCallerWhenTheMethodAwaits()
    {
        static async Task<IDisposable> OpenAndAwait()
        {
            IDisposable scope = Autograd.NoGrad();
            await Task.Yield();
            Assert.That(Autograd.IsGradEnabled, Is.False);
            return scope;
        }

        IDisposable scope = await OpenAndAwait();
        Assert.That(Autograd.IsGradEnabled, Is.True, "as with any AsyncLocal<T>, the caller never had the scope");
        Assert.That(scope.Dispose, Throws.InvalidOperationException, "not in this flow and never disposed here: refused");
    }

    [Test]
    public async Task DetectAnomaly_ScopesOfConcurrentFlowsClosedInAnyOrder_LeaveItOff()
    {
        using var opened = new Barrier(2);
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task a = Task.Run(async () =>
        {
            using (Autograd.DetectAnomaly())
            {
                opened.SignalAndWait();
                await first.Task;
            }
        });
        Task b = Task.Run(() =>
        {
            using (Autograd.DetectAnomaly(checkNan: false))
            {
                opened.SignalAndWait();
                Assert.That(Autograd.IsAnomalyEnabled, Is.True);
            }
            Assert.That(Autograd.IsAnomalyEnabled, Is.True, "the other flow's scope is still open");
            first.SetResult();
        });
        await Task.WhenAll(a, b);
        Assert.That(Autograd.IsAnomalyEnabled, Is.False);
    }

    private static async Task AssertThreadPoolHasGradOn()
    {
        bool[] records = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => Task.Run(RecordsGraph)));
        Assert.That(records.Count(r => !r), Is.Zero, "work items that found their pool thread in no-grad");
        bool[] inference = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => Autograd.IsInferenceModeEnabled)));
        Assert.That(inference, Is.All.False);
    }
}
