using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>torch.random.fork_rng</c> around a checkpoint's rerun: the CPU generator's state captured at forward
/// time is put back for the rerun, and the state from before the rerun is restored after it.
/// </summary>
/// <remarks>Thread-safety: the generator is process-wide, as in PyTorch; not safe against other threads drawing numbers meanwhile.</remarks>
internal static class CheckpointRng
{
    /// <summary>The CPU generator's state now (a new tensor, detached from dispose scopes), or null when not preserved.</summary>
    internal static Tensor? Capture(bool preserve) => preserve ? torch.random.get_rng_state().DetachFromDisposeScope() : null;

    /// <summary>Runs <paramref name="rerun"/> with the generator in <paramref name="state"/> (if any), restoring the current state after.</summary>
    internal static T Replay<T>(Tensor? state, Func<T> rerun)
    {
        if (state is null)
        {
            return rerun();
        }
        using Tensor current = torch.random.get_rng_state().DetachFromDisposeScope();
        torch.random.set_rng_state(state);
        try
        {
            return rerun();
        }
        finally
        {
            torch.random.set_rng_state(current);
        }
    }
}
