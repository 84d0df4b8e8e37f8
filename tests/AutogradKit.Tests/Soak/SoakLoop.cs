using System.Diagnostics;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Soak;

/// <summary>
/// The autograd tutorial's training step, plus every AutogradKit feature once a step: grad-mode scopes, GradFn
/// walks, Repr, Backward with and without retainGraph, RetainGrad, Detach, hooks, Autograd.Grad, a Jacobian.
/// Each step checks its own results, so that a soak that "passes" is also a soak that computed the right thing.
/// </summary>
internal sealed class SoakLoop : IDisposable
{
    private const double LearningRate = 1e-3;
    private readonly Tensor x = torch.ones(5);
    private readonly Tensor y = torch.zeros(3);
    private readonly Tensor w;
    private readonly Tensor b;
    private readonly Stopwatch clock = new();
    private int step;

    public SoakLoop()
    {
        using var generator = new Generator(0);
        w = torch.randn([5, 3], generator: generator).requires_grad_(true);
        b = torch.randn([3], generator: generator).requires_grad_(true);
    }

    public TimeSpan Elapsed => clock.Elapsed;

    public void Run(int steps)
    {
        clock.Start();
        for (int i = 0; i < steps; i++)
        {
            Step(step++);
        }
        clock.Stop();
    }

    private void Step(int n)
    {
        using var scope = torch.NewDisposeScope();
        Tensor z;
        Tensor loss;
        using (Autograd.EnableGrad())
        {
            z = torch.matmul(x, w) + b;
            z.RetainGrad();
            loss = nn.functional.binary_cross_entropy_with_logits(z, y);
        }
        Check(Autograd.IsGradEnabled, "grad mode after EnableGrad scope");

        // The graph: walked, named, printed.
        Check(WalkGraph(loss) == 6, "graph of the tutorial's loss has 6 nodes");
        Check(loss.GradFn!.ToString().StartsWith("<BinaryCrossEntropyWithLogitsBackward0 object at 0x", StringComparison.Ordinal), "GradFn.ToString");
        if (n % 10 == 0)
        {
            Check(loss.Repr().StartsWith("tensor(", StringComparison.Ordinal) && loss.Repr().Contains("grad_fn=<BinaryCrossEntropyWithLogitsBackward0>", StringComparison.Ordinal), "Repr of the loss");
            Check(w.Repr().EndsWith("requires_grad=True)", StringComparison.Ordinal), "Repr of w");
            if (n % 100 == 0)
            {
                using var big = torch.ones(40, 40);
                Check(big.Repr().Contains("...", StringComparison.Ordinal), "Repr summarises 40x40");
            }
        }

        // A hook that doubles z's gradient, removed after one backward; one that only observes.
        int seen = 0;
        using (z.RegisterHook(g => g * 2))
        using (z.RegisterHook(g => { seen++; return null; }))
        {
            loss.Backward(retainGraph: true);
        }
        Check(seen == 1, "observing hook ran once");
        using (Autograd.NoGrad())
        {
            using Tensor doubled = z.grad!.clone();
            w.ZeroGrad();
            b.ZeroGrad();
            z.ZeroGrad();
            loss.Backward(retainGraph: true);
            Check(doubled.allclose(z.grad! * 2), "hook doubled the gradient");
        }
        w.ZeroGrad();
        b.ZeroGrad();
        loss.Backward();

        // Autograd.Grad on a fresh graph, with an unused input allowed.
        using (Autograd.EnableGrad())
        {
            Tensor unused = torch.zeros(2).RequiresGrad();
            Tensor s = (w * w).sum();
            Tensor?[] grads = Autograd.Grad([s], [w, unused], allowUnused: true);
            Check(grads[1] is null && grads[0]!.allclose(w * 2), "Autograd.Grad");
        }

        // A small Jacobian every step, the 5-to-3 layer around the current weights.
        if (n % 5 == 0)
        {
            using Tensor wd = w.Detach();
            Tensor jac = Autograd.Functional.Jacobian(v => torch.tanh(torch.matmul(v, wd)), x, vectorize: n % 10 == 0);
            Check(jac.shape.SequenceEqual(new long[] { 3, 5 }), "Jacobian shape");
        }

        // The no-grad SGD update; the mode inside and after the scope.
        using (Autograd.NoGrad())
        {
            Check(!Autograd.IsGradEnabled, "NoGrad scope");
            w.sub_(w.grad!.mul(LearningRate));
            b.sub_(b.grad!.mul(LearningRate));
            using (Autograd.SetGradEnabled(true))
            {
                Check(Autograd.IsGradEnabled, "SetGradEnabled(true) nested in NoGrad");
            }
        }
        if (n % 3 == 0)
        {
            new[] { w, b }.ZeroGrad(setToNone: true);
            Check(w.grad is null, "ZeroGrad(setToNone)");
        }
        else
        {
            w.ZeroGrad();
            b.ZeroGrad();
        }
        using (Autograd.InferenceMode())
        {
            Tensor frozen = torch.matmul(x, w) + b;
            Check(!frozen.requires_grad, "inference mode result");
        }
        Check(Autograd.IsGradEnabled, "grad mode restored");
    }

    private static int WalkGraph(Tensor root)
    {
        var seen = new HashSet<GradFn>();
        var stack = new Stack<GradFn?>();
        stack.Push(root.GradFn);
        while (stack.Count > 0)
        {
            GradFn? fn = stack.Pop();
            if (fn is null || !seen.Add(fn))
            {
                continue;
            }
            _ = fn.Name;
            using Tensor? variable = fn.Variable;
            foreach (GradEdge edge in fn.NextFunctions)
            {
                stack.Push(edge.Function);
            }
        }
        return seen.Count;
    }

    private void Check(bool condition, string what)
    {
        if (!condition)
        {
            Assert.Fail($"step {step}: {what}");
        }
    }

    public void Dispose()
    {
        x.Dispose();
        y.Dispose();
        w.Dispose();
        b.Dispose();
    }
}
