using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// <c>torch.autograd.forward_ad.UnpackedDualTensor</c>: what <see cref="Autograd.ForwardAD.UnpackDual"/> returns.
/// </summary>
/// <param name="Primal">The tensor's value, without its tangent (a view of the dual tensor).</param>
/// <param name="Tangent">Its forward gradient at the current level, or null when it has none (Python's None).</param>
public readonly record struct UnpackedDual(Tensor Primal, Tensor? Tangent);
