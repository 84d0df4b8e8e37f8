using TorchSharp;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>torch.autograd</c> and grad-mode functions. Grad mode is per thread in libtorch, as in PyTorch.
/// </summary>
public static partial class Autograd
{
    /// <summary><c>torch.is_grad_enabled()</c>: whether operations on this thread record a graph.</summary>
    public static bool IsGradEnabled
    {
        get
        {
            LibTorchLoader.EnsureLoaded();
            return NativeMethods.THSAutograd_isGradEnabled();
        }
    }
}
