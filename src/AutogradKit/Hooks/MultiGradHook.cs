using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// One <c>Autograd.Graph.RegisterMultiGradHook</c>: a tensor hook a tensor that stores its gradient in the pass's
/// buffer and, at the last gradient the pass will compute, calls the user's function (PyTorch's <c>mode="all"</c>).
/// </summary>
/// <remarks>
/// Thread-safe: passes on several threads keep separate buffers, keyed by the engine's graph task id; removal may race
/// with a pass (a removed hook's tensor hooks stop being called).
/// </remarks>
internal sealed class MultiGradHook : IDisposable
{
    private sealed class PassState(int tensors)
    {
        public int Count;
        public int Expected;
        public readonly Tensor?[] Buffer = new Tensor?[tensors];
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<long, PassState> _passes = [];
    private readonly GradFn[] _nodes;
    private readonly Tensor[] _expanded;
    private readonly Action<Tensor?[]> _fn;
    private readonly List<IDisposable> _handles = [];
    private int _disposed;

    private MultiGradHook(GradFn[] nodes, Tensor[] expanded, Action<Tensor?[]> fn)
    {
        this._nodes = nodes;
        this._expanded = expanded;
        this._fn = fn;
    }

    /// <summary>Registers the hook on <paramref name="tensors"/> (checked by the caller).</summary>
    public static MultiGradHook Register(IReadOnlyList<Tensor> tensors, Action<Tensor?[]> fn)
    {
        var nodes = new GradFn[tensors.Count];
        var expanded = new List<Tensor>();
        using (Autograd.EnableGrad())
        {
            for (int i = 0; i < tensors.Count; i++)
            {
                // PyTorch's _get_grad_fn_or_grad_acc: a leaf's AccumulateGrad, reached (and kept) through a view of it.
                if (tensors[i].GradFn is { } node)
                {
                    nodes[i] = node;
                }
                else
                {
                    Tensor view = tensors[i].expand_as(tensors[i]).DetachFromDisposeScope();
                    expanded.Add(view);
                    nodes[i] = view.GradFn!.NextFunctions[0].Function!;
                }
            }
        }
        var hook = new MultiGradHook(nodes, [.. expanded], fn);
        try
        {
            for (int i = 0; i < tensors.Count; i++)
            {
                int index = i;
                hook._handles.Add(RegisterHookExtensions.Register(tensors[i], g => hook.Collect(index, g)));
            }
        }
        catch
        {
            hook.Dispose();
            throw;
        }
        return hook;
    }

    private Tensor? Collect(int index, Tensor grad)
    {
        long task = NativeGraphTask.CurrentId();
        PassState state;
        bool last;
        lock (_gate)
        {
            if (!_passes.TryGetValue(task, out state!))
            {
                state = new PassState(_nodes.Length);
                _passes.Add(task, state);
                state.Expected = _nodes.Count(n => NativeGraphTask.WillExecute(n.Node));
            }
            state.Buffer[index]?.Dispose();
            state.Buffer[index] = grad.alias().DetachFromDisposeScope();
            last = ++state.Count == state.Expected;
            if (last)
            {
                _passes.Remove(task);
            }
        }
        if (last)
        {
            try
            {
                _fn(state.Buffer);
            }
            finally
            {
                foreach (Tensor? t in state.Buffer)
                {
                    t?.Dispose();
                }
            }
        }
        return null;
    }

    /// <summary>Removes the tensor hooks and releases the nodes; a second call does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        foreach (IDisposable h in _handles)
        {
            h.Dispose();
        }
        foreach (Tensor view in _expanded)
        {
            view.Dispose();
        }
        lock (_gate)
        {
            foreach (PassState state in _passes.Values)
            {
                foreach (Tensor? t in state.Buffer)
                {
                    t?.Dispose();
                }
            }
            _passes.Clear();
        }
    }
}
