using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks;

/// <summary>
/// (e) Jacobian and Hessian of the 64→64 two-layer tanh network (<see cref="Fixtures.TanhNetwork"/>).
/// Raw baselines are what a TorchSharp user can write without aborting the process on a mistake:
/// <c>torch.autograd.backward</c> with <c>inputs</c> (never <c>torch.autograd.grad</c>, which aborts on a
/// libtorch error), one backward per output row, or one batched backward for the vectorized case.
/// TorchSharp's own <c>torch.autograd.functional.jacobian</c> (built on <c>grad</c>) is measured too.
/// </summary>
public class FunctionalBenchmarks
{
    private Fixtures.TanhNetwork _net = null!;

    /// <summary>One thread; the network.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Fixtures.OneThread();
        _net = new Fixtures.TanhNetwork();
        using Tensor a = JacobianBackwardLoop_Raw();
        using Tensor c = JacobianBatched_Raw();
        if (!a.allclose(c, rtol: 1e-5, atol: 1e-6))
        {
            throw new InvalidOperationException("the raw Jacobians disagree");
        }
        // Every path computes the same matrices, so that the timings compare the same work.
        using Tensor kit = Jacobian_AutogradKit();
        using Tensor kitVectorized = JacobianVectorized_AutogradKit();
        using Tensor rawHessian = HessianBackwardLoop_Raw();
        using Tensor kitHessian = Hessian_AutogradKit();
        if (!kit.allclose(a, rtol: 1e-5, atol: 1e-6) || !kitVectorized.allclose(a, rtol: 1e-5, atol: 1e-6)
            || !kitHessian.allclose(rawHessian, rtol: 1e-5, atol: 1e-6))
        {
            throw new InvalidOperationException("AutogradKit's Jacobian or Hessian differs from the raw TorchSharp one");
        }
    }

    /// <summary>Frees the network.</summary>
    [GlobalCleanup]
    public void Cleanup() => _net.Dispose();

    /// <summary>64 backward passes with <c>retain_graph</c>, one a row, gradients read from <c>x.grad</c>.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Jacobian")]
    public Tensor JacobianBackwardLoop_Raw()
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        Tensor x = _net.X.detach().requires_grad_(true);
        Tensor y = _net.F(x);
        return _net.RowsByBackwardLoop(y, x).MoveToOuterDisposeScope();
    }

    /// <summary>TorchSharp's <c>torch.autograd.functional.jacobian</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("Jacobian")]
    public Tensor JacobianFunctional_TorchSharp()
    {
        using var scope = torch.NewDisposeScope();
        return torch.autograd.functional.jacobian(_net.F, _net.X).MoveToOuterDisposeScope();
    }

    /// <summary>One backward for all rows: a batch of 64 copies of x, grad outputs = identity.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("JacobianVectorized")]
    public Tensor JacobianBatched_Raw() => JacobianByBatchedBackward(ownIdentity: false);

    /// <summary>Hessian of sum(f): one backward with <c>create_graph</c>, then 64 backward passes of the gradient.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Hessian")]
    public Tensor HessianBackwardLoop_Raw() => RawHessian(InnerGradient.OfLeaf);

    /// <summary>
    /// Breakdown of the vectorized Jacobian: the raw batched backward, but building its identity seed in the call
    /// (<c>torch.eye(m)</c>), as a Jacobian that does not know m before the call must; the raw baseline reuses
    /// one made in the set-up. AutogradKit ÷ this isolates AutogradKit's own cost (checks, output-size lookup).
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("JacobianVectorized")]
    public Tensor JacobianBatchedOwnIdentity_Raw() => JacobianByBatchedBackward(ownIdentity: true);

    /// <summary>
    /// The raw batched Jacobian: a batch of 64 copies of x, one backward seeded with the identity — the set-up's
    /// (<see cref="Fixtures.TanhNetwork.Eye"/>) or, with <paramref name="ownIdentity"/>, one made in the call.
    /// </summary>
    private Tensor JacobianByBatchedBackward(bool ownIdentity)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        Tensor xs = _net.X.unsqueeze(0).expand(Fixtures.TanhNetwork.N, Fixtures.TanhNetwork.N).clone().requires_grad_(true);
        Tensor ys = _net.F(xs);
        Tensor identity = ownIdentity ? torch.eye(Fixtures.TanhNetwork.N) : _net.Eye;
        torch.autograd.backward([ys], [identity], inputs: [xs]);
        return xs.grad!.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Breakdown of the Hessian: the raw loop, but with the gradient taken with respect to a view of x (as
    /// functional.py's <c>_grad_preprocess</c> does for the inner Jacobian when <c>create_graph</c> is on).
    /// libtorch's <c>backward(inputs)</c> calls <c>retain_grad()</c> on a non-leaf input, so each of the 64
    /// second-order passes then also accumulates into that view's <c>.grad</c>.
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("Hessian")]
    public Tensor HessianViewInput_Raw() => RawHessian(InnerGradient.OfView);

    /// <summary>
    /// Breakdown of the Hessian: the raw loop with all of functional.py's structure for
    /// <c>hessian = jacobian(jacobian(f, create_graph=True))</c>: the gradient w.r.t. a view of x, then stacked,
    /// viewed and aliased as the inner Jacobian's result, so every second-order pass runs through those nodes too.
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("Hessian")]
    public Tensor HessianNested_Raw() => RawHessian(InnerGradient.OfViewNested);

    /// <summary>How the raw Hessians take their first gradient, the one the 64 second-order passes run through.</summary>
    private enum InnerGradient
    {
        /// <summary>With respect to x itself.</summary>
        OfLeaf,

        /// <summary>With respect to a view of x, as functional.py's <c>_grad_preprocess</c>.</summary>
        OfView,

        /// <summary>With respect to a view of x, then stacked, viewed and aliased as functional.py's inner Jacobian.</summary>
        OfViewNested,
    }

    /// <summary>The raw Hessian of sum(f): one backward with <c>create_graph</c>, then 64 backward passes of the gradient.</summary>
    private Tensor RawHessian(InnerGradient inner)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        Tensor x = _net.X.detach().requires_grad_(true);
        Tensor wrt = inner == InnerGradient.OfLeaf ? x : x.view_as(x);
        Tensor g = Fixtures.TanhNetwork.GradWithGraph(_net.FSum(wrt), wrt);
        if (inner == InnerGradient.OfViewNested)
        {
            g = torch.stack([g], 0).view(Fixtures.TanhNetwork.N).alias();
        }
        return _net.RowsByBackwardLoop(g, x).MoveToOuterDisposeScope();
    }

    // Scoped like the raw baselines, so that both free the function's temporaries the same way.

    /// <summary><c>Autograd.Functional.Jacobian(f, x)</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("Jacobian")]
    public Tensor Jacobian_AutogradKit()
    {
        using var scope = torch.NewDisposeScope();
        return Autograd.Functional.Jacobian(_net.F, _net.X).MoveToOuterDisposeScope();
    }

    /// <summary><c>Autograd.Functional.Jacobian(f, x, vectorize: true)</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("JacobianVectorized")]
    public Tensor JacobianVectorized_AutogradKit()
    {
        using var scope = torch.NewDisposeScope();
        return Autograd.Functional.Jacobian(_net.F, _net.X, vectorize: true).MoveToOuterDisposeScope();
    }

    /// <summary><c>Autograd.Functional.Hessian(sum∘f, x)</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("Hessian")]
    public Tensor Hessian_AutogradKit()
    {
        using var scope = torch.NewDisposeScope();
        return Autograd.Functional.Hessian(_net.FSum, _net.X).MoveToOuterDisposeScope();
    }
}
