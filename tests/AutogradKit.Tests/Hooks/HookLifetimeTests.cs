using System.Runtime.CompilerServices;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Hooks;

/// <summary>
/// What keeps a hook's closure alive: the handle until it is disposed, libtorch's hook list until it is freed.
/// A closure that captures its own tensor is the cycle PyTorch's garbage collector breaks and .NET's cannot see
/// through libtorch: disposing the handle or the tensor breaks it.
/// </summary>
public class HookLifetimeTests
{
    private const int Tensors = 3000;

    [Test]
    public void Dispose_HandlesOfHooksCapturingTheirTensors_TensorsAreCollected()
    {
        (WeakReference[] tensors, IDisposable[] handles) = RegisterSelfCapturing(Tensors);
        foreach (IDisposable h in handles)
        {
            h.Dispose();
        }
        CollectGarbage();
        Assert.That(tensors.Count(w => w.IsAlive), Is.Zero, "tensors still alive after their hooks were removed");
    }

    [Test]
    public void Dispose_TensorsWhoseHooksCaptureThem_ClosuresAreCollected()
    {
        int liveBefore = HookTable.LiveHooks;
        WeakReference[] closures = RegisterSelfCapturingAndDisposeTensors(Tensors);
        CollectGarbage();
        Assert.That(closures.Count(w => w.IsAlive), Is.Zero, "closures still alive after their tensors were disposed");
        Assert.That(HookTable.LiveHooks, Is.EqualTo(liveBefore));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference[] Tensors, IDisposable[] Handles) RegisterSelfCapturing(int count)
    {
        var tensors = new WeakReference[count];
        var handles = new IDisposable[count];
        for (int i = 0; i < count; i++)
        {
            Tensor t = torch.ones(3).RequiresGrad();
            handles[i] = t.RegisterHook(g => g * t.detach());
            tensors[i] = new WeakReference(t);
        }
        return (tensors, handles);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference[] RegisterSelfCapturingAndDisposeTensors(int count)
    {
        var closures = new WeakReference[count];
        for (int i = 0; i < count; i++)
        {
            Tensor t = torch.ones(3).RequiresGrad();
            Func<Tensor, Tensor?> hook = g => g * t.detach();
            t.RegisterHook(hook);
            closures[i] = new WeakReference(hook);
            t.Dispose();
        }
        return closures;
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
