using TorchSharp;
using TorchSharp.Modules;

namespace AutogradKit;

/// <summary>
/// Freezing for fine-tuning: <c>for p in model.parameters(): p.requires_grad = False</c> (and back) in one call.
/// </summary>
/// <remarks>Not thread-safe with respect to concurrent training on the same parameters: it flips flags other threads read.</remarks>
public static class FreezeExtensions
{
    /// <summary>Sets <c>requires_grad</c> to false on every parameter of <paramref name="module"/> and its submodules.</summary>
    /// <returns><paramref name="module"/>.</returns>
    public static T Freeze<T>(this T module) where T : torch.nn.Module => SetRequiresGrad(module, false);

    /// <summary>Sets <c>requires_grad</c> to true on every parameter of <paramref name="module"/> and its submodules.</summary>
    /// <returns><paramref name="module"/>.</returns>
    public static T Unfreeze<T>(this T module) where T : torch.nn.Module => SetRequiresGrad(module, true);

    /// <summary>Sets <c>requires_grad</c> to false on every parameter, enumerating <paramref name="parameters"/> once.</summary>
    /// <returns><paramref name="parameters"/>.</returns>
    public static IEnumerable<Parameter> Freeze(this IEnumerable<Parameter> parameters) => SetRequiresGrad(parameters, false);

    /// <summary>Sets <c>requires_grad</c> to true on every parameter, enumerating <paramref name="parameters"/> once.</summary>
    /// <returns><paramref name="parameters"/>.</returns>
    public static IEnumerable<Parameter> Unfreeze(this IEnumerable<Parameter> parameters) => SetRequiresGrad(parameters, true);

    private static T SetRequiresGrad<T>(T module, bool requiresGrad) where T : torch.nn.Module
    {
        ArgumentNullException.ThrowIfNull(module);
        LibTorchLoader.EnsureLoaded();
        foreach (Parameter p in module.parameters())
        {
            p.requires_grad = requiresGrad;
        }
        return module;
    }

    private static IEnumerable<Parameter> SetRequiresGrad(IEnumerable<Parameter> parameters, bool requiresGrad)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        LibTorchLoader.EnsureLoaded();
        foreach (Parameter p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            p.requires_grad = requiresGrad;
        }
        return parameters;
    }
}
