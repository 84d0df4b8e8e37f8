using TorchSharp;

namespace AutogradKit;

/// <summary>Where <c>Repr</c> learns the name of a tensor's <c>grad_fn</c>.</summary>
internal static class GradFnNameForRepr
{
    /// <summary>The <c>grad_fn</c> node's name (<c>"MulBackward0"</c>), or <see langword="null"/> for a leaf.</summary>
    internal static string? GradFnNameOf(torch.Tensor t)
    {
        // Integration of the repr and gradfn branches (done in branch bench, which merges both).
        return t.GradFn?.Name;
    }
}
