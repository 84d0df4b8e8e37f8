using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// libtorch's forward-mode AD: its process-wide list of dual levels (<c>torch::autograd::ForwardADLevel</c>,
/// <c>torch/csrc/autograd/forward_grad.h</c>) and the <c>_make_dual</c> / <c>_unpack_dual</c> operators.
/// </summary>
/// <remarks>
/// <para>The level calls are direct C++ exports with no error channel: <c>get_next_idx</c> throws when a level
/// already exists, <c>release_idx</c> when the index is not the last level. <see cref="Autograd.ForwardAD"/>
/// keeps the one level AutogradKit may have open under its own lock and refuses both cases before calling, with
/// PyTorch's message. Nothing else in the process opens levels (TorchSharp has no forward-mode API).</para>
/// <para>The operators run inside a TorchScript function compiled once, through TorchSharp's exception-catching
/// TorchScript entry point: <c>_make_dual</c> throws for many inputs (a tangent of another size, a primal that
/// already has a tangent at the level, an index that is not a level), and the catching route turns every such
/// error into a typed exception through <see cref="Ensure"/> without listing them here.</para>
/// <para>Thread-safety: the level calls must be serialised by the caller (they are, under
/// <see cref="Autograd.ForwardAD"/>'s lock); the operators may run on any thread.</para>
/// </remarks>
internal static class NativeForwardAD
{
    private const string Script = """
        def make_dual(primal: Tensor, tangent: Tensor, level: int):
            return torch._make_dual(primal, tangent, level)

        def unpack_dual(tensor: Tensor, level: int):
            return torch._unpack_dual(tensor, level)
        """;

    private static readonly Lazy<TorchScriptUnit> Unit = new(() => TorchScriptUnit.Compile(Script), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary><c>ForwardADLevel::get_next_idx()</c>: creates the next level and returns its index.</summary>
    /// <remarks>The caller has checked that no level exists: libtorch throws otherwise.</remarks>
    /// <exception cref="PlatformNotSupportedException">This platform's libtorch export was not verified.</exception>
    public static unsafe long EnterLevel() =>
        (long)((delegate* unmanaged<ulong>)CxxExports.ForwardLevelNext.Address(Feature, Reason))();

    /// <summary><c>ForwardADLevel::release_idx(level)</c>: destroys the level, and with it every tangent of that level.</summary>
    /// <remarks>The caller has checked that <paramref name="level"/> is the last level: libtorch throws otherwise.</remarks>
    public static unsafe void ExitLevel(long level) =>
        ((delegate* unmanaged<ulong, void>)CxxExports.ForwardLevelRelease.Address(Feature, Reason))((ulong)level);

    private const string Feature = "Forward-mode AD";

    private const string Reason = "it opens libtorch's dual levels through C++ exports";

    /// <summary><c>at::_make_dual(primal, tangent, level)</c>.</summary>
    public static Tensor MakeDual(Tensor primal, Tensor tangent, long level) =>
        Unit.Value.Invoke("make_dual\0"u8, primal, tangent, (int)level)[0]!;

    /// <summary><c>at::_unpack_dual(tensor, level)</c>: the primal (a view of <paramref name="tensor"/>) and the tangent, null when there is none.</summary>
    public static (Tensor Primal, Tensor? Tangent) UnpackDual(Tensor tensor, long level)
    {
        Tensor?[] parts = Unit.Value.Invoke("unpack_dual\0"u8, tensor, (int)level);
        return (parts[0]!, parts[1]);
    }
}
