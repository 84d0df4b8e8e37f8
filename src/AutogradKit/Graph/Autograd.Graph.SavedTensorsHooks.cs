using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>
    /// <c>torch.autograd.graph</c>: hooks on what autograd saves for backward, and on the graph.
    /// </summary>
    /// <remarks>Thread-safety: every member may be called from any thread; scopes follow the async flow (see <see cref="Autograd"/>).</remarks>
    public static partial class Graph
    {
        /// <summary>
        /// <c>with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):</c> — every tensor an operation saves
        /// for backward in this async flow is handed to <paramref name="pack"/> when it is saved, and what pack returned
        /// is handed to <paramref name="unpack"/> when backward needs the tensor (once per use; with
        /// <c>retainGraph: true</c> again in a later pass).
        /// </summary>
        /// <param name="pack">Called with the tensor being saved (under no-grad); returns anything. It must not change the tensor in place.</param>
        /// <param name="unpack">Called with what pack returned; returns a tensor equal in shape, dtype and device to the one packed.</param>
        /// <returns>A scope that ends the hooks for tensors saved after it is disposed; tensors saved before keep theirs.</returns>
        /// <remarks>
        /// <para>As in PyTorch the hooks form a stack: the innermost scope's hooks apply; they apply to operations of
        /// this flow only (PyTorch: this thread), follow its <c>await</c>s and are inherited by work started inside it
        /// (see <see cref="Autograd"/> for the rules of flows, threads and nesting).</para>
        /// <para>The tensor handed to pack lives until autograd frees the saved tensor (after backward, or with the graph):
        /// pack may return it, or keep a copy (<c>t.clone()</c>) to use it longer. Tensors pack or unpack make belong to the
        /// caller's dispose scope as any other.</para>
        /// <para>An exception from <paramref name="unpack"/> reaches the caller of <see cref="BackwardExtensions"/>'s
        /// <c>Backward</c> or <c>Autograd.Grad</c> as
        /// itself; returning null is an <see cref="AutogradException"/> with PyTorch's "Output of saved tensor
        /// unpack_hook expected to be a Tensor but got result of type NoneType". An exception from
        /// <paramref name="pack"/> cannot unwind through libtorch's operation: the operation fails (TorchSharp raises
        /// libtorch's "A saved tensor pack hook is modifying its input in place" error, and the tensor's version counter
        /// keeps one extra count), and disposing this scope throws pack's exception as itself — so it is what leaves the
        /// <c>using</c> block.</para>
        /// </remarks>
        /// <exception cref="ArgumentNullException"><paramref name="pack"/> or <paramref name="unpack"/> is null.</exception>
        /// <exception cref="AutogradException">Saved-tensor hooks are disabled in this flow (<see cref="DisableSavedTensorsHooks"/>): the message given there.</exception>
        /// <example>
        /// <code>
        /// long saved = 0;
        /// using (Autograd.Graph.SavedTensorsHooks(t => { saved += t.NumberOfElements * t.ElementSize; return t; }, p => (Tensor)p))
        /// {
        ///     loss = model.forward(x).sum();
        /// }
        /// </code>
        /// </example>
        public static IDisposable SavedTensorsHooks(Func<Tensor, object> pack, Func<object, Tensor> unpack)
        {
            ArgumentNullException.ThrowIfNull(pack);
            ArgumentNullException.ThrowIfNull(unpack);
            return OpenHooks(SavedTensorsHooksEntry.Hooks(pack, unpack, ownsResults: false));
        }

        /// <summary>
        /// <c>with torch.autograd.graph.save_on_cpu(pin_memory):</c> — tensors saved for backward in this flow are kept on
        /// the CPU and moved back to their device when backward needs them.
        /// </summary>
        /// <param name="pinMemory">
        /// Copy into page-locked memory for faster, asynchronous transfers back, as PyTorch does. Without CUDA there is no
        /// page-locked memory: PyTorch then makes an ordinary CPU copy, and so does this.
        /// </param>
        /// <returns>A scope as <see cref="SavedTensorsHooks"/> returns.</returns>
        /// <exception cref="AutogradException">Saved-tensor hooks are disabled in this flow.</exception>
        public static IDisposable SaveOnCpu(bool pinMemory = false) => OpenHooks(SavedTensorsHooksEntry.Hooks(
            t => SaveOnCpuPacked.Pack(t, pinMemory),
            packed => ((SaveOnCpuPacked)packed).Unpack(pinMemory),
            ownsResults: true));

        /// <summary>
        /// <c>with torch.autograd.graph.disable_saved_tensors_hooks(error_message):</c> — no saved-tensor hooks run in this
        /// flow until the scope is disposed, and opening a <see cref="SavedTensorsHooks"/> scope inside it fails with
        /// <paramref name="errorMessage"/>.
        /// </summary>
        /// <param name="errorMessage">The message of the <see cref="AutogradException"/> that opening hooks inside raises.</param>
        /// <returns>A scope that restores the previous state when disposed.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="errorMessage"/> is null.</exception>
        /// <exception cref="AutogradException">A saved-tensor hooks scope is open in this flow: <paramref name="errorMessage"/>, as PyTorch raises it.</exception>
        public static IDisposable DisableSavedTensorsHooks(string errorMessage)
        {
            ArgumentNullException.ThrowIfNull(errorMessage);
            if (GradModeScope.InnermostSavedHooks(GradModeFlow.Innermost) is { IsDisabling: false })
            {
                throw new AutogradException(errorMessage);
            }
            return GradModeScope.OpenSavedTensorsHooks(SavedTensorsHooksEntry.Disabling(errorMessage));
        }

        /// <summary>Opens a hooks scope for <paramref name="entry"/> (internal hooks of checkpointing too).</summary>
        internal static SavedTensorsHooksScope OpenHooks(SavedTensorsHooksEntry entry)
        {
            NativeEngine.EnsureInstalled();
            if (GradModeScope.InnermostSavedHooks(GradModeFlow.Innermost) is { IsDisabling: true } disabled)
            {
                throw new AutogradException(disabled.DisabledMessage!);
            }
            return new SavedTensorsHooksScope(GradModeScope.OpenSavedTensorsHooks(entry), entry);
        }
    }
}

/// <summary>
/// An open <see cref="Autograd.Graph.SavedTensorsHooks"/> scope: the flow's scope, and the pack exception to rethrow
/// when it is disposed.
/// </summary>
/// <remarks>Thread-safety: as <see cref="GradModeScope"/>.</remarks>
internal sealed class SavedTensorsHooksScope(GradModeScope scope, SavedTensorsHooksEntry entry) : IDisposable
{
    /// <summary>The hooks of this scope.</summary>
    internal SavedTensorsHooksEntry Entry => entry;

    /// <summary>Ends the hooks in this flow, then throws the exception pack threw in the scope, if it did.</summary>
    public void Dispose()
    {
        scope.Dispose();
        entry.ThrowPackError();
    }
}

/// <summary>What <see cref="Autograd.Graph.SaveOnCpu"/> keeps for one saved tensor: PyTorch's <c>(device, cpu_tensor)</c>.</summary>
/// <remarks>Thread-safety: made on the thread that saved the tensor, used and disposed by libtorch's one owner at a time.</remarks>
internal sealed class SaveOnCpuPacked : IDisposable
{
    private readonly Device _device;
    private readonly Tensor _onCpu;

    private SaveOnCpuPacked(Device device, Tensor onCpu)
    {
        _device = device;
        _onCpu = onCpu;
    }

    /// <summary>PyTorch's <c>pack_to_cpu</c>: <c>tensor.cpu()</c>, or with pinning a copy into <c>torch.empty(…, pin_memory=cuda available and not sparse)</c>.</summary>
    internal static SaveOnCpuPacked Pack(Tensor tensor, bool pinMemory)
    {
        Tensor onCpu;
        if (!pinMemory)
        {
            onCpu = tensor.cpu();
        }
        else
        {
            onCpu = torch.empty(tensor.shape, tensor.dtype, torch.CPU);
            if (torch.cuda.is_available() && !tensor.is_sparse)
            {
                Tensor pinned = onCpu.pin_memory();
                onCpu.Dispose();
                onCpu = pinned;
            }
            onCpu.copy_(tensor);
        }
        return new SaveOnCpuPacked(tensor.device, onCpu.DetachFromDisposeScope());
    }

    /// <summary>PyTorch's <c>unpack_from_cpu</c>: <c>tensor.to(device, non_blocking=pin_memory)</c>.</summary>
    internal Tensor Unpack(bool pinMemory) => _onCpu.to(_device, non_blocking: pinMemory);

    /// <inheritdoc />
    public void Dispose() => _onCpu.Dispose();
}
