using System.Collections.Concurrent;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

/// <summary>
/// <see cref="Autograd.Grad"/> on several threads that share a leaf, and beside <c>Backward</c> on the same leaf:
/// every result exact, no error, and the leaf's <c>.grad</c> holds exactly what the backward passes accumulated —
/// as in PyTorch, whose <c>grad</c> never touches <c>.grad</c>.
/// </summary>
public class AutogradGradConcurrencyTests
{
    [Test]
    public void Grad_OnFourThreadsSharingOneLeaf_EveryResultExactAndNoError()
    {
        const int threads = 4;
        const int iterations = 2000;
        Tensor w = torch.tensor(new[] { 1.0, -2.0, 3.0 }, requires_grad: true);
        var failures = new ConcurrentQueue<string>();

        RunOnThreads(threads, failures, id =>
        {
            // Each thread its own constant: d/dw sum(w * c) = c, so another thread's gradient would show.
            double[] c = [id + 1.0, 10.0 * (id + 1), -(id + 1.0)];
            using Tensor constant = torch.tensor(c);
            for (int i = 0; i < iterations; i++)
            {
                using DisposeScope scope = torch.NewDisposeScope();
                Tensor?[] g = Autograd.Grad([(w * constant).sum()], [w]);
                double[] values = g[0]!.data<double>().ToArray();
                if (!values.SequenceEqual(c))
                {
                    failures.Enqueue($"thread {id}, iteration {i}: [{string.Join(", ", values)}], expected [{string.Join(", ", c)}]");
                }
            }
        });

        Assert.That(failures, Is.Empty, string.Join(Environment.NewLine, failures.Take(20)));
        Assert.That(w.grad, Is.Null, "Grad left no .grad behind");
    }

    [Test]
    public void Grad_OnOneThreadAndBackwardOnAnother_SameLeaf_BothExact()
    {
        const int iterations = 5000;
        Tensor w = torch.tensor(new[] { 1.0, 2.0 }, requires_grad: true);
        var failures = new ConcurrentQueue<string>();

        RunOnThreads(2, failures, id =>
        {
            for (int i = 0; i < iterations; i++)
            {
                using DisposeScope scope = torch.NewDisposeScope();
                if (id == 0)
                {
                    (w * 2).sum().Backward(); // accumulates 2 into w.grad
                }
                else
                {
                    double[] g = Autograd.Grad([(w * 3).sum()], [w])[0]!.data<double>().ToArray();
                    if (!g.SequenceEqual([3.0, 3.0]))
                    {
                        failures.Enqueue($"iteration {i}: Grad returned [{string.Join(", ", g)}], expected [3, 3]");
                    }
                }
            }
        });

        Assert.That(failures, Is.Empty, string.Join(Environment.NewLine, failures.Take(20)));
        Assert.That(w.grad!.data<double>().ToArray(), Is.EqualTo(new[] { 2.0 * iterations, 2.0 * iterations }), "no accumulation lost");
    }

    private static void RunOnThreads(int count, ConcurrentQueue<string> failures, Action<int> body)
    {
        using var start = new Barrier(count);
        var threads = Enumerable.Range(0, count).Select(id => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                body(id);
            }
            catch (Exception e)
            {
                failures.Enqueue($"thread {id}: {e.GetType().Name}: {e.Message}");
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
    }
}
