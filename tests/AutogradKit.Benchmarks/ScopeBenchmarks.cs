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
    /// Breakdown, no native call: a model of the bookkeeping a scope needs to detect a Dispose on the wrong
    /// thread or out of nesting order (docs/api.md requires both): a 48-byte scope object instead of TorchSharp's
    /// 24-byte one, the current thread's id at open and at Dispose, and a thread-static "innermost scope" link
    /// read and written at open and at Dispose.
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("NoGrad")]
    public object? ScopeBookkeeping_Model()
    {
        var scope = new BookkeepingModel(Environment.CurrentManagedThreadId, innermost);
        innermost = scope;
        if (scope.ThreadId == Environment.CurrentManagedThreadId && ReferenceEquals(innermost, scope))
        {
            innermost = scope.Outer;
        }
        return scope;
    }

    [ThreadStatic]
    private static BookkeepingModel? innermost;

    private sealed class BookkeepingModel(int threadId, BookkeepingModel? outer)
    {
        public readonly BookkeepingModel? Outer = outer;
        public readonly int ThreadId = threadId;
        public readonly long Saved = threadId; // the state a scope saves and restores, as payload
        public readonly IntPtr Guard = outer is null ? IntPtr.Zero : 1;
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
