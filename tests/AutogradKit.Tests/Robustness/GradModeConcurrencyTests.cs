using System.Collections.Concurrent;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Robustness;

/// <summary>
/// Grad mode follows each flow: several threads, then several async flows hopping between pool threads, each
/// nest scopes at random and run backward passes, and each one's mode is, every time, exactly what its own open
/// scopes say — whatever the others do.
/// </summary>
public class GradModeConcurrencyTests
{
    private const int Threads = 4;
    private const int StepsPerThread = 400;

    [Test]
    public void Scopes_OnManyThreads_EachThreadSeesOnlyItsOwnScopes()
    {
        var failures = new ConcurrentQueue<string>();
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(id => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                RunThread(id, failures);
            }
            catch (Exception e)
            {
                failures.Enqueue($"thread {id}: {e.GetType().Name}: {e.Message}");
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.That(failures, Is.Empty, string.Join(Environment.NewLine, failures.Take(20)));
    }

    [Test]
    public async Task Scopes_InManyFlowsAcrossAwaits_EachFlowSeesOnlyItsOwnScopes()
    {
        // The same random walk in eight async flows at once, awaiting between steps, so each flow hops between
        // thread-pool threads while the others' scopes are open on them.
        var failures = new ConcurrentQueue<string>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(id => Task.Run(async () =>
        {
            try
            {
                var walk = new ScopeWalk(id, failures);
                for (int step = 0; step < StepsPerThread / 4; step++)
                {
                    walk.Step(step);
                    if (step % 3 == 0)
                    {
                        await Task.Yield();
                    }
                    else if (step % 3 == 1)
                    {
                        await Task.Delay(1).ConfigureAwait(false);
                    }
                    walk.Check(step);
                }
                walk.CloseAll();
            }
            catch (Exception e)
            {
                failures.Enqueue($"flow {id}: {e.GetType().Name}: {e.Message}");
            }
        })));
        Assert.That(failures, Is.Empty, string.Join(Environment.NewLine, failures.Take(20)));
        bool[] onAfter = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => Task.Run(() => Autograd.IsGradEnabled)));
        Assert.That(onAfter, Is.All.True, "no thread-pool thread is left in a flow's mode");
    }

    private static void RunThread(int id, ConcurrentQueue<string> failures)
    {
        var walk = new ScopeWalk(id, failures);
        for (int step = 0; step < StepsPerThread; step++)
        {
            walk.Step(step);
        }
        walk.CloseAll();
    }

    /// <summary>
    /// Opens and closes random grad-mode scopes, one a step, and checks after each that grad mode, and what it
    /// means for a result and its backward, is what the open scopes say.
    /// </summary>
    private sealed class ScopeWalk(int id, ConcurrentQueue<string> failures) : IDisposable
    {
        private readonly Random _random = new(1000 + id);
        private readonly Stack<(IDisposable Scope, bool Mode)> _open = new();
        private readonly Tensor _w = torch.full(3, 2.0 + id, requires_grad: true);

        public void Step(int step)
        {
            if (_open.Count == 0 || (_open.Count < 6 && _random.Next(2) == 0))
            {
                int kind = _random.Next(3);
                bool mode = kind switch { 0 => false, 1 => true, _ => _random.Next(2) == 0 };
                _open.Push((kind switch { 0 => Autograd.NoGrad(), 1 => Autograd.EnableGrad(), _ => Autograd.SetGradEnabled(mode) }, mode));
            }
            else
            {
                _open.Pop().Scope.Dispose();
            }
            Check(step);
        }

        public void Check(int step)
        {
            using var disposeScope = torch.NewDisposeScope();
            bool expected = _open.Count == 0 || _open.Peek().Mode;
            if (Autograd.IsGradEnabled != expected || torch.is_grad_enabled() != expected)
            {
                failures.Enqueue($"{id} step {step}: grad mode {Autograd.IsGradEnabled}, its scopes say {expected}");
            }

            // What the mode means: a result records a graph only when grad is enabled; then backward works.
            Tensor y = (_w * _w).sum();
            if (y.requires_grad != expected)
            {
                failures.Enqueue($"{id} step {step}: result requires_grad {y.requires_grad}, mode says {expected}");
            }
            if (expected)
            {
                y.Backward();
                using Tensor grad = _w.grad!;
                if (!grad.allclose(_w * 2))
                {
                    failures.Enqueue($"{id} step {step}: wrong gradient");
                }
                _w.ZeroGrad();
            }
        }

        public void CloseAll()
        {
            while (_open.Count > 0)
            {
                _open.Pop().Scope.Dispose();
            }
            if (!Autograd.IsGradEnabled)
            {
                failures.Enqueue($"{id}: grad mode not restored after all scopes closed");
            }
            Dispose();
        }

        public void Dispose() => _w.Dispose();
    }
}
