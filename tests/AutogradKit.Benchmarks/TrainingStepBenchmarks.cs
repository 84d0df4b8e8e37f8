using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks;

/// <summary>
/// (a) The autograd tutorial's training step: <c>z = x @ w + b</c>, binary cross-entropy with logits,
/// backward, a no-grad SGD update and zeroed gradients. Same work as <c>pytorch/bench_training_step.py</c>.
/// </summary>
[BenchmarkCategory("TrainingStep")]
public class TrainingStepBenchmarks
{
    private const double LearningRate = 1e-3;
    private Tensor x = null!;
    private Tensor y = null!;
    private Tensor w = null!;
    private Tensor b = null!;

    /// <summary>The tutorial's tensors: x = ones(5), y = zeros(3), w = randn(5, 3), b = randn(3).</summary>
    [GlobalSetup]
    public void Setup()
    {
        Fixtures.OneThread();
        x = torch.ones(5);
        y = torch.zeros(3);
        w = torch.randn(5, 3, requires_grad: true);
        b = torch.randn(3, requires_grad: true);
        RawTorchSharp(); // creates .grad once, as the PyTorch script does
    }

    /// <summary>Frees the tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (Tensor t in (Tensor[])[x, y, w, b])
        {
            t.Dispose();
        }
    }

    /// <summary>What a TorchSharp user writes today: <c>torch.no_grad()</c>, <c>w.grad.zero_()</c>.</summary>
    [Benchmark(Baseline = true)]
    public void RawTorchSharp()
    {
        using var scope = torch.NewDisposeScope();
        Tensor z = torch.matmul(x, w) + b;
        Tensor loss = nn.functional.binary_cross_entropy_with_logits(z, y);
        loss.backward();
        using (torch.no_grad())
        {
            w.sub_(w.grad!.mul(LearningRate));
            b.sub_(b.grad!.mul(LearningRate));
        }
        w.grad!.zero_();
        b.grad!.zero_();
    }

#if AK_FOUNDATION
    /// <summary>The same step with AutogradKit: <c>Backward()</c>, <c>Autograd.NoGrad()</c>, <c>ZeroGrad()</c>.</summary>
    [Benchmark]
    public void AutogradKit()
    {
        using var scope = torch.NewDisposeScope();
        Tensor z = torch.matmul(x, w) + b;
        Tensor loss = nn.functional.binary_cross_entropy_with_logits(z, y);
        loss.Backward();
        using (Autograd.NoGrad())
        {
            w.sub_(w.grad!.mul(LearningRate));
            b.sub_(b.grad!.mul(LearningRate));
        }
        w.ZeroGrad();
        b.ZeroGrad();
    }

    /// <summary>
    /// Sub-benchmark: only the two gradient resets, raw (a managed wrapper per <c>.grad</c> read) …
    /// </summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("ZeroGrad")]
    public void ZeroGrad_Raw()
    {
        using var scope = torch.NewDisposeScope();
        w.grad!.zero_();
        b.grad!.zero_();
    }

    /// <summary>… and with <c>ZeroGrad()</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("ZeroGrad")]
    public void ZeroGrad_AutogradKit()
    {
        w.ZeroGrad();
        b.ZeroGrad();
    }

    /// <summary>Sub-benchmark: only the backward pass (forward included, it is needed to have a graph), raw …</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("ForwardBackward")]
    public void ForwardBackward_Raw()
    {
        using var scope = torch.NewDisposeScope();
        Tensor z = torch.matmul(x, w) + b;
        nn.functional.binary_cross_entropy_with_logits(z, y).backward();
    }

    /// <summary>… and with <c>Backward()</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("ForwardBackward")]
    public void ForwardBackward_AutogradKit()
    {
        using var scope = torch.NewDisposeScope();
        Tensor z = torch.matmul(x, w) + b;
        nn.functional.binary_cross_entropy_with_logits(z, y).Backward();
    }
#endif
}
