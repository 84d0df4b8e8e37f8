using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.CustomFunctions;

/// <summary>An exception thrown in Forward, Backward or Jvp reaches the caller as itself, and the next call works.</summary>
[NonParallelizable]
[AutogradKit.Tests.Support.NoTensorLeaks(Strict = true)]
public class AutogradFunctionExceptionTests
{
    private static Tensor X() => torch.tensor(new[] { 0.5, -1.0, 2.0 }, dtype: ScalarType.Float64).requires_grad_(true);

    [Test]
    public void Apply_ForwardThrows_CallerGetsTheSameExceptionAndNoNodeStays()
    {
        using var scope = torch.NewDisposeScope();
        int live = CustomNode.LiveCount;
        var f = new Throwing("Forward");

        var e = Assert.Throws<InvalidTimeZoneException>(() => f.Apply(X()));

        Assert.That(e, Is.SameAs(f.Error));
        Assert.That(CustomNode.LiveCount, Is.EqualTo(live));
    }

    [Test]
    public void Backward_BackwardThrows_CallerGetsTheSameExceptionAndTheNextPassWorks()
    {
        using var scope = torch.NewDisposeScope();
        var f = new Throwing("Backward");
        Tensor x = X();

        var e = Assert.Throws<InvalidTimeZoneException>(() => f.Apply(x)[0].sum().Backward());
        Assert.That(e, Is.SameAs(f.Error));

        new Exp().Apply(x)[0].sum().Backward();
        Assert.That(torch.allclose(x.grad!, x.exp()), Is.True, "the next backward works");
    }

    [Test]
    public void Grad_BackwardThrows_CallerGetsTheSameExceptionAndTheNextGradWorks()
    {
        using var scope = torch.NewDisposeScope();
        var f = new Throwing("Backward");
        Tensor x = X();

        var e = Assert.Throws<InvalidTimeZoneException>(() => Autograd.Grad([f.Apply(x)[0].sum()], [x]));
        Assert.That(e, Is.SameAs(f.Error));

        Tensor g = Autograd.Grad([new Exp().Apply(x)[0].sum()], [x])[0]!;
        Assert.That(torch.allclose(g, x.exp()), Is.True, "the next grad works");
    }

    [Test]
    public void Apply_JvpThrows_CallerGetsTheSameException()
    {
        using var scope = torch.NewDisposeScope();
        var f = new Throwing("Jvp");
        using (Autograd.ForwardAD.DualLevel())
        {
            Tensor x = Autograd.ForwardAD.MakeDual(X().detach(), torch.ones(3, dtype: ScalarType.Float64));

            var e = Assert.Throws<InvalidTimeZoneException>(() => f.Apply(x));
            Assert.That(e, Is.SameAs(f.Error));
        }
    }

    [Test]
    public void Apply_OutputsDisposed_NodeIsDestroyed()
    {
        int live = CustomNode.LiveCount;
        using (var scope = torch.NewDisposeScope())
        {
            Tensor x = X();
            new Exp().Apply(x)[0].sum().Backward();
            Assert.That(CustomNode.LiveCount, Is.EqualTo(live + 1));
        }
        Assert.That(CustomNode.LiveCount, Is.EqualTo(live));
    }
}

/// <summary>Backward passes through one custom node on several threads at once.</summary>
[NonParallelizable]
public class AutogradFunctionConcurrencyTests
{
    [Test]
    public void Backward_ThroughOneRetainedNodeOnFourThreads_AccumulatesEveryPass()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new[] { 0.5, -1.0, 2.0 }, dtype: ScalarType.Float64).requires_grad_(true);
        Tensor y = new Exp().Apply(x)[0].sum();

        Parallel.For(0, 4, _ =>
        {
            for (int i = 0; i < 200; i++)
            {
                using var inner = torch.NewDisposeScope();
                y.Backward(retainGraph: true);
            }
        });

        // AccumulateGrad locks the leaf; the custom node ran 800 times, on four threads.
        Assert.That(torch.allclose(x.grad!, 800 * x.exp().detach()), Is.True, x.grad!.Repr());
    }
}
