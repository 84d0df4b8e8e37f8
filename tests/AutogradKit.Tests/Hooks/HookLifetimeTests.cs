using System.Runtime.CompilerServices;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Hooks;

/// <summary>
/// What keeps a hook's closure alive: the handle until it is disposed, and its tensor (or a graph that holds it)
/// until nothing can call it. A closure that captures its own tensor is the cycle PyTorch's garbage collector
/// breaks: <see cref="HookClosures"/> breaks it too, and keeps it while a graph can still run the hook.
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

    [Test]
    public void RegisterHook_LeavesWhoseHooksCaptureThem_AreCollectedWithTheirClosures()
    {
        int entriesBefore = HookTable.Count;
        (WeakReference[] tensors, WeakReference[] closures) = DropSelfCapturing(Tensors, leaf: true);
        CollectGarbage();
        Assert.That(tensors.Count(w => w.IsAlive), Is.Zero, "tensors kept alive by their own hooks");
        Assert.That(closures.Count(w => w.IsAlive), Is.Zero, "closures kept alive");
        Assert.That(HookTable.Count, Is.EqualTo(entriesBefore), "libtorch's hook lists were not freed");
    }

    [Test]
    public void RegisterHook_NonLeavesWhoseHooksCaptureThem_AreCollectedWithTheirClosures()
    {
        int entriesBefore = HookTable.Count;
        (WeakReference[] tensors, WeakReference[] closures) = DropSelfCapturing(Tensors, leaf: false);
        CollectGarbage();
        Assert.That(tensors.Count(w => w.IsAlive), Is.Zero, "tensors kept alive by their own hooks");
        Assert.That(closures.Count(w => w.IsAlive), Is.Zero, "closures kept alive");
        Assert.That(HookTable.Count, Is.EqualTo(entriesBefore), "libtorch's hook lists were not freed");
    }

    // d/dx sum(x * x) = 2x at x = [1, 2, 3]; the hook sees 2x and records 2x * x = [2, 8, 18].
    [Test]
    public void RegisterHook_UnreachableLeafWhoseGraphIsAlive_HookStillRunsThenIsCollected()
    {
        var seen = new Recorded();
        (Tensor loss, WeakReference tensor) = GraphOfDroppedTensor(seen, leaf: true);
        CollectGarbage();
        Assert.That(tensor.IsAlive, Is.True, "a tensor a live graph holds was collected");
        loss.Backward();
        Assert.That(seen.Values, Is.EqualTo(new[] { 2f, 8f, 18f }));
        loss.Dispose();
        CollectGarbage();
        Assert.That(tensor.IsAlive, Is.False, "the tensor outlived its graph");
    }

    // y = 3x at x = [1, 2, 3]; d/dy sum(y * y) = 2y; the hook sees 2y and records 2y * y = 18x² = [18, 72, 162].
    [Test]
    public void RegisterHook_UnreachableNonLeafWhoseGraphIsAlive_HookStillRunsThenIsCollected()
    {
        var seen = new Recorded();
        (Tensor loss, WeakReference tensor) = GraphOfDroppedTensor(seen, leaf: false);
        CollectGarbage();
        Assert.That(tensor.IsAlive, Is.True, "a tensor whose hook a live graph can run was collected");
        loss.Backward();
        Assert.That(seen.Values, Is.EqualTo(new[] { 18f, 72f, 162f }));
        loss.Dispose();
        CollectGarbage();
        Assert.That(tensor.IsAlive, Is.False, "the tensor outlived its graph");
    }

    // Each tensor holds 256 KiB: 2 000 kept alive by their own hooks would be 500 MiB. malloc keeps some freed memory
    // (its mmap threshold moves), so the limit is a fifth of that, far above what it keeps and far below the leak.
    [Test]
    public void RegisterHook_2000SelfCapturingHooksDropped_ResidentMemoryDoesNotGrow()
    {
        DropLargeSelfCapturing(500);
        long baseline = Soak.ResidentMemory.SettledBytes();
        DropLargeSelfCapturing(2_000);
        long growth = Soak.ResidentMemory.SettledBytes() - baseline;
        TestContext.Out.WriteLine($"2000 self-capturing hooks dropped: resident growth {growth / 1024.0:F0} KiB");
        Assert.That(growth, Is.LessThan(100L * 1024 * 1024), "tensors kept alive by hooks that capture them");
    }

    private static void DropLargeSelfCapturing(int count)
    {
        for (int i = 0; i < count; i++)
        {
            Tensor t = torch.ones(64 * 1024).RequiresGrad();
            t.RegisterHook(g => g * t.detach());
            if (i % 200 == 0)
            {
                GC.Collect();
            }
        }
    }

    private sealed class Recorded
    {
        public float[]? Values;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference[] Tensors, WeakReference[] Closures) DropSelfCapturing(int count, bool leaf)
    {
        var tensors = new WeakReference[count];
        var closures = new WeakReference[count];
        Tensor? leafOfAll = leaf ? null : torch.ones(3).RequiresGrad();
        for (int i = 0; i < count; i++)
        {
            Tensor t = leafOfAll is null ? torch.ones(3).RequiresGrad() : leafOfAll * 2;
            Func<Tensor, Tensor?> hook = g => g * t.detach();
            t.RegisterHook(hook);
            // Long weak references: a resurrected tensor (kept for a graph) must count as alive.
            tensors[i] = new WeakReference(t, trackResurrection: true);
            closures[i] = new WeakReference(hook, trackResurrection: true);
        }
        leafOfAll?.Dispose();
        return (tensors, closures);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Tensor Loss, WeakReference Tensor) GraphOfDroppedTensor(Recorded seen, bool leaf)
    {
        Tensor x = torch.tensor(new float[] { 1, 2, 3 }).RequiresGrad();
        Tensor t = leaf ? x : x * 3;
        t.RegisterHook(g =>
        {
            using Tensor product = g * t.detach();
            seen.Values = product.data<float>().ToArray();
            return null;
        });
        Tensor loss = (t * t).sum();
        if (!leaf)
        {
            // The graph holds x through its AccumulateGrad; t (the non-leaf) is held by nothing but its hook.
            x.Dispose();
        }
        return (loss, new WeakReference(t, trackResurrection: true));
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
