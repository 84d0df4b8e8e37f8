using NUnit.Framework;
using NUnit.Framework.Interfaces;

[assembly: AutogradKit.Tests.Support.WineSkippedFunctorchGuards]

namespace AutogradKit.Tests.Support;

/// <summary>
/// Skips, under Wine only, the torch.func cases whose libtorch error unwinds through functorch's dispatch guards, which
/// Wine 8.0 does not destroy (the same skipped destructors <see cref="WineAutogradStateRepairAttribute"/> repairs after
/// each test). Traced: for <c>vmap_inplace_unbatched</c> the error unwinds through <c>dynamicLayerBack</c>'s
/// <c>WithoutTop</c> guard (aten/src/ATen/functorch/DynamicLayer.cpp), whose destructor puts the popped layer back, and
/// the thread's layer stack is left with 0 layers where 1 was pushed (NativeFunctorch refuses to pop and says so); for
/// <c>vmap_random</c> the randomness error's guard leaves the functorch keys switched (the state repair logs them), so
/// TorchSharp's retry of <c>rand_like</c> after the first failure runs outside vmap and succeeds. Real Windows runs
/// Microsoft's runtime, which destroys them; on Linux both cases pass.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class WineSkippedFunctorchGuardsAttribute : Attribute, ITestAction
{
    private const string Reason =
        "fails under Wine 8.0 only: the libtorch error unwinds through functorch's dispatch guards, whose destructors Wine skips (not a Windows failure)";

    /// <summary>(method name, first argument) of each case, with the guard whose destructor was skipped.</summary>
    private static readonly Dictionary<(string Method, string Case), string> Cases = new()
    {
        [("Vmap_WhatPyTorchRefuses_AutogradExceptionAndTheNextCallWorks", "vmap_inplace_unbatched")] = "WithoutTop in dynamicLayerBack",
        [("Vmap_WhatPyTorchRefuses_AutogradExceptionAndTheNextCallWorks", "vmap_random")] = "the vmap-mode key guards of the randomness check",
    };

    /// <inheritdoc />
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc />
    public void BeforeTest(ITest test)
    {
        if (Wine.IsRunning && test.MethodName is { } name && test.Arguments is [string first, ..]
            && Cases.TryGetValue((name, first), out string? guard))
        {
            Assert.Ignore($"{guard}: {Reason}");
        }
    }

    /// <inheritdoc />
    public void AfterTest(ITest test)
    {
    }
}
