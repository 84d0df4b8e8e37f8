namespace AutogradKit;

/// <summary>
/// PyTorch's <c>torch.autograd</c> and grad-mode functions. Grad-mode scopes follow the async flow (see the
/// grad-mode remarks); libtorch applies them per thread.
/// </summary>
public static partial class Autograd
{
    /// <summary>
    /// <c>torch.is_grad_enabled()</c>: whether operations on the current thread record a graph — libtorch's
    /// per-thread mode, which follows the AutogradKit scopes of the flow running on the thread.
    /// </summary>
    public static bool IsGradEnabled
    {
        get
        {
            LibTorchLoader.EnsureLoaded();
            return NativeGradMode.IsGradEnabled;
        }
    }
}
