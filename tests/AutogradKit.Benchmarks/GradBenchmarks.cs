using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks;

/// <summary>
/// (f) One <c>Autograd.Grad</c> call: the forward pass of the 64→64 network (<see cref="Fixtures.TanhNetwork"/>)
/// and the gradient of <c>sum(f(x))</c> with respect to x. The raw baseline is the route a TorchSharp user has that
/// cannot abort the process (TorchSharp's own <c>grad</c> does on an error): <c>torch.autograd.backward</c> with
/// <c>inputs</c> into <c>x.grad</c>, taking and clearing it — the route <c>Autograd.Grad</c> itself took before it
/// ran libtorch's <c>grad</c>, which shares <c>.grad</c> with every other thread.
/// </summary>
public class GradBenchmarks
{
    private Fixtures.TanhNetwork _net = null!;
    private Tensor _x = null!;

    /// <summary>One thread; the network and a leaf input.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Fixtures.OneThread();
        _net = new Fixtures.TanhNetwork();
        _x = _net.X.detach().requires_grad_(true);
        using Tensor kit = Grad_AutogradKit();
        using Tensor raw = GradByBackward_Raw();
        if (!kit.allclose(raw, rtol: 1e-6, atol: 1e-7))
        {
            throw new InvalidOperationException("Autograd.Grad and the raw backward disagree");
        }
    }

    /// <summary>Frees the network.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _net.Dispose();
    }

    /// <summary><c>Autograd.Grad([sum(f(x))], [x])</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("Grad")]
    public Tensor Grad_AutogradKit()
    {
        using var scope = torch.NewDisposeScope();
        using Tensor y = _net.F(_x);
        using Tensor s = y.sum();
        return Autograd.Grad([s], [_x])[0]!.MoveToOuterDisposeScope();
    }

    /// <summary><c>torch.autograd.backward([sum(f(x))], inputs: [x])</c>, then <c>x.grad</c> taken and reset to None.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Grad")]
    public Tensor GradByBackward_Raw()
    {
        using var scope = torch.NewDisposeScope();
        using Tensor y = _net.F(_x);
        using Tensor s = y.sum();
        using Tensor seed = torch.ones_like(s);
        torch.autograd.backward([s], [seed], inputs: [_x]);
        Tensor g = _x.grad!;
        _x.grad = null;
        return g.MoveToOuterDisposeScope();
    }
}
