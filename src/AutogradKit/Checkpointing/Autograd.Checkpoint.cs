using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>
    /// <c>torch.utils.checkpoint.checkpoint(f, *inputs, use_reentrant=…, preserve_rng_state=…)</c>: runs
    /// <paramref name="f"/> without keeping what its operations save for backward, and runs it again during backward
    /// to get those tensors back — less memory for one more forward computation.
    /// </summary>
    /// <param name="f">The computation; it must do the same operations when run again (same control flow).</param>
    /// <param name="inputs">Its inputs. They must stay alive (undisposed) until backward has run.</param>
    /// <param name="useReentrant">
    /// false (PyTorch 2.x's default): saved-tensor hooks replace every tensor f's operations save by a placeholder, and
    /// the first unpack in a backward pass reruns f to fill them; works with <c>Backward</c>, <c>Autograd.Grad</c>,
    /// nested graphs and inputs that do not require grad. true: a custom function (<c>CheckpointFunctionBackward</c>)
    /// whose backward reruns f on detached inputs and runs a backward pass inside the pass; only with
    /// <c>Backward</c> (PyTorch's "Checkpointing is not compatible with .grad()" otherwise), and without any input that
    /// requires grad the gradients of f's parameters are not computed (PyTorch's warning).
    /// </param>
    /// <param name="preserveRngState">
    /// Run f again with the random-number state it had the first time (dropout draws the same mask), and restore the
    /// state afterwards; CPU generator (TorchSharp has no per-device CUDA state getter: CUDA's is not preserved).
    /// </param>
    /// <returns>f's output; its gradients equal those of <c>f(inputs)</c> run plainly.</returns>
    /// <remarks>
    /// Thread-safety: as f. Exceptions thrown by f during the rerun reach the caller of <c>Backward</c> or
    /// <c>Autograd.Grad</c> as themselves. A rerun that saves a different number of tensors raises PyTorch 2.x's
    /// "torch.utils.checkpoint: A different number of tensors was saved during the original forward and recomputation."
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="f"/>, <paramref name="inputs"/> or an input is null.</exception>
    /// <exception cref="ObjectDisposedException">An input was disposed.</exception>
    public static Tensor Checkpoint(Func<Tensor[], Tensor> f, Tensor[] inputs, bool useReentrant = false, bool preserveRngState = true)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null)
            {
                throw new ArgumentNullException(nameof(inputs), $"inputs[{i}] is null.");
            }
            TensorArguments.Live(inputs[i], $"inputs[{i}]");
        }
        return useReentrant
            ? new CheckpointFunction(f, preserveRngState).Apply(inputs)[0]
            : CheckpointFrame.Run(f, inputs, preserveRngState);
    }

    /// <summary><see cref="Checkpoint(Func{Tensor[], Tensor}, Tensor[], bool, bool)"/> of a one-input function.</summary>
    /// <param name="f">The computation.</param>
    /// <param name="input">Its input; it must stay alive until backward has run.</param>
    /// <param name="useReentrant">See the array overload.</param>
    /// <param name="preserveRngState">See the array overload.</param>
    /// <returns>f's output.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or <paramref name="input"/> is null.</exception>
    public static Tensor Checkpoint(Func<Tensor, Tensor> f, Tensor input, bool useReentrant = false, bool preserveRngState = true)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(input);
        return Checkpoint(xs => f(xs[0]), [input], useReentrant, preserveRngState);
    }

    /// <summary>
    /// <c>torch.utils.checkpoint.checkpoint_sequential(sequential, segments, input, use_reentrant=…)</c>: splits the
    /// children of <paramref name="sequential"/> into <paramref name="segments"/> runs of
    /// <c>children / segments</c> modules and checkpoints every segment but the last, which runs plainly (its
    /// activations are needed at once by backward), exactly as PyTorch splits them.
    /// </summary>
    /// <param name="sequential">A <c>torch.nn.Sequential</c> whose children are <c>Module&lt;Tensor, Tensor&gt;</c>; any other module is one segment.</param>
    /// <param name="segments">How many segments, from 1 to the number of children.</param>
    /// <param name="input">The input of the first child.</param>
    /// <param name="useReentrant">See <see cref="Checkpoint(Func{Tensor[], Tensor}, Tensor[], bool, bool)"/>.</param>
    /// <returns>The output of the last child.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sequential"/> or <paramref name="input"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="segments"/> is below 1 or above the number of children.</exception>
    /// <exception cref="ArgumentException">A child of the sequential is not a <c>Module&lt;Tensor, Tensor&gt;</c>.</exception>
    public static Tensor CheckpointSequential(nn.Module<Tensor, Tensor> sequential, int segments, Tensor input, bool useReentrant = false)
    {
        ArgumentNullException.ThrowIfNull(sequential);
        ArgumentNullException.ThrowIfNull(input);
        nn.Module<Tensor, Tensor>[] functions = sequential is TorchSharp.Modules.Sequential seq
            ? [.. seq.children().Select((m, i) => m as nn.Module<Tensor, Tensor>
                ?? throw new ArgumentException($"Child {i} of the sequential ({m.GetType().Name}) is not a Module<Tensor, Tensor>.", nameof(sequential)))]
            : [sequential];
        ArgumentOutOfRangeException.ThrowIfLessThan(segments, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(segments, functions.Length);

        int segmentSize = functions.Length / segments;
        int end = -1;
        Tensor x = input;
        for (int start = 0; start < segmentSize * (segments - 1); start += segmentSize)
        {
            end = start + segmentSize - 1;
            Tensor next = Checkpoint(RunSegment(functions, start, end), x, useReentrant, preserveRngState: true);
            x = next;
        }
        return RunSegment(functions, end + 1, functions.Length - 1)(x);
    }

    private static Func<Tensor, Tensor> RunSegment(nn.Module<Tensor, Tensor>[] functions, int start, int end) => x =>
    {
        for (int j = start; j <= end; j++)
        {
            x = functions[j].forward(x);
        }
        return x;
    };
}
