using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Hooks;

/// <summary>Where a hook's exception goes: to the pass that ran it, never to another thread's call.</summary>
public class HookErrorsTests
{
    private sealed class RawPassHookException() : Exception("thrown during TorchSharp's own backward()");

    private const string HookFailure = "hook '0' has changed the size of value";

    [Test]
    public void Record_DuringTorchSharpsOwnBackward_NeverReachesAnotherThreadsCall()
    {
        // Thread R: a throwing hook in a pass AutogradKit did not start; its caller sees libtorch's failure.
        Exception? raw = RunOnNewThread(() =>
        {
            using var scope = torch.NewDisposeScope();
            Tensor x = torch.ones(3).RequiresGrad();
            using IDisposable h = x.RegisterHook(_ => throw new RawPassHookException());
            (x * x).sum().backward();
        });
        Assert.That(raw, Is.InstanceOf<System.Runtime.InteropServices.ExternalException>());
        Assert.That(HookErrors.IsHookFailure(raw!.Message), Is.True, raw.Message);

        // Thread A, later: its own pass fails in a hook that returns a wrong-sized gradient (no exception of its own)
        // and must see its own error, not R's exception; then a clean pass must not throw at all.
        Exception? own = RunOnNewThread(() =>
        {
            using var scope = torch.NewDisposeScope();
            Tensor x = torch.ones(3).RequiresGrad();
            using (x.RegisterHook(g => g[..2]))
            {
                var e = Assert.Throws<AutogradException>(() => (x * x).sum().Backward());
                Assert.That(e!.Message, Is.EqualTo(HookFailure));
            }
            (x * x).sum().Backward();
        });
        Assert.That(own, Is.Null, own?.ToString());
    }

    [Test]
    public void Record_DuringTorchSharpsOwnBackward_IsForgottenByTheThreadsNextPass()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        IDisposable h = x.RegisterHook(_ => throw new RawPassHookException());
        // try/catch, not a Throws constraint: NUnit's constraint catches across native frames, which under Wine 8.0
        // leaves a dead frame on the thread's SEH list that the test's next libtorch error would call.
        System.Runtime.InteropServices.ExternalException? raw = null;
        try
        {
            (x * x).sum().backward();
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            raw = e;
        }
        Assert.That(raw, Is.Not.Null, "TorchSharp's own backward reports the failed pass");
        h.Dispose();
        using (x.RegisterHook(g => g[..2]))
        {
            var e = Assert.Throws<AutogradException>(() => (x * x).sum().Backward());
            // The removed hook's trampoline, at the end of x's list, was reused: the new hook is libtorch's hook 0.
            Assert.That(e!.Message, Is.EqualTo(HookFailure));
        }
        Assert.That(HookErrors.HasOrphanOnThisThread, Is.False);
        (x * x).sum().Backward();
    }

    [Test]
    public void Run_NestedPassInAHook_EachPassGetsItsOwnException()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        Tensor z = torch.ones(3).RequiresGrad();
        var inner = new InvalidOperationException("inner hook");
        Exception? seenInside = null;
        Tensor innerLoss = (z * 2).sum(); // built outside: backward runs its hooks with grad mode off
        using IDisposable failing = z.RegisterHook(_ => throw inner);
        using IDisposable outer = x.RegisterHook(g =>
        {
            seenInside = Assert.Throws<InvalidOperationException>(() => innerLoss.Backward());
            return null;
        });
        (x * x).sum().Backward(); // the outer pass succeeds: the inner exception was its own pass's
        Assert.That(seenInside, Is.SameAs(inner));
        Assert.That(HookGate.ActiveCount, Is.Zero);
    }

    private static Exception? RunOnNewThread(Action action)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        return error;
    }
}
