using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks;

/// <summary>
/// (h) What <c>TorchFunc.Vmap</c> costs around a cheap elementwise operation (issue 11: at most 2× the operation without
/// vmap): <c>Vmap(row =&gt; row.sin())</c> over a 64×64 float32 tensor against <c>x.sin()</c> on the whole tensor, the
/// same arithmetic (PyTorch: <c>pytorch/bench_vmap.py</c>, functorch's <c>vmap(torch.sin)</c> and <c>torch.sin</c>).
/// The mapped function is made once, as a user keeps it; the call pays the layer push and pop, the batching of the
/// input, the operator's batching rule and the unbatching of the result.
/// </summary>
public class VmapOverheadBenchmarks
{
    private Tensor _x = null!;
    private Func<Tensor, Tensor> _vmapped = null!;

    /// <summary>One thread; the 64×64 input and the mapped function, checked against the plain operation.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Fixtures.OneThread();
        torch.manual_seed(0);
        _x = torch.randn(64, 64);
        _vmapped = TorchFunc.Vmap(row => row.sin());
        using Tensor kit = Vmap_Sin();
        using Tensor raw = Sin_NoVmap();
        if (!kit.allclose(raw, rtol: 0, atol: 0))
        {
            throw new InvalidOperationException("Vmap(sin) differs from sin");
        }
    }

    /// <summary>Frees the input.</summary>
    [GlobalCleanup]
    public void Cleanup() => _x.Dispose();

    /// <summary><c>Vmap(row =&gt; row.sin())(x)</c>: 64 rows of 64, one batched call.</summary>
    [Benchmark]
    public Tensor Vmap_Sin() => _vmapped(_x);

    /// <summary><c>x.sin()</c>: the same work without vmap.</summary>
    [Benchmark(Baseline = true)]
    public Tensor Sin_NoVmap() => _x.sin();
}
