using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Support;

[NoTensorLeaks(Strict = true)]
public class TensorLeakCheckTests
{
    private static readonly List<Tensor> Rooted = [];

    [Test]
    public void SettledLiveCount_CountsATensorSomethingStillReferences()
    {
        long before = TensorLeakMonitor.SettledLiveCount();
        Rooted.Add(torch.ones(3));
        try
        {
            Assert.That(TensorLeakMonitor.SettledLiveCount() - before, Is.EqualTo(1));
        }
        finally
        {
            Rooted[0].Dispose();
            Rooted.Clear();
        }
        Assert.That(TensorLeakMonitor.SettledLiveCount() - before, Is.EqualTo(0));
    }

    [Test]
    [AllowTensorLeaks("creates an undisposed tensor on purpose, to see that the finalizer frees it")]
    public void SettledLiveCount_DoesNotCountAnUnreachableTensorTheFinalizerFreed()
    {
        long before = TensorLeakMonitor.SettledLiveCount();
        long undisposedBefore = TensorLeakMonitor.ThreadUndisposed;
        MakeGarbage();
        Assert.That(TensorLeakMonitor.ThreadUndisposed - undisposedBefore, Is.EqualTo(1), "strict count sees it");
        Assert.That(TensorLeakMonitor.SettledLiveCount() - before, Is.EqualTo(0), "after GC it is gone");
    }

    [Test]
    public void ThreadUndisposed_IsBalancedByDisposeAndDisposeScopes()
    {
        long before = TensorLeakMonitor.ThreadUndisposed;
        using (torch.NewDisposeScope())
        {
            _ = torch.ones(2) + torch.ones(2);
        }
        torch.zeros(4).Dispose();
        Assert.That(TensorLeakMonitor.ThreadUndisposed - before, Is.EqualTo(0));
    }

    [Test]
    public void Verdict_ATensorTheTestKeepsReferenced_IsALeak()
    {
        TensorLeakProbe probe = TensorLeakProbe.Begin();
        Rooted.Add(torch.ones(3));
        try
        {
            Assert.That(NoTensorLeaksAttribute.Verdict(probe, strict: false, parameterDriftOnly: false),
                Does.StartWith("1 tensor(s) created by this test are still alive after it"));
        }
        finally
        {
            DisposeRooted();
        }
    }

    [Test]
    public void Verdict_ATensorKeptReferencedByAnotherThread_IsALeak()
    {
        // The test's thread disposed everything it made; only the live count shows the leak.
        TensorLeakProbe probe = TensorLeakProbe.Begin();
        Task.Run(() => Rooted.Add(torch.ones(3))).Wait();
        try
        {
            Assert.That(probe.Undisposed, Is.EqualTo(0));
            Assert.That(NoTensorLeaksAttribute.Verdict(probe, strict: false, parameterDriftOnly: false),
                Does.StartWith("1 tensor(s) created by this test are still alive after it"));
        }
        finally
        {
            DisposeRooted();
        }
    }

    [Test]
    [AllowTensorLeaks("creates an undisposed tensor on purpose, to see that the check collects it rather than report it")]
    public void Verdict_AnUnreachableUndisposedTensor_IsCollectedAndNotALeak()
    {
        TensorLeakProbe probe = TensorLeakProbe.Begin();
        int collections = TensorLeakProbe.Collections;
        MakeGarbage();
        Assert.That(NoTensorLeaksAttribute.Verdict(probe, strict: false, parameterDriftOnly: false), Is.Null);
        Assert.That(TensorLeakProbe.Collections, Is.EqualTo(collections + 1), "the raised count made it collect");
        Assert.That(NoTensorLeaksAttribute.Verdict(TensorLeakProbe.Begin(), strict: true, parameterDriftOnly: false), Is.Null,
            "the collection left the count settled for the next test");
    }

    [Test]
    public void Verdict_ATestThatDisposedAllItMade_PassesWithoutCollecting()
    {
        TensorLeakProbe probe = TensorLeakProbe.Begin();
        int collections = TensorLeakProbe.Collections;
        using (torch.NewDisposeScope())
        {
            _ = torch.ones(2) + torch.ones(2);
        }
        Assert.That(NoTensorLeaksAttribute.Verdict(probe, strict: true, parameterDriftOnly: false), Is.Null);
        Assert.That(TensorLeakProbe.Collections, Is.EqualTo(collections), "the fast path");
    }

    private static void DisposeRooted()
    {
        foreach (Tensor t in Rooted)
        {
            t.Dispose();
        }
        Rooted.Clear();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void MakeGarbage() => _ = torch.ones(5);
}
