using TorchSharp;
using TorchSharp.Modules;

namespace AutogradKit;

/// <summary>
/// Freezing for fine-tuning: <c>for p in model.parameters(): p.requires_grad = False</c> (and back) in one call.
/// </summary>
/// <remarks>
/// Every parameter is checked before any flag changes, so a call that throws changes nothing (PyTorch's loop would
/// stop half-way). Not thread-safe with respect to concurrent training on the same parameters: it flips flags other
/// threads read.
/// </remarks>
public static class FreezeExtensions
{
    /// <summary>PyTorch's error for <c>p.requires_grad = True</c> on a parameter of an integer or bool dtype.</summary>
    internal const string NotDifferentiableMessage = "only Tensors of floating point and complex dtype can require gradients";

    extension<T>(T module) where T : torch.nn.Module
    {
        /// <summary>Sets <c>requires_grad</c> to false on every parameter of <paramref name="module"/> and its submodules.</summary>
        /// <returns><paramref name="module"/>.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="module"/> is null.</exception>
        /// <exception cref="ObjectDisposedException">A parameter was disposed; nothing was changed.</exception>
        public T Freeze() => SetRequiresGrad(module, false);

        /// <summary>Sets <c>requires_grad</c> to true on every parameter of <paramref name="module"/> and its submodules.</summary>
        /// <returns><paramref name="module"/>.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="module"/> is null.</exception>
        /// <exception cref="AutogradException">A parameter's dtype is not floating point or complex (PyTorch: "only Tensors
        /// of floating point and complex dtype can require gradients"); nothing was changed.</exception>
        /// <exception cref="ObjectDisposedException">A parameter was disposed; nothing was changed.</exception>
        public T Unfreeze() => SetRequiresGrad(module, true);
    }

    extension(IEnumerable<Parameter> parameters)
    {
        /// <summary>Sets <c>requires_grad</c> to false on every parameter, enumerating <paramref name="parameters"/> once.</summary>
        /// <returns><paramref name="parameters"/>.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="parameters"/> or one of them is null; nothing was changed.</exception>
        /// <exception cref="ObjectDisposedException">A parameter was disposed; nothing was changed.</exception>
        public IEnumerable<Parameter> Freeze() => SetRequiresGrad(parameters, false);

        /// <summary>Sets <c>requires_grad</c> to true on every parameter, enumerating <paramref name="parameters"/> once.</summary>
        /// <returns><paramref name="parameters"/>.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="parameters"/> or one of them is null; nothing was changed.</exception>
        /// <exception cref="AutogradException">A parameter's dtype is not floating point or complex; nothing was changed.</exception>
        /// <exception cref="ObjectDisposedException">A parameter was disposed; nothing was changed.</exception>
        public IEnumerable<Parameter> Unfreeze() => SetRequiresGrad(parameters, true);
    }

    private static T SetRequiresGrad<T>(T module, bool requiresGrad) where T : torch.nn.Module
    {
        ArgumentNullException.ThrowIfNull(module);
        LibTorchLoader.EnsureLoaded();
        Apply(module.parameters().ToList(), requiresGrad, nameof(module));
        return module;
    }

    private static IEnumerable<Parameter> SetRequiresGrad(IEnumerable<Parameter> parameters, bool requiresGrad)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        LibTorchLoader.EnsureLoaded();
        Apply(parameters.ToList(), requiresGrad, nameof(parameters));
        return parameters;
    }

    /// <summary>Checks every parameter, then sets the flag on each.</summary>
    private static void Apply(List<Parameter> parameters, bool requiresGrad, string paramName)
    {
        foreach (Parameter p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, paramName);
            ObjectDisposedException.ThrowIf(p.IsInvalid, p);
            if (requiresGrad && !TensorArguments.HasDifferentiableDtype(p))
            {
                throw new AutogradException(NotDifferentiableMessage);
            }
        }
        foreach (Parameter p in parameters)
        {
            p.requires_grad = requiresGrad;
        }
    }
}
