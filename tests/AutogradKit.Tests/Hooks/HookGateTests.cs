using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Hooks;

/// <summary>Registration waits for the AutogradKit passes of other threads, never for its own thread's.</summary>
public class HookGateTests
{
    [Test]
    public void Register_WhileAnotherThreadsPassRuns_WaitsUntilThePassEnds()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        Tensor other = torch.ones(3).RequiresGrad();
        using var inHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using IDisposable blocking = x.RegisterHook(g =>
        {
            inHook.Set();
            release.Wait(TimeSpan.FromSeconds(10));
            return null;
        });
        Task pass = Task.Factory.StartNew(() => (x * x).sum().Backward(), TaskCreationOptions.LongRunning);
        Assert.That(inHook.Wait(TimeSpan.FromSeconds(10)), Is.True);

        Task<IDisposable> register = Task.Factory.StartNew(() => other.RegisterHook(g => g), TaskCreationOptions.LongRunning);
        Assert.That(register.Wait(TimeSpan.FromMilliseconds(300)), Is.False, "registered while a pass ran on another thread");
        release.Set();
        Assert.That(pass.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(register.Wait(TimeSpan.FromSeconds(10)), Is.True);
        register.Result.Dispose();
        using Tensor grad = x.grad!;
        Assert.That(grad.data<float>().ToArray(), Is.EqualTo(new[] { 2f, 2f, 2f }));
    }

    [Test]
    public void Register_FromHooksOfPassesOnTwoThreads_TakeTurnsWithoutDeadlock()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        Tensor loss = (x * 2).sum();
        using var bothInside = new Barrier(2);
        int registered = 0;
        using IDisposable h = x.RegisterHook(g =>
        {
            // Both passes are inside a hook when both register: each must not wait for the other's pass.
            bothInside.SignalAndWait(TimeSpan.FromSeconds(10));
            x.RegisterHook(k => k).Dispose();
            Interlocked.Increment(ref registered);
            return null;
        });
        Task[] passes = Enumerable.Range(0, 2)
            .Select(_ => Task.Factory.StartNew(() => loss.Backward(retainGraph: true), TaskCreationOptions.LongRunning))
            .ToArray();
        Assert.That(Task.WaitAll(passes, TimeSpan.FromSeconds(20)), Is.True, "deadlock");
        Assert.That(registered, Is.EqualTo(2));
        using Tensor grad = x.grad!;
        Assert.That(grad.data<float>().ToArray(), Is.EqualTo(new[] { 4f, 4f, 4f }));
    }
}
