using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>Checks on tensor arguments shared by the extension members.</summary>
/// <remarks>Stateless; safe to use from any thread.</remarks>
internal static class TensorArguments
{
    /// <summary>
    /// <paramref name="t"/> itself, or <see cref="ObjectDisposedException"/> naming the argument when it was disposed
    /// (TorchSharp would say only "Tensor invalid -- empty handle.").
    /// </summary>
    internal static Tensor Live(Tensor t, string paramName)
    {
        if (t.IsInvalid)
        {
            throw new ObjectDisposedException(nameof(Tensor), $"The tensor '{paramName}' was disposed.");
        }
        return t;
    }

    /// <summary>The error for a null element of a tensor sequence argument.</summary>
    /// <remarks>
    /// A helper rather than an inline <c>throw</c> because CA2208 does not see an extension block's receiver as a
    /// parameter (dotnet/sdk#51887).
    /// </remarks>
    internal static ArgumentNullException NullElement(string paramName, int index) =>
        new(paramName, $"The tensor at index {index} is null.");

    /// <summary>
    /// Whether <paramref name="t"/>'s dtype can carry gradients (floating point or complex): what libtorch requires of
    /// a tensor that requires grad and of a forward-mode primal or tangent.
    /// </summary>
    internal static bool HasDifferentiableDtype(Tensor t) => t.is_floating_point() || t.is_complex();
}
