using System.Runtime.CompilerServices;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Graph;

/// <summary>A GradFn never reads freed native memory: after Backward, disposal, GC, in-place ops and on long chains.</summary>
public class GradFnLifetimeTests
{
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradFn_AfterBackward_IsStillWalkable(string device)
    {
        using var scope = torch.NewDisposeScope();
        var (w, _, _, loss) = GraphCases.Notebook(DeviceCases.Device(device));
        GradFn fn = loss.GradFn!;
        var before = GraphCasesTests.Walk(loss);
        loss.backward();
        Assert.That(fn.Name, Is.EqualTo("BinaryCrossEntropyWithLogitsBackward0"));
        Assert.That(GraphCasesTests.Walk(loss), Is.EqualTo(before));
        Assert.That(w.grad, Is.Not.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradFn_AfterRootDisposed_ThrowsObjectDisposed(string device)
    {
        var d = DeviceCases.Device(device);
        using Tensor a = torch.ones(2, requires_grad: true, device: d);
        Tensor c = a * a + a;
        GradFn fn = c.GradFn!;
        GradFn child = fn.NextFunctions[0].Function!;
        GradFn leaf = child.NextFunctions[0].Function!;
        c.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = fn.Name);
        Assert.Throws<ObjectDisposedException>(() => _ = fn.NextFunctions);
        Assert.Throws<ObjectDisposedException>(() => _ = fn.ToString());
        Assert.Throws<ObjectDisposedException>(() => _ = child.Name);
        Assert.Throws<ObjectDisposedException>(() => _ = leaf.Variable);
        Assert.Throws<ObjectDisposedException>(() => _ = c.GradFn);
        Assert.That(fn.Equals(fn) && fn.GetHashCode() == fn.GetHashCode(), Is.True);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradFn_AcrossGarbageCollection_KeepsItsNodes(string device)
    {
        var d = DeviceCases.Device(device);
        Tensor a = torch.ones(3, requires_grad: true, device: d);
        Tensor root = Build(a);
        List<GradFn> fns = CollectAll(root);
        ForceGc();
        Assert.That(fns.Select(f => f.Name).Distinct(), Is.SupersetOf(new[] { "SumBackward0", "MulBackward0", "ExpBackward0", "AccumulateGrad" }));
        using (Tensor v = fns.Single(f => f.Name == "AccumulateGrad").Variable!)
        {
            Assert.That(v.shape, Is.EqualTo(new long[] { 3 }));
        }
        fns.Clear();
        ForceGc();
        // The graph is intact after our references are all released.
        Assert.That(GraphCasesTests.Walk(root)[0], Is.EqualTo("SumBackward0 [(MulBackward0, 0)]"));
        root.backward();
        Assert.That(a.grad, Is.Not.Null);
        root.Dispose();
        a.Dispose();
        ForceGc();
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradFn_OutlivesTheGraphsOtherOwners(string device)
    {
        // Only our reference keeps the intermediate nodes alive once the intermediate tensors are gone.
        var d = DeviceCases.Device(device);
        using Tensor a = torch.ones(3, requires_grad: true, device: d);
        using Tensor root = Build(a);
        GradFn mul = root.GradFn!.NextFunctions[0].Function!;
        ForceGc();
        GradFn exp = mul.NextFunctions[0].Function!;
        ForceGc();
        Assert.That(exp.Name, Is.EqualTo("ExpBackward0"));
        Assert.That(exp.NextFunctions[0].Function!.Name, Is.EqualTo("AccumulateGrad"));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradFn_OutlivesInPlaceOpOnItsTensor(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = torch.ones(3, requires_grad: true, device: DeviceCases.Device(device));
        Tensor b = a * 2.0;
        GradFn before = b.GradFn!;
        b.add_(1.0);
        ForceGc();
        GradFn after = b.GradFn!;
        Assert.That(after.Name, Is.EqualTo("AddBackward1"));
        Assert.That(after.NextFunctions[0].Function, Is.EqualTo(before));
        Assert.That(before.Name, Is.EqualTo("MulBackward1"));
        Assert.That(before.NextFunctions[0].Function!.Name, Is.EqualTo("AccumulateGrad"));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void NextFunctions_OutliveTheirParentGradFn_AndEveryOtherOwner(string device)
    {
        // The GradFns a walk reaches share the root GradFn's one reference; here they are all that is left.
        using var scope = torch.NewDisposeScope();
        Tensor a = torch.ones(3, requires_grad: true, device: DeviceCases.Device(device));
        Tensor z = TakeExpGradFnThenOrphanTheGraph(a, out GradFn exp);
        ForceGc();
        Assert.That(exp.Name, Is.EqualTo("ExpBackward0"));
        GradFn accumulate = exp.NextFunctions[0].Function!;
        Assert.That(accumulate.Name, Is.EqualTo("AccumulateGrad"));
        using Tensor v = accumulate.Variable!;
        Assert.That(v.shape, Is.EqualTo(new long[] { 3 }));
        Assert.That(z.GradFn, Is.Null, "detach_() left z without a graph");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Tensor TakeExpGradFnThenOrphanTheGraph(Tensor a, out GradFn exp)
    {
        Tensor y = a.exp();
        Tensor z = y * 2.0;
        exp = z.GradFn!.NextFunctions[0].Function!;  // the parent GradFn is dropped right here
        y.Dispose();
        z.detach_();                                  // z no longer holds MulBackward: only the walk's reference does
        return z;
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradFn_LongChain_WalksWithoutRecursion(string device)
    {
        using var scope = torch.NewDisposeScope();
        var d = DeviceCases.Device(device);
        Tensor a = torch.ones(1, requires_grad: true, device: d);
        Tensor one = torch.ones(1, device: d);
        Tensor x = a;
        for (int i = 0; i < 10_000; i++)
        {
            Tensor next = x + one;
            if (!ReferenceEquals(x, a))
            {
                x.Dispose();
            }
            x = next;
        }
        int adds = 0;
        GradFn? fn = x.GradFn;
        while (fn is not null && fn.Name == "AddBackward0")
        {
            adds++;
            Assert.That(fn.NextFunctions[1], Is.EqualTo(new GradEdge(null, 0)));
            fn = fn.NextFunctions[0].Function;
        }
        Assert.That(adds, Is.EqualTo(10_000));
        Assert.That(fn!.Name, Is.EqualTo("AccumulateGrad"));
        string dot = AutogradGraph.ToDot(x);
        Assert.That(dot.Split('\n').Count(l => l.Contains("[label=AddBackward0]")), Is.EqualTo(10_000));
        ForceGc();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Tensor Build(Tensor a)
    {
        using var scope = torch.NewDisposeScope();
        return (torch.exp(a) * a).sum().MoveToOuterDisposeScope();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<GradFn> CollectAll(Tensor root)
    {
        var all = new List<GradFn>();
        var seen = new HashSet<GradFn> { root.GradFn! };
        var queue = new Queue<GradFn>([root.GradFn!]);
        while (queue.Count > 0)
        {
            GradFn fn = queue.Dequeue();
            all.Add(fn);
            foreach (var edge in fn.NextFunctions)
            {
                if (edge.Function is { } next && seen.Add(next))
                {
                    queue.Enqueue(next);
                }
            }
        }
        return all;
    }

    private static void ForceGc()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
