namespace AutogradKit;

/// <summary>
/// What a random operation does under <see cref="TorchFunc.Vmap(Func{TorchSharp.torch.Tensor, TorchSharp.torch.Tensor}, int, int, Randomness, int?)"/>:
/// PyTorch's <c>vmap(..., randomness="error" | "different" | "same")</c>.
/// </summary>
public enum Randomness
{
    /// <summary>A random operation inside the mapped function is an error (PyTorch's default).</summary>
    Error,

    /// <summary>Each example of the batch draws its own random values.</summary>
    Different,

    /// <summary>Every example of the batch sees the same random values.</summary>
    Same,
}
