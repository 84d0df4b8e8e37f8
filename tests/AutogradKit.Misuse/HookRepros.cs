using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Misuse;

/// <summary>
/// The hook calls that ended the process at commit 58663ef (issue 10, section 3), each run alone in this child
/// process (<c>--hook-repro NAME</c>) so that a native crash ends the child, not the test run. Each prints
/// <c>REPRO NAME ok: …</c> and exits 0 when it survived with PyTorch's behaviour; it exits 4 with <c>REPRO NAME
/// wrong: …</c> when it survived with a wrong result; anything else is a crash.
/// </summary>
internal static class HookRepros
{
    /// <summary>The repro names, for the parent's test cases.</summary>
    public static readonly IReadOnlyDictionary<string, Func<string>> All = new Dictionary<string, Func<string>>
    {
        ["dispose-after-inplace-and-detach"] = DisposeAfterInPlaceAndDetach,
        ["first-register-in-inference-mode"] = FirstRegisterInInferenceMode,
        ["dispose-while-backward-runs"] = DisposeWhileBackwardRuns,
        ["register-on-four-threads"] = RegisterOnFourThreads,
        ["register-while-backward-runs"] = RegisterWhileBackwardRuns,
        ["register-dispose-backward-mixed"] = RegisterDisposeBackwardMixed,
    };

    private static readonly TimeSpan StressTime = TimeSpan.FromSeconds(2);

    /// <summary>Runs repro <paramref name="name"/>; 0 when it behaved, 4 when it gave a wrong result, 2 when unknown.</summary>
    public static int Run(string name)
    {
        if (!All.TryGetValue(name, out Func<string>? repro))
        {
            Program.Log($"unknown repro {name}; known: {string.Join(", ", All.Keys)}");
            return 2;
        }
        Program.Log($"CALL 0 {name}");
        try
        {
            Program.Log($"REPRO {name} ok: {repro()}");
            return 0;
        }
        catch (WrongResult e)
        {
            Program.Log($"REPRO {name} wrong: {e.Message}");
            return 4;
        }
    }

    private sealed class WrongResult(string message) : Exception(message);

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new WrongResult(what);
        }
    }

    private static float[] Values(Tensor t) => t.detach().data<float>().ToArray();

    /// <summary>
    /// 1. The in-place op gives x a new grad_fn (libtorch drops its hook list) and detach_ makes it a leaf again:
    /// remove_hook(0) on the empty list threw through P/Invoke. PyTorch: h.remove() works, x is a leaf again.
    /// </summary>
    private static string DisposeAfterInPlaceAndDetach()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        IDisposable h = x.RegisterHook(g => g);
        x.RequiresGrad(false);
        x.mul_(torch.ones(3).RequiresGrad());
        x.detach_();
        h.Dispose();
        h.Dispose();
        Expect(!x.requires_grad && x.is_leaf, $"x.requires_grad {x.requires_grad}, x.is_leaf {x.is_leaf}; PyTorch: False, True");
        return "h.Dispose() after mul_ and detach_ returned, as PyTorch's h.remove()";
    }

    /// <summary>
    /// 2. The first registration of the process inside inference mode: the one-time ABI check ran in the caller's
    /// inference mode. PyTorch registers the hook, and it doubles the gradient: d/dx sum(x*x) at ones is 2, so 4.
    /// </summary>
    private static string FirstRegisterInInferenceMode()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        IDisposable h;
        using (Autograd.InferenceMode())
        {
            h = x.RegisterHook(g => g * 2);
        }
        using (h)
        {
            (x * x).sum().Backward();
        }
        float[] grad = Values(x.grad!);
        Expect(grad.SequenceEqual([4f, 4f, 4f]), $"x.grad [{string.Join(", ", grad)}], PyTorch [4, 4, 4]");
        return "registered inside InferenceMode; x.grad = [4, 4, 4]";
    }

    /// <summary>
    /// 3. Identity hooks disposed while another thread loops Backward(retainGraph) through them: remove_hook emptied a
    /// std::function between libtorch's check and its call. In rounds, each on a fresh y = 2x whose 200 hooks are
    /// registered before any pass reaches y, then disposed as fast as possible while passes run. Identity hooks and
    /// removed hooks both keep the gradient, so after n passes x.grad = 2n everywhere.
    /// </summary>
    private static string DisposeWhileBackwardRuns()
    {
        int rounds = 0;
        (int passes, float[] grad) = LoopBackwardInRounds((_, y) =>
        {
            var handles = Enumerable.Range(0, 200).Select(_ => y.RegisterHook(g => g)).ToList();
            return publishedAndPassed =>
            {
                publishedAndPassed();
                handles.ForEach(h => h.Dispose());
                rounds++;
            };
        });
        Expect(grad.All(v => v == 2f * passes), $"after {passes} passes x.grad [{string.Join(", ", grad)}], expected {2 * passes} everywhere");
        return $"{rounds} rounds of 200 disposals during {passes} passes; x.grad = 2 × passes";
    }

    /// <summary>
    /// Loops Backward(retainGraph) on another thread through the loss of the latest round for a bounded time, where
    /// each round makes y = 2x and loss = sum(y), lets <paramref name="prepare"/> work on y before any pass reaches it,
    /// and runs what it returns with an action that publishes the round and waits for one pass through it.
    /// </summary>
    private static (int Passes, float[] Grad) LoopBackwardInRounds(Func<Tensor, Tensor, Action<Action>> prepare)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        Tensor? current = null;
        int passes = 0;
        using var stop = new CancellationTokenSource();
        Task backward = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (Volatile.Read(ref current) is { } loss)
                {
                    loss.Backward(retainGraph: true);
                    Interlocked.Increment(ref passes);
                }
            }
        }, TaskCreationOptions.LongRunning);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StressTime)
        {
            Tensor y = x * 2;
            Tensor loss = y.sum();
            Action<Action> round = prepare(x, y);
            round(() =>
            {
                Volatile.Write(ref current, loss);
                int seen = Volatile.Read(ref passes);
                while (Volatile.Read(ref passes) < seen + 2 && clock.Elapsed < StressTime)
                {
                    Thread.Yield();
                }
            });
        }
        stop.Cancel();
        backward.Wait();
        return (passes, Values(x.grad!));
    }

    /// <summary>
    /// 4. Four threads × 20000 registrations on one tensor corrupted libtorch's hook list. Now every hook is kept and
    /// runs once in a pass (80000 calls), and the 80000 indices libtorch returned are distinct.
    /// </summary>
    private static string RegisterOnFourThreads()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        const int Threads = 4, PerThread = 20_000;
        int calls = 0;
        var handles = new IDisposable[Threads * PerThread];
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                handles[t * PerThread + i] = x.RegisterHook(g => { Interlocked.Increment(ref calls); return null; });
            }
        });
        (x * 3).sum().Backward();
        float[] grad = Values(x.grad!);
        Expect(calls == Threads * PerThread, $"{calls} hooks ran, {Threads * PerThread} were registered");
        Expect(grad.SequenceEqual([3f, 3f, 3f]), $"x.grad [{string.Join(", ", grad)}], expected [3, 3, 3]");
        foreach (IDisposable h in handles)
        {
            h.Dispose();
        }
        return $"{calls} hooks registered on 4 threads, each ran once";
    }

    /// <summary>
    /// 5. Registering hooks while another thread loops Backward(retainGraph) through the tensor reallocated the hook
    /// list (and the node's pre-hook list) a pass was iterating. In rounds, each on a fresh y = 2x that passes already
    /// run through, 64 hooks are registered on it and one on x. The hooks keep the gradient (return null), so after n
    /// passes x.grad = 2n everywhere.
    /// </summary>
    private static string RegisterWhileBackwardRuns()
    {
        int registered = 0;
        long calls = 0;
        (int passes, float[] grad) = LoopBackwardInRounds((x, y) => publishedAndPassed =>
        {
            publishedAndPassed();
            for (int i = 0; i < 65; i++)
            {
                (i < 64 ? y : x).RegisterHook(g => { Interlocked.Increment(ref calls); return null; });
                registered++;
            }
        });
        Expect(passes > 0 && calls > 0, $"{passes} passes made {calls} hook calls");
        Expect(grad.All(v => v == 2f * passes), $"after {passes} passes x.grad [{string.Join(", ", grad)}], expected {2 * passes} everywhere");
        return $"{registered} hooks registered during {passes} passes ({calls} hook calls); x.grad = 2 × passes";
    }

    /// <summary>
    /// All at once for a bounded time: two threads loop Backward(retainGraph) through y = 2x (one of its hooks
    /// registers and removes a hook from inside the pass), two threads register and remove hooks on x and y. Every
    /// hook keeps the gradient, so x.grad = 2 × passes; nothing may deadlock (the parent's timeout) or crash.
    /// </summary>
    private static string RegisterDisposeBackwardMixed()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        Tensor y = x * 2;
        Tensor loss = y.sum();
        int passes = 0, registrations = 0, nested = 0;
        using IDisposable registering = y.RegisterHook(g =>
        {
            y.RegisterHook(h => h).Dispose();
            Interlocked.Increment(ref nested);
            return null;
        });
        var clock = Stopwatch.StartNew();
        var stressTime = TimeSpan.FromSeconds(1.5);
        Task[] workers = Enumerable.Range(0, 4).Select(w => Task.Factory.StartNew(() =>
        {
            var random = new Random(w);
            var mine = new List<IDisposable>();
            while (clock.Elapsed < stressTime)
            {
                if (w < 2)
                {
                    loss.Backward(retainGraph: true);
                    Interlocked.Increment(ref passes);
                }
                else if (mine.Count > 0 && random.Next(3) == 0)
                {
                    int i = random.Next(mine.Count);
                    mine[i].Dispose();
                    mine.RemoveAt(i);
                }
                else if (mine.Count < 200 && registrations < 6000)
                {
                    mine.Add((random.Next(2) == 0 ? x : y).RegisterHook(g => Random.Shared.Next(2) == 0 ? g : null));
                    Interlocked.Increment(ref registrations);
                }
            }
            mine.ForEach(h => h.Dispose());
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(workers);
        float[] grad = Values(x.grad!);
        Expect(passes > 0 && nested == passes, $"{passes} passes, the registering hook ran {nested} times");
        Expect(grad.All(v => v == 2f * passes), $"after {passes} passes x.grad [{string.Join(", ", grad)}], expected {2 * passes} everywhere");
        return $"{passes} passes, {registrations} registrations on other threads, {nested} from inside a hook; x.grad = 2 × passes";
    }
}
