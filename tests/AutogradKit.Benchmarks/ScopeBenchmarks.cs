using BenchmarkDotNet.Attributes;
using TorchSharp;

namespace AutogradKit.Benchmarks;

/// <summary>(b) Entering and leaving a grad-mode scope, with nothing inside.</summary>
public class ScopeBenchmarks
{
    /// <summary>One thread.</summary>
    [GlobalSetup]
    public void Setup() => Fixtures.OneThread();

    /// <summary><c>using (torch.no_grad()) { }</c>.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("NoGrad")]
    public void NoGrad_Raw()
    {
        using (torch.no_grad())
        {
        }
    }

    /// <summary><c>using (torch.enable_grad()) { }</c>.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("EnableGrad")]
    public void EnableGrad_Raw()
    {
        using (torch.enable_grad())
        {
        }
    }

    /// <summary><c>using (torch.inference_mode()) { }</c>.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("InferenceMode")]
    public void InferenceMode_Raw()
    {
        using (torch.inference_mode())
        {
        }
    }

    /// <summary>A trivial native read, for scale: <c>torch.is_grad_enabled()</c>.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("IsGradEnabled")]
    public bool IsGradEnabled_Raw() => torch.is_grad_enabled();

    /// <summary><c>Autograd.IsGradEnabled</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("IsGradEnabled")]
    public bool IsGradEnabled_AutogradKit() => Autograd.IsGradEnabled;

#if AK_FOUNDATION
    /// <summary><c>using (Autograd.NoGrad()) { }</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("NoGrad")]
    public void NoGrad_AutogradKit()
    {
        using (Autograd.NoGrad())
        {
        }
    }

    /// <summary><c>using (Autograd.EnableGrad()) { }</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("EnableGrad")]
    public void EnableGrad_AutogradKit()
    {
        using (Autograd.EnableGrad())
        {
        }
    }

    /// <summary><c>using (Autograd.InferenceMode()) { }</c>.</summary>
    [Benchmark]
    [BenchmarkCategory("InferenceMode")]
    public void InferenceMode_AutogradKit()
    {
        using (Autograd.InferenceMode())
        {
        }
    }
#endif
}
