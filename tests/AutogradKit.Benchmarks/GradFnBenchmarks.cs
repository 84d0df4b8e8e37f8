using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks;

/// <summary>
/// (c) <c>GradFn</c> of a tensor and a full walk of the tutorial's graph. TorchSharp has no equivalent:
/// the baseline is a trivial TorchSharp property read (<c>requires_grad</c>, one P/Invoke), for scale.
/// </summary>
[BenchmarkCategory("GradFn")]
public class GradFnBenchmarks
{
    private Fixtures.TutorialTensors _t = null!;
    private Tensor _loss = null!;

    /// <summary>The tutorial's graph: loss = bce_with_logits(x @ w + b, y).</summary>
    [GlobalSetup]
    public void Setup()
    {
        Fixtures.OneThread();
        _t = new Fixtures.TutorialTensors();
        using var scope = torch.NewDisposeScope();
        _loss = _t.Loss().MoveToOuterDisposeScope();
    }

    /// <summary>Frees the tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _loss.Dispose();
        _t.Dispose();
    }

    /// <summary>For scale: <c>loss.requires_grad</c>.</summary>
    [Benchmark(Baseline = true)]
    public bool RequiresGradRead_Raw() => _loss.requires_grad;

    /// <summary><c>loss.GradFn</c>.</summary>
    [Benchmark]
    public object? GradFn_AutogradKit() => _loss.GradFn;

    /// <summary><c>loss.GradFn.Name</c>.</summary>
    [Benchmark]
    public string GradFnName_AutogradKit() => _loss.GradFn!.Name;

    /// <summary>Every node reachable from <c>loss.GradFn</c> through <c>NextFunctions</c>, each name read once.</summary>
    [Benchmark]
    public int GraphWalk_AutogradKit() => Walk(_loss);

    /// <summary>Depth-first walk, the same as <c>pytorch/bench_gradfn.py</c>'s.</summary>
    public static int Walk(Tensor root)
    {
        var seen = new HashSet<GradFn>();
        var stack = new Stack<GradFn?>();
        stack.Push(root.GradFn);
        int count = 0;
        while (stack.Count > 0)
        {
            GradFn? fn = stack.Pop();
            if (fn is null || !seen.Add(fn))
            {
                continue;
            }
            count++;
            _ = fn.Name;
            foreach (GradEdge edge in fn.NextFunctions)
            {
                stack.Push(edge.Function);
            }
        }
        return count;
    }
}
