using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// libtorch's autograd engine entry points behind <see cref="NativeEngine"/>: C++ exports that never catch, called only
/// where they cannot throw, through <see cref="CxxExports"/> by this platform's name.
/// </summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>
    /// <c>torch::autograd::Engine&amp; Engine::get_default_engine()</c>: the process's engine (the base <c>Engine</c>
    /// without Python), made on first call. Throws nothing.
    /// </summary>
    internal static IntPtr Engine_get_default_engine() =>
        ((delegate* unmanaged<IntPtr>)CxxExports.EngineDefault.Address(EngineFeature, EngineReason))();

    /// <summary>
    /// <c>void torch::autograd::impl::bump_version(const at::Tensor&amp;)</c>: adds one to the tensor's version counter.
    /// Throws only for an undefined or inference tensor, which a tensor libtorch is saving for backward never is.
    /// </summary>
    internal static void Autograd_bump_version(IntPtr tensor) =>
        ((delegate* unmanaged<IntPtr, void>)CxxExports.AutogradBumpVersion.Address(EngineFeature, EngineReason))(tensor);

    /// <summary>
    /// <c>bool Engine::is_checkpoint_valid()</c>: false while the engine runs a pass that computes gradients for given
    /// inputs only (<c>torch.autograd.grad</c>, <c>backward(inputs=…)</c>), where reentrant checkpointing cannot work.
    /// Reads a thread-local flag; throws nothing.
    /// </summary>
    internal static bool Engine_is_checkpoint_valid(IntPtr engine) =>
        ((delegate* unmanaged<IntPtr, byte>)CxxExports.EngineIsCheckpointValid.Address(EngineFeature, EngineReason))(engine) != 0;

    private const string EngineFeature = "Checkpointing";

    private const string EngineReason = "it asks libtorch's autograd engine through C++ exports";
}
