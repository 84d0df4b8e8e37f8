namespace AutogradKit;

/// <summary>
/// PyTorch's <c>RemovableHandle</c> for hooks whose removal is one managed action (node hooks, post-accumulate-grad
/// hooks, multi-grad hooks, module hooks): <see cref="Dispose"/> runs it once. It holds no tensor or graph.
/// </summary>
/// <remarks>Thread-safe: <see cref="Dispose"/> may race with itself and with a backward pass on another thread.</remarks>
internal sealed class HookHandle(Action remove) : IDisposable
{
    private Action? _remove = remove;

    /// <summary>Removes the hook; a second call does nothing.</summary>
    public void Dispose() => Interlocked.Exchange(ref _remove, null)?.Invoke();
}
