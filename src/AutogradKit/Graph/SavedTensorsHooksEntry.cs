using System.Runtime.ExceptionServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The pack and unpack functions of one <see cref="Autograd.Graph.SavedTensorsHooks"/> scope (or the error message of
/// a <see cref="Autograd.Graph.DisableSavedTensorsHooks"/> scope), as the flow's scopes carry them: libtorch's engine
/// asks for them each time an operation saves a tensor for backward on a thread running that flow.
/// </summary>
/// <remarks>
/// Thread-safety: immutable but for the first pack exception, which any thread may record (first one wins) and the
/// scope's owner takes when it is disposed.
/// </remarks>
internal sealed class SavedTensorsHooksEntry
{
    private ExceptionDispatchInfo? _packError;

    private SavedTensorsHooksEntry(Func<Tensor, object>? pack, Func<object, Tensor>? unpack, string? disabledMessage, bool ownsResults, bool tensorless = false)
    {
        OwnsResults = ownsResults;
        Tensorless = tensorless;
        Pack = pack;
        Unpack = unpack;
        DisabledMessage = disabledMessage;
    }

    /// <summary>Hooks that pack and unpack every tensor saved in the scope.</summary>
    /// <param name="pack">The pack function.</param>
    /// <param name="unpack">The unpack function.</param>
    /// <param name="ownsResults">
    /// Whether the hooks are AutogradKit's own: what pack returns is <see cref="IDisposable"/> and disposed when the saved
    /// tensor is freed, and each tensor unpack returns is a new wrapper, disposed once libtorch holds its own reference.
    /// </param>
    /// <param name="tensorless">Pack does not look at the tensor (it gets null): no wrapper is made for it (checkpointing's placeholders).</param>
    internal static SavedTensorsHooksEntry Hooks(Func<Tensor, object> pack, Func<object, Tensor> unpack, bool ownsResults, bool tensorless = false) =>
        new(pack, unpack, null, ownsResults, tensorless);

    /// <summary>A scope in which no hooks run and opening a hooks scope fails with <paramref name="message"/>.</summary>
    internal static SavedTensorsHooksEntry Disabling(string message) => new(null, null, message, false);

    /// <summary>Whether pack's results and unpack's tensors are AutogradKit's to dispose (see <see cref="Hooks"/>).</summary>
    internal bool OwnsResults { get; }

    /// <summary>Whether pack is called with null instead of the tensor (see <see cref="Hooks"/>).</summary>
    internal bool Tensorless { get; }

    /// <summary>The pack function (null for a disabling scope).</summary>
    internal Func<Tensor, object>? Pack { get; }

    /// <summary>The unpack function (null for a disabling scope).</summary>
    internal Func<object, Tensor>? Unpack { get; }

    /// <summary>PyTorch's <c>disable_saved_tensors_hooks(error_message)</c> text; null for hooks.</summary>
    internal string? DisabledMessage { get; }

    /// <summary>Whether this is a <see cref="Autograd.Graph.DisableSavedTensorsHooks"/> scope.</summary>
    internal bool IsDisabling => DisabledMessage is not null;

    /// <summary>How many tensors were packed (for tests and the checkpoint's bookkeeping).</summary>
    internal int _packCount;

    /// <summary>Keeps the first exception the pack function threw; the operation that called it failed.</summary>
    internal void RecordPackError(Exception error) =>
        Interlocked.CompareExchange(ref _packError, ExceptionDispatchInfo.Capture(error), null);

    /// <summary>Rethrows (once) the exception the pack function threw, with its own stack; does nothing when it never threw.</summary>
    internal void ThrowPackError() => Interlocked.Exchange(ref _packError, null)?.Throw();

    /// <summary>Forgets the exception the pack function threw, if any.</summary>
    internal void ClearPackError() => Interlocked.Exchange(ref _packError, null);
}
