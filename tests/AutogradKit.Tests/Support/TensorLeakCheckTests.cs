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

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void MakeGarbage() => _ = torch.ones(5);
}
