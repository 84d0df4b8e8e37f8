using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Non-reentrant checkpointing, PyTorch 2.x's <c>_checkpoint_without_reentrant</c>: f runs under saved-tensor hooks whose
/// pack keeps only a <see cref="Holder"/> (an index, no tensor), and whose unpack reruns f — under grad mode, with the
/// forward's random state, under hooks that keep a detached copy of each tensor the rerun saves — the first time a
/// backward pass needs a tensor that is not there, then hands out the rerun's tensor of the same index.
/// </summary>
/// <remarks>
/// Thread-safety: one checkpoint's frame is used by one backward pass at a time (as PyTorch's). The rerun's tensors
/// are kept until unpacked; leftovers and the random state go when the last placeholder is freed with the graph.
/// </remarks>
internal sealed class CheckpointFrame
{
    private readonly Func<Tensor[], Tensor> _f;
    private readonly Tensor[] _inputs;
    private readonly Tensor? _rngState;
    private readonly Lock _lock = new();
    private int _saved;
    private int _liveHolders;
    private Tensor?[] _recomputed = [];

    private CheckpointFrame(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor? rngState)
    {
        _f = f;
        _inputs = inputs;
        _rngState = rngState;
    }

    /// <summary>How many reruns all frames made (for tests).</summary>
    internal static int _reruns;

    /// <summary>Runs f under the checkpoint's hooks and returns its output.</summary>
    internal static Tensor Run(Func<Tensor[], Tensor> f, Tensor[] inputs, bool preserveRngState)
    {
        var frame = new CheckpointFrame(f, [.. inputs], CheckpointRng.Capture(preserveRngState));
        SavedTensorsHooksEntry entry = SavedTensorsHooksEntry.Hooks(_ => frame.Pack(), o => frame.Unpack((Holder)o), ownsResults: true, tensorless: true);
        Tensor output;
        try
        {
            using (Autograd.Graph.OpenHooks(entry))
            {
                output = f(frame._inputs);
            }
        }
        finally
        {
            frame.ReleaseIfUnused();
        }
        return output;
    }

    private Holder Pack()
    {
        lock (_lock)
        {
            _liveHolders++;
            return new Holder(this, _saved++);
        }
    }

    private Tensor Unpack(Holder holder)
    {
        Tensor? tensor;
        lock (_lock)
        {
            if (holder.Index >= _recomputed.Length || _recomputed[holder.Index] is null)
            {
                Rerun();
            }
            tensor = _recomputed[holder.Index];
            _recomputed[holder.Index] = null;
        }
        return tensor!;
    }

    private void Rerun()
    {
        DisposeRecomputed();
        for (int i = 0; i < _inputs.Length; i++)
        {
            // The rerun needs the inputs as they were: one disposed before backward cannot be rerun.
            TensorArguments.Live(_inputs[i], $"inputs[{i}]");
        }
        Interlocked.Increment(ref _reruns);
        var kept = new List<Tensor>(_saved);
        SavedTensorsHooksEntry keep = SavedTensorsHooksEntry.Hooks(
            t =>
            {
                kept.Add(t.detach().DetachFromDisposeScope());
                return kept.Count;
            },
            _ => throw new AutogradException("torch.utils.checkpoint: a tensor saved during recomputation was unpacked."),
            ownsResults: false);
        try
        {
            using DisposeScope scope = torch.NewDisposeScope();
            CheckpointRng.Replay(_rngState, () =>
            {
                using (Autograd.EnableGrad())
                using (Autograd.Graph.OpenHooks(keep))
                {
                    return _f(_inputs);
                }
            });
        }
        catch
        {
            kept.ForEach(t => t.Dispose());
            throw;
        }
        if (kept.Count != _saved)
        {
            kept.ForEach(t => t.Dispose());
            throw new AutogradException(
                "torch.utils.checkpoint: A different number of tensors was saved during the original forward and recomputation.",
                $"torch.utils.checkpoint: A different number of tensors was saved during the original forward and recomputation.\n" +
                $"Number of tensors saved during forward: {_saved}\nNumber of tensors saved during recomputation: {kept.Count}");
        }
        _recomputed = [.. kept];
    }

    private void DisposeRecomputed()
    {
        foreach (Tensor? t in _recomputed)
        {
            t?.Dispose();
        }
        _recomputed = [];
    }

    private void HolderFreed()
    {
        lock (_lock)
        {
            if (--_liveHolders == 0)
            {
                DisposeRecomputed();
                _rngState?.Dispose();
            }
        }
    }

    private void ReleaseIfUnused()
    {
        lock (_lock)
        {
            if (_liveHolders == 0)
            {
                _rngState?.Dispose();
            }
        }
    }

    /// <summary>PyTorch's <c>_Holder</c>: what a checkpointed saved tensor is packed to; freed with the saved tensor.</summary>
    private sealed class Holder(CheckpointFrame frame, int index) : IDisposable
    {
        public int Index { get; } = index;

        public void Dispose() => frame.HolderFreed();
    }
}
