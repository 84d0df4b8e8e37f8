using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;
using Parameter = TorchSharp.Modules.Parameter;

namespace AutogradKit;

/// <summary>
/// Puts given tensors in place of a TorchSharp module's parameters and buffers for one call, as PyTorch's
/// <c>functional_call</c> reparametrizes a module: each named parameter's field (the one its module's
/// <c>forward</c> reads, found by reference among the module's instance fields) is set to a
/// <see cref="Parameter"/> that shares the given tensor's <c>TensorImpl</c> — no copy, no <c>requires_grad</c>
/// change, so transformed (batched, grad-wrapped) tensors flow through the module — and restored afterwards.
/// </summary>
/// <remarks>Not thread-safe: the module is changed for the duration of the call, so it must not be used by another
/// thread meanwhile (as in PyTorch).</remarks>
internal sealed class ModuleTensorSwap : IDisposable
{
    private readonly List<(FieldInfo Field, object Owner, object? Original, Tensor Substitute)> _swapped = [];

    private ModuleTensorSwap()
    {
    }

    /// <summary>Swaps in <paramref name="tensors"/> by their dotted names; undone by <see cref="Dispose"/>.</summary>
    /// <exception cref="ArgumentException">A name is not a parameter or buffer of the module.</exception>
    /// <exception cref="NotSupportedException">A parameter is not held in a field of its module.</exception>
    public static ModuleTensorSwap Apply(Module module, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var current = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, parameter) in module.named_parameters())
        {
            current[name] = parameter;
        }
        foreach (var (name, buffer) in module.named_buffers())
        {
            current.TryAdd(name, buffer);
        }
        string[] unexpected = tensors.Keys.Where(k => !current.ContainsKey(k)).ToArray();
        if (unexpected.Length > 0)
        {
            throw new ArgumentException(
                $"Unexpected key(s): {string.Join(", ", unexpected.Select(k => $"'{k}'"))}.", nameof(tensors));
        }
        var modules = module.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        modules[string.Empty] = module;
        var swap = new ModuleTensorSwap();
        try
        {
            foreach (var (name, tensor) in tensors)
            {
                ArgumentNullException.ThrowIfNull(tensor, nameof(tensors));
                int dot = name.LastIndexOf('.');
                Module owner = modules[dot < 0 ? string.Empty : name[..dot]];
                swap.Replace(owner, name, current[name], tensor);
            }
        }
        catch
        {
            swap.Dispose();
            throw;
        }
        return swap;
    }

    private void Replace(Module owner, string name, Tensor original, Tensor substitute)
    {
        for (Type? type = owner.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
            {
                if (!typeof(Tensor).IsAssignableFrom(field.FieldType) || !ReferenceEquals(field.GetValue(owner), original))
                {
                    continue;
                }
                Tensor replacement = field.FieldType.IsAssignableFrom(typeof(Parameter))
                    ? ParameterSharing(substitute)
                    : substitute.alias();
                field.SetValue(owner, replacement);
                _swapped.Add((field, owner, original, replacement));
                return;
            }
        }
        throw new NotSupportedException($"FunctionalCall: '{name}' is not held in a field of its module {owner.GetType().Name}.");
    }

    /// <summary>A <see cref="Parameter"/> object sharing <paramref name="tensor"/>'s TensorImpl (TorchSharp's handle constructor).</summary>
    private static Parameter ParameterSharing(Tensor tensor)
    {
        IntPtr handle = NativeMethods.THSTensor_alias(tensor.Handle);
        GC.KeepAlive(tensor);
        return (Parameter)Activator.CreateInstance(
            typeof(Parameter), BindingFlags.Instance | BindingFlags.NonPublic, null, [handle], null)!;
    }

    /// <summary>Puts every original back (last swapped first) and releases the substitutes.</summary>
    public void Dispose()
    {
        for (int i = _swapped.Count - 1; i >= 0; i--)
        {
            var (field, owner, original, substitute) = _swapped[i];
            field.SetValue(owner, original);
            substitute.Dispose();
        }
        _swapped.Clear();
    }
}
