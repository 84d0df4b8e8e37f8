using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.CustomFunctions;

/// <summary>custom_functions.json, made by TestData/generate_custom_functions.py with real PyTorch 1.13.</summary>
internal static class CustomFunctionsData
{
    private static JsonElement Root => Support.TestDataFiles.Json("custom_functions.json");

    /// <summary>One section of the file ("exp", "mul_add", …).</summary>
    public static JsonElement Case(string name) => Root.GetProperty(name);

    /// <summary>A list of numbers as a float64 tensor.</summary>
    public static Tensor T(JsonElement list) =>
        torch.tensor(list.EnumerateArray().Select(e => e.GetDouble()).ToArray(), dtype: ScalarType.Float64);

    public static string S(JsonElement e) => e.GetString()!;
}

// The C# twins of the Functions in generate_custom_functions.py: same forward, backward and jvp.

internal sealed class Exp : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        Tensor result = inputs[0].exp();
        ctx.SaveForBackward(result);
        return [result];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) => [gradOutputs[0]! * ctx.SavedTensors[0]!];
}

internal sealed class MulAdd : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        ctx.SaveForBackward(inputs[0], inputs[1]);
        return [inputs[0] * inputs[1], inputs[0] + inputs[1]];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g)
    {
        Tensor a = ctx.SavedTensors[0]!, b = ctx.SavedTensors[1]!;
        return [g[0]! * b + g[1]!, g[0]! * a + g[1]!];
    }
}

internal sealed class AddOneInPlace : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        inputs[0].add_(1);
        ctx.MarkDirty(inputs[0]);
        return [inputs[0]];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) => [gradOutputs[0]];
}

internal sealed class SortValues : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        (Tensor values, Tensor indices) = inputs[0].sort();
        ctx.MarkNonDifferentiable(indices);
        ctx.SaveForBackward(indices);
        return [values, indices];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g) =>
        [torch.zeros_like(g[0]!).scatter(0, ctx.SavedTensors[0]!, g[0]!)];
}

internal sealed class TwoScales : AutogradFunction
{
    public bool[] SawNull { get; private set; } = [];

    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        ctx.SetMaterializeGrads(false);
        return [inputs[0] * 2, inputs[0] * 3];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g)
    {
        SawNull = [g[0] is null, g[1] is null];
        Tensor total = torch.zeros_like(g[0] ?? g[1]!);
        if (g[0] is { } g1)
        {
            total = total + g1 * 2;
        }
        if (g[1] is { } g2)
        {
            total = total + g2 * 3;
        }
        return [total];
    }
}

internal sealed class NeedsGrad : AutogradFunction
{
    public bool[] InForward { get; private set; } = [];

    public bool[] InBackward { get; private set; } = [];

    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        InForward = [.. ctx.NeedsInputGrad];
        ctx.SaveForBackward(inputs[0], inputs[1]);
        return [inputs[0] * inputs[1]];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g)
    {
        InBackward = [.. ctx.NeedsInputGrad];
        return [ctx.NeedsInputGrad[0] ? g[0]! * ctx.SavedTensors[1]! : null, ctx.NeedsInputGrad[1] ? g[0]! * ctx.SavedTensors[0]! : null];
    }
}

internal sealed class OnceExp : AutogradFunction
{
    protected override bool OnceDifferentiable => true;

    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        Tensor result = inputs[0].exp();
        ctx.SaveForBackward(result);
        return [result];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] gradOutputs) => [gradOutputs[0]! * ctx.SavedTensors[0]!];
}

internal sealed class Cube : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        ctx.SaveForBackward(inputs[0]);
        return [inputs[0].pow(3)];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g) => [g[0]! * 3 * ctx.SavedTensors[0]!.pow(2)];
}

internal sealed class WrongExp : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        Tensor result = inputs[0].exp();
        ctx.SaveForBackward(result);
        return [result];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g) => [2 * g[0]! * ctx.SavedTensors[0]!];
}

internal sealed class TooManyGrads : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs) => [inputs[0] * 2];

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g) => [g[0]! * 2, g[0]];
}

internal sealed class ExpJvp : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        Tensor result = inputs[0].exp();
        ctx.SaveForBackward(result);
        ctx.SaveForForward(result);
        return [result];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g) => [g[0]! * ctx.SavedTensors[0]!];

    protected override Tensor?[] Jvp(FunctionContext ctx, Tensor?[] t) => [t[0]! * ctx.SavedTensors[0]!];
}

internal sealed class MulAddJvp : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        ctx.SaveForForward(inputs[0], inputs[1]);
        return [inputs[0] * inputs[1], inputs[0] + inputs[1]];
    }

    protected override Tensor?[] Jvp(FunctionContext ctx, Tensor?[] t)
    {
        Tensor a = ctx.SavedTensors[0]!, b = ctx.SavedTensors[1]!;
        return [t[0]! * b + a * t[1]!, t[0]! + t[1]!];
    }
}

internal sealed class NoJvp : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs) => [inputs[0] * 2];

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g) => [g[0]! * 2];
}

internal sealed class NoBackward : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs) => [inputs[0] * 2];
}

/// <summary>Throws <see cref="Error"/> from the phase named at construction (Forward, Backward or Jvp).</summary>
internal sealed class Throwing(string phase) : AutogradFunction
{
    public Exception Error { get; } = new InvalidTimeZoneException($"thrown in {phase}");

    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs) => phase == "Forward" ? throw Error : [inputs[0] * 2];

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g) => phase == "Backward" ? throw Error : [g[0]! * 2];

    protected override Tensor?[] Jvp(FunctionContext ctx, Tensor?[] t) => phase == "Jvp" ? throw Error : [t[0]! * 2];
}

/// <summary>Exp under a name longer than libstdc++'s 15-character local string buffer.</summary>
internal sealed class ExponentialWithALongName : AutogradFunction
{
    protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
    {
        Tensor result = inputs[0].exp();
        ctx.SaveForBackward(result);
        return [result];
    }

    protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g) => [g[0]! * ctx.SavedTensors[0]!];
}
