namespace AutogradKit;

/// <summary>
/// How <see cref="Autograd.Functional.Jacobian(Func{TorchSharp.torch.Tensor, TorchSharp.torch.Tensor}, TorchSharp.torch.Tensor, bool, bool, bool, JacobianStrategy)"/>
/// (and a Hessian's outer Jacobian) is computed: PyTorch's <c>strategy="reverse-mode"</c> or <c>"forward-mode"</c>.
/// </summary>
public enum JacobianStrategy
{
    /// <summary>One backward pass a row (PyTorch's default); better when the function has fewer outputs than inputs.</summary>
    ReverseMode,

    /// <summary>Forward-mode AD, one column at a time; as in PyTorch, only with <c>vectorize: true</c> and without <c>createGraph</c> or <c>strict</c>.</summary>
    ForwardMode,
}
