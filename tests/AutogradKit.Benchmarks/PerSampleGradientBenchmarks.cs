using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks;

/// <summary>
/// (g) Per-sample gradients of a 32→64→10 tanh MLP with cross-entropy, batch 64 (issue 11): one
/// <c>TorchFunc.Vmap(TorchFunc.Grad(loss))</c> call over the batch against a loop of 64 <c>TorchFunc.Grad</c> calls,
/// the loss written over the parameters as functorch's <c>make_functional</c> does (PyTorch: <c>pytorch/bench_per_sample.py</c>).
/// </summary>
public class PerSampleGradientBenchmarks
{
    private Tensor _w1 = null!, _b1 = null!, _w2 = null!, _b2 = null!, _x = null!, _y = null!;

    /// <summary>One thread; the weights and a batch of 64.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Fixtures.OneThread();
        torch.manual_seed(0);
        _w1 = torch.randn(64, 32) * 0.1;
        _b1 = torch.zeros(64);
        _w2 = torch.randn(10, 64) * 0.1;
        _b2 = torch.zeros(10);
        _x = torch.randn(64, 32);
        _y = torch.randint(0, 10, [64]);
        using Tensor vmapped = PerSample_VmapGrad();
        using Tensor looped = PerSample_LoopOfGrad();
        using Tensor gathered = PerSample_VmapGrad_Gather();
        if (!vmapped.allclose(looped, rtol: 1e-4, atol: 1e-6) || !gathered.allclose(looped, rtol: 1e-4, atol: 1e-6))
        {
            throw new InvalidOperationException("Vmap(Grad) differs from the loop of Grad");
        }
    }

    /// <summary>Frees the tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (Tensor t in new[] { _w1, _b1, _w2, _b2, _x, _y })
        {
            t.Dispose();
        }
    }

    private static Tensor Loss(Tensor[] a)
    {
        Tensor hidden = torch.tanh(a[0].matmul(a[4]) + a[1]);
        Tensor logits = a[2].matmul(hidden) + a[3];
        return nn.functional.cross_entropy(logits.unsqueeze(0), a[5].unsqueeze(0));
    }

    /// <summary>
    /// The same loss written as <c>-log_softmax(z)[y]</c> (<c>gather</c>): equal values, but no <c>nll_loss</c>, which has no
    /// batching rule in libtorch 2.10 and runs once per example under vmap. Measures what that fallback costs.
    /// </summary>
    private static Tensor LossByGather(Tensor[] a)
    {
        Tensor hidden = torch.tanh(a[0].matmul(a[4]) + a[1]);
        Tensor logits = a[2].matmul(hidden) + a[3];
        return -nn.functional.log_softmax(logits, 0).gather(0, a[5].unsqueeze(0)).squeeze(0);
    }

    /// <summary>The first layer's per-sample weight gradients, [64, 64, 32], in one vmapped call.</summary>
    [Benchmark]
    public Tensor PerSample_VmapGrad()
    {
        using var scope = torch.NewDisposeScope();
        return TorchFunc.Vmap(TorchFunc.Grad(Loss, 0), [null, null, null, null, 0, 0])([_w1, _b1, _w2, _b2, _x, _y]).MoveToOuterDisposeScope();
    }

    /// <summary>The same gradients with the loss written without <c>nll_loss</c> (<see cref="LossByGather"/>), in one vmapped call.</summary>
    [Benchmark]
    public Tensor PerSample_VmapGrad_Gather()
    {
        using var scope = torch.NewDisposeScope();
        return TorchFunc.Vmap(TorchFunc.Grad(LossByGather, 0), [null, null, null, null, 0, 0])([_w1, _b1, _w2, _b2, _x, _y]).MoveToOuterDisposeScope();
    }

    /// <summary>The same, one <c>Grad</c> call per example, stacked.</summary>
    [Benchmark(Baseline = true)]
    public Tensor PerSample_LoopOfGrad()
    {
        using var scope = torch.NewDisposeScope();
        var grad = TorchFunc.Grad(Loss, 0);
        var rows = new Tensor[64];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = grad([_w1, _b1, _w2, _b2, _x[i], _y[i]]);
        }
        return torch.stack(rows).MoveToOuterDisposeScope();
    }
}
