using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks;

/// <summary>
/// (d) <c>Repr</c> of a 30×30 and a 1000×1000 float32 tensor, default options. The baseline is TorchSharp's
/// own <c>ToString(TorchSharp.TensorStringStyle.Numpy)</c>, for scale: it is not PyTorch's text.
/// </summary>
public class ReprBenchmarks
{
    private Tensor _small = null!;
    private Tensor _large = null!;

    /// <summary>Random normal tensors, as in <c>pytorch/bench_repr.py</c>.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Fixtures.OneThread();
        using var generator = new Generator(0);
        _small = torch.randn([30, 30], generator: generator);
        _large = torch.randn([1000, 1000], generator: generator);
    }

    /// <summary>Frees the tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _small.Dispose();
        _large.Dispose();
    }

    /// <summary>TorchSharp's numpy-style text of the 30×30 tensor (it makes a tensor per element: scoped).</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Repr30")]
    public string Small_RawToString()
    {
        using var scope = torch.NewDisposeScope();
        return _small.ToString(TorchSharp.TensorStringStyle.Numpy);
    }

    /// <summary>TorchSharp's numpy-style text of the 1000×1000 tensor.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Repr1000")]
    public string Large_RawToString()
    {
        using var scope = torch.NewDisposeScope();
        return _large.ToString(TorchSharp.TensorStringStyle.Numpy);
    }

    /// <summary><c>small.Repr()</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("Repr30")]
    public string Small_AutogradKit() => _small.Repr();

    /// <summary><c>large.Repr()</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("Repr1000")]
    public string Large_AutogradKit() => _large.Repr();
}
