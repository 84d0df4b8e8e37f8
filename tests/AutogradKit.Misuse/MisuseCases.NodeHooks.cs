using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Misuse;

/// <summary>Wrong node hooks (<c>GradFn.RegisterHook/RegisterPrehook</c>): user code that throws or returns nonsense inside libtorch's engine, and removal racing a pass.</summary>
internal static partial class MisuseCases
{
    private sealed class NodeHookFault() : Exception("a node hook failed");

    private static void AddNodeHookCases(Action<string, Action<Random>> add)
    {
        add("node hook that misbehaves", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = r.Next(2) == 0 ? x * x : (x * 3).sin();
            GradFn fn = r.Next(3) == 0 ? y.GradFn!.NextFunctions[0].Function! : y.GradFn!;
            int fault = r.Next(7);
            Tensor?[] Misbehave(Tensor?[] grads) => fault switch
            {
                0 => throw new NodeHookFault(),
                1 => [.. grads, .. grads],
                2 => [],
                3 => [.. grads.Select(g => g is null ? torch.ones(3) : torch.ones(7, dtype: g.dtype))],
                4 => [.. grads.Select(g => g is null ? torch.ones(3) : g.to(g.dtype == ScalarType.Float32 ? ScalarType.Float64 : ScalarType.Float32))],
                5 => [.. grads.Select(g => { Tensor d = torch.ones(3); d.Dispose(); return g is null ? null : d; })],
                _ => grads,
            };
            using IDisposable h = r.Next(2) == 0 ? fn.RegisterPrehook(Misbehave) : fn.RegisterHook((gi, _) => Misbehave(gi));
            Action pass = r.Next(2) == 0 ? () => y.sum().Backward() : () => Autograd.Grad([y.sum()], [x], allowUnused: true);
            try
            {
                pass();
            }
            catch (Exception e) when (e is NodeHookFault or AutogradException or ObjectDisposedException)
            {
                // The hook's own exception or PyTorch's check of what it returned: typed.
            }
        });
        add("node hook registered on a disposed GradFn", r =>
        {
            Tensor y = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]) * 2;
            GradFn fn = y.GradFn!;
            y.Dispose();
            if (r.Next(2) == 0)
            {
                Expect<ObjectDisposedException>(() => fn.RegisterHook((_, _) => null));
            }
            else
            {
                Expect<ObjectDisposedException>(() => fn.RegisterPrehook(_ => null));
            }
        });
        add("node hook disposed while another thread runs backward", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * x).sin();
            using var started = new ManualResetEventSlim();
            IDisposable h = r.Next(2) == 0
                ? y.GradFn!.RegisterPrehook(g =>
                {
                    started.Set();
                    Thread.Sleep(r.Next(3));
                    return [g[0]! * 2];
                })
                : y.GradFn!.RegisterHook((gi, _) =>
                {
                    started.Set();
                    Thread.Sleep(r.Next(3));
                    return null;
                });
            Exception? failed = null;
            var pass = new Thread(() =>
            {
                try
                {
                    y.sum().Backward(retainGraph: true);
                    y.sum().Backward();
                }
                catch (Exception e)
                {
                    failed = e;
                }
            });
            pass.Start();
            started.Wait(TimeSpan.FromSeconds(5));
            h.Dispose();
            pass.Join();
            Require(failed is null, $"the pass failed: {failed}");
        });
        add("node hook that registers node hooks", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * 2).exp();
            GradFn inner = y.GradFn!.NextFunctions[0].Function!;
            var handles = new List<IDisposable>();
            using IDisposable h = y.GradFn!.RegisterPrehook(_ =>
            {
                handles.Add(inner.RegisterPrehook(g => g));
                return null;
            });
            try
            {
                y.sum().Backward();
            }
            finally
            {
                handles.ForEach(d => d.Dispose());
            }
        });
        add("post-accumulate-grad hook misused", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: r.Next(4) != 0, shape: [3]);
            Tensor target = r.Next(3) == 0 && x.requires_grad ? x * 2 : x;
            switch (r.Next(3))
            {
                case 0 when !target.requires_grad || target.GradFn is not null:
                    Expect<AutogradException>(() => target.RegisterPostAccumulateGradHook(_ => { }));
                    break;
                case 1 when x.requires_grad && target.GradFn is null:
                    using (x.RegisterPostAccumulateGradHook(_ => throw new NodeHookFault()))
                    {
                        ExpectAndContinue<NodeHookFault>(() => (x * x).sum().Backward());
                    }
                    break;
                default:
                    if (x.requires_grad && target.GradFn is null)
                    {
                        IDisposable h = x.RegisterPostAccumulateGradHook(p => p.grad!.mul_(2));
                        PassWhile(() => (x * x).sum().Backward(), h.Dispose);
                    }
                    break;
            }
        });
        add("Backward with wrong inputs", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * 2).exp();
            switch (r.Next(5))
            {
                case 0:
                    Expect<AutogradException>(() => y.sum().Backward(inputs: []));
                    break;
                case 1:
                    Expect<AutogradException>(() => y.sum().Backward(inputs: [x, torch.ones(3)]));
                    break;
                case 2:
                    Tensor gone = torch.ones(3, requires_grad: true);
                    gone.Dispose();
                    Expect<ObjectDisposedException>(() => y.sum().Backward(inputs: [gone]));
                    break;
                case 3:
                    y.sum().Backward(inputs: [y, x, x]);
                    break;
                default:
                    y.sum().Backward(inputs: [torch.ones(2, requires_grad: true)]);
                    break;
            }
        });
        add("multi-grad hook misused", r =>
        {
            Tensor a = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor b = RandomTensor(r, FloatTypes, requiresGrad: r.Next(4) != 0, shape: [3]);
            Tensor c = a * b;
            switch (r.Next(4))
            {
                case 0 when !b.requires_grad:
                    Expect<AutogradException>(() => Autograd.Graph.RegisterMultiGradHook([a, b], _ => { }));
                    break;
                case 1:
                    Tensor gone = torch.ones(3, requires_grad: true);
                    gone.Dispose();
                    Expect<ObjectDisposedException>(() => Autograd.Graph.RegisterMultiGradHook([a, gone], _ => { }));
                    break;
                case 2:
                    using (Autograd.Graph.RegisterMultiGradHook([a, c], _ => throw new NodeHookFault()))
                    {
                        ExpectAndContinue<NodeHookFault>(() => c.sum().Backward());
                    }
                    break;
                default:
                    IDisposable h = Autograd.Graph.RegisterMultiGradHook([a, c], g => _ = g[0]!.sum().ToDouble());
                    PassWhile(() => (c * 2).sum().Backward(), h.Dispose);
                    break;
            }
        });
        add("module backward hook misused", r =>
        {
            using var linear = nn.Linear(3, 2);
            Tensor x = RandomTensor(r, [ScalarType.Float32], requiresGrad: r.Next(3) != 0, shape: [4, 3]);
            int fault = r.Next(5);
            using IDisposable h = fault switch
            {
                0 => linear.RegisterFullBackwardHook((_, _, _) => throw new NodeHookFault()),
                1 => linear.RegisterFullBackwardHook((_, gi, _) => [.. gi, .. gi]),
                2 => linear.RegisterFullBackwardPreHook((_, go) => []),
                3 => linear.RegisterFullBackwardHook((_, gi, _) => [.. gi.Select(g => g is null ? torch.ones(4, 3) : g[..1])]),
                _ => linear.RegisterFullBackwardPreHook((_, _) => throw new NodeHookFault()),
            };
            try
            {
                linear.call(x).sum().Backward();
            }
            catch (Exception e) when (e is NodeHookFault or AutogradException)
            {
                // The hook's own exception or PyTorch's check of what it returned: typed.
            }
        });
        add("module backward hook on an unsupported module", r =>
            Expect<ArgumentException>(() => nn.Bilinear(2, 2, 1).RegisterFullBackwardHook((_, _, _) => null)));
    }

    /// <summary>Runs <paramref name="pass"/> on another thread while this one does <paramref name="meanwhile"/>; the pass must not fail.</summary>
    private static void PassWhile(Action pass, Action meanwhile)
    {
        Exception? failed = null;
        var thread = new Thread(() =>
        {
            try
            {
                pass();
            }
            catch (Exception e)
            {
                failed = e;
            }
        });
        thread.Start();
        meanwhile();
        thread.Join();
        Require(failed is null, $"the pass failed: {failed}");
    }
}
