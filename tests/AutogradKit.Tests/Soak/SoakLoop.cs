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
    private readonly Tensor _x = torch.ones(5);
    private readonly Tensor _y = torch.zeros(3);
    private readonly Tensor _w;
    private readonly Tensor _b;
    private readonly Stopwatch _clock = new();
    private int _step;

    public SoakLoop()
    {
        using var generator = new Generator(0);
        _w = torch.randn([5, 3], generator: generator).requires_grad_(true);
        _b = torch.randn([3], generator: generator).requires_grad_(true);
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Run(int steps)
    {
        _clock.Start();
        for (int i = 0; i < steps; i++)
        {
            Step(_step++);
        }
        _clock.Stop();
    }

    private void Step(int n)
    {
        using var scope = torch.NewDisposeScope();
        Tensor z;
        Tensor loss;
        using (Autograd.EnableGrad())
        {
            z = torch.matmul(_x, _w) + _b;
            z.RetainGrad();
            loss = nn.functional.binary_cross_entropy_with_logits(z, _y);
        }
        Check(Autograd.IsGradEnabled, "grad mode after EnableGrad scope");

        // The graph: walked, named, printed.
        Check(WalkGraph(loss) == 6, "graph of the tutorial's loss has 6 nodes");
        Check(loss.GradFn!.ToString().StartsWith("<BinaryCrossEntropyWithLogitsBackward0 object at 0x", StringComparison.Ordinal), "GradFn.ToString");
        if (n % 10 == 0)
        {
            Check(loss.Repr().StartsWith("tensor(", StringComparison.Ordinal) && loss.Repr().Contains("grad_fn=<BinaryCrossEntropyWithLogitsBackward0>", StringComparison.Ordinal), "Repr of the loss");
            Check(_w.Repr().EndsWith("requires_grad=True)", StringComparison.Ordinal), "Repr of w");
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
            _w.ZeroGrad();
            _b.ZeroGrad();
            z.ZeroGrad();
            loss.Backward(retainGraph: true);
            Check(doubled.allclose(z.grad! * 2), "hook doubled the gradient");
        }
        _w.ZeroGrad();
        _b.ZeroGrad();
        loss.Backward();

        // Autograd.Grad on a fresh graph, with an unused input allowed.
        using (Autograd.EnableGrad())
        {
            Tensor unused = torch.zeros(2).RequiresGrad();
            Tensor s = (_w * _w).sum();
            Tensor?[] grads = Autograd.Grad([s], [_w, unused], allowUnused: true);
            Check(grads[1] is null && grads[0]!.allclose(_w * 2), "Autograd.Grad");
        }

        // A small Jacobian every step, the 5-to-3 layer around the current weights.
        if (n % 5 == 0)
        {
            using Tensor wd = _w.Detach();
            Tensor jac = Autograd.Functional.Jacobian(v => torch.tanh(torch.matmul(v, wd)), _x, vectorize: n % 10 == 0);
            Check(jac.shape.SequenceEqual(new long[] { 3, 5 }), "Jacobian shape");
        }

        // The no-grad SGD update; the mode inside and after the scope.
        using (Autograd.NoGrad())
        {
            Check(!Autograd.IsGradEnabled, "NoGrad scope");
            _w.sub_(_w.grad!.mul(LearningRate));
            _b.sub_(_b.grad!.mul(LearningRate));
            using (Autograd.SetGradEnabled(true))
            {
                Check(Autograd.IsGradEnabled, "SetGradEnabled(true) nested in NoGrad");
            }
        }
        if (n % 3 == 0)
        {
            new[] { _w, _b }.ZeroGrad(setToNone: true);
            Check(_w.grad is null, "ZeroGrad(setToNone)");
        }
        else
        {
            _w.ZeroGrad();
            _b.ZeroGrad();
        }
        using (Autograd.InferenceMode())
        {
            Tensor frozen = torch.matmul(_x, _w) + _b;
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
            Assert.Fail($"step {_step}: {what}");
        }
    }

    public void Dispose()
    {
        _x.Dispose();
        _y.Dispose();
        _w.Dispose();
        _b.Dispose();
    }
}
