using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's checks of what a Python hook returns (torch/csrc/autograd/python_hook.cpp: <c>check_result</c>,
/// <c>check_single_result</c>, <c>check_variable_result</c>), with PyTorch's messages, for C# node and module hooks.
/// </summary>
/// <remarks>Stateless, so thread-safe.</remarks>
internal static class NodeHookResults
{
    /// <summary>
    /// PyTorch's <c>hook_name</c>: a named method's name, <c>&lt;lambda&gt;</c> for a C# lambda or local function (the
    /// compiler's names for them contain angle brackets).
    /// </summary>
    public static string NameOf(Delegate hook) =>
        hook.Method.Name.Contains('<', StringComparison.Ordinal) ? "<lambda>" : hook.Method.Name;

    /// <summary>
    /// Returns <paramref name="result"/> when it may replace <paramref name="original"/>: the same count, no gradient made
    /// out of an undefined one, the same type and size for each; throws PyTorch's <see cref="AutogradException"/> otherwise.
    /// </summary>
    public static Tensor?[] Check(Tensor?[] original, Tensor?[] result, string hookName)
    {
        if (result.Length != original.Length)
        {
            throw new AutogradException($"hook '{hookName}' has returned an incorrect number of values (got {result.Length}, but expected {original.Length})");
        }
        for (int i = 0; i < result.Length; i++)
        {
            if (result[i] is not { } value)
            {
                continue;
            }
            if (original[i] is not { } was)
            {
                throw new AutogradException("can't replace a None gradient with a non-None value");
            }
            ObjectDisposedException.ThrowIf(value.IsInvalid, value);
            if (value.dtype != was.dtype || value.device_type != was.device_type)
            {
                throw new AutogradException($"hook '{hookName}' has changed the type of value (was {PythonText.LegacyTypeName(was)} got {PythonText.LegacyTypeName(value)})");
            }
            if (!value.shape.AsSpan().SequenceEqual(was.shape))
            {
                throw new AutogradException($"hook '{hookName}' has changed the size of value");
            }
        }
        return result;
    }
}
