using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks;

/// <summary>
/// (g) <c>Autograd.Functional.Jvp</c> of the 64→64 network (<see cref="Fixtures.TanhNetwork"/>) at x with a fixed v:
/// AutogradKit's one forward-mode pass against the raw double-backward trick PyTorch's
/// <c>torch.autograd.functional.jvp</c> runs (a forward, a backward with <c>create_graph</c> seeded by a zero vector
/// that requires grad, and a backward of that through the seed), written with TorchSharp's own <c>grad</c>.
/// </summary>
public class JvpBenchmarks
{
    private Fixtures.TanhNetwork _net = null!;
    private Tensor _v = null!;

    /// <summary>One thread; the network and a direction.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Fixtures.OneThread();
        _net = new Fixtures.TanhNetwork();
        _v = torch.linspace(-1, 1, _net.X.shape[0]);
        using Tensor kit = Jvp_AutogradKit();
        using Tensor raw = JvpDoubleBackward_Raw();
        if (!kit.allclose(raw, rtol: 1e-5, atol: 1e-6))
        {
            throw new InvalidOperationException("Functional.Jvp and the raw double-backward trick disagree");
        }
    }

    /// <summary>Frees the network.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _v.Dispose();
        _net.Dispose();
    }

    /// <summary><c>Autograd.Functional.Jvp(f, x, v)</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("Jvp")]
    public Tensor Jvp_AutogradKit()
    {
        (Tensor output, Tensor jvp) = Autograd.Functional.Jvp(_net.F, _net.X, _v);
        output.Dispose();
        return jvp;
    }

    /// <summary>The double-backward trick with TorchSharp's <c>torch.autograd.grad</c>.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Jvp")]
    public Tensor JvpDoubleBackward_Raw()
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        Tensor x = _net.X.detach().requires_grad_(true);
        Tensor y = _net.F(x);
        Tensor u = torch.zeros_like(y, requires_grad: true);
        Tensor g = torch.autograd.grad([y], [x], [u], create_graph: true)[0];
        return torch.autograd.grad([g], [u], [_v])[0].detach().MoveToOuterDisposeScope();
    }
}
