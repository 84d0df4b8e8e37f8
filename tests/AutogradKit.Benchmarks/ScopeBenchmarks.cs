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

    /// <summary>
    /// Breakdown, no native call: a model of the bookkeeping a scope needs to follow the async flow (docs/api.md):
    /// the scope object, a write of an <see cref="AsyncLocal{T}"/> with a change handler (a new execution
    /// context) at open, and going back to the context from before at Dispose.
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("NoGrad")]
    public object? ScopeBookkeeping_Model()
    {
        var scope = new BookkeepingModel(Flow.Value) { Before = ExecutionContext.Capture() };
        Flow.Value = scope;
        scope.After = ExecutionContext.Capture();
        if (scope.Before is not null && ReferenceEquals(ExecutionContext.Capture(), scope.After))
        {
            ExecutionContext.Restore(scope.Before);
        }
        return scope;
    }

    private static readonly AsyncLocal<BookkeepingModel?> Flow = new(change => { });

    private sealed class BookkeepingModel(BookkeepingModel? outer)
    {
        public readonly BookkeepingModel? Outer = outer;
        public readonly int Depth = outer is null ? 1 : outer.Depth + 1;
        public ExecutionContext? Before;
        public ExecutionContext? After;
    }

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
}
