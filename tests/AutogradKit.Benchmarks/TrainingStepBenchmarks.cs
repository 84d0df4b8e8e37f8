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
    private Fixtures.TutorialTensors _t = null!;

    /// <summary>The tutorial's tensors: x = ones(5), y = zeros(3), w = randn(5, 3), b = randn(3).</summary>
    [GlobalSetup]
    public void Setup()
    {
        Fixtures.OneThread();
        _t = new Fixtures.TutorialTensors();
        RawTorchSharp(); // creates .grad once, as the PyTorch script does
    }

    /// <summary>Frees the tensors.</summary>
    [GlobalCleanup]
    public void Cleanup() => _t.Dispose();

    /// <summary>What a TorchSharp user writes today: <c>torch.no_grad()</c>, <c>w.grad.zero_()</c>.</summary>
    [Benchmark(Baseline = true)]
    public void RawTorchSharp()
    {
        using var scope = torch.NewDisposeScope();
        _t.Loss().backward();
        using (torch.no_grad())
        {
            _t.W.sub_(_t.W.grad!.mul(LearningRate));
            _t.B.sub_(_t.B.grad!.mul(LearningRate));
        }
        _t.W.grad!.zero_();
        _t.B.grad!.zero_();
    }

    /// <summary>The same step with AutogradKit: <c>Backward()</c>, <c>Autograd.NoGrad()</c>, <c>ZeroGrad()</c>.</summary>
    [Benchmark]
    public void AutogradKit()
    {
        using var scope = torch.NewDisposeScope();
        _t.Loss().Backward();
        using (Autograd.NoGrad())
        {
            _t.W.sub_(_t.W.grad!.mul(LearningRate));
            _t.B.sub_(_t.B.grad!.mul(LearningRate));
        }
        _t.W.ZeroGrad();
        _t.B.ZeroGrad();
    }

    /// <summary>
    /// Sub-benchmark: only the two gradient resets, raw (a managed wrapper per <c>.grad</c> read) …
    /// </summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("ZeroGrad")]
    public void ZeroGrad_Raw()
    {
        using var scope = torch.NewDisposeScope();
        _t.W.grad!.zero_();
        _t.B.grad!.zero_();
    }

    /// <summary>… and with <c>ZeroGrad()</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("ZeroGrad")]
    public void ZeroGrad_AutogradKit()
    {
        _t.W.ZeroGrad();
        _t.B.ZeroGrad();
    }

    /// <summary>Sub-benchmark: only the backward pass (forward included, it is needed to have a graph), raw …</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("ForwardBackward")]
    public void ForwardBackward_Raw()
    {
        using var scope = torch.NewDisposeScope();
        _t.Loss().backward();
    }

    /// <summary>… and with <c>Backward()</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("ForwardBackward")]
    public void ForwardBackward_AutogradKit()
    {
        using var scope = torch.NewDisposeScope();
        _t.Loss().Backward();
    }
}
