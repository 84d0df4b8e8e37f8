using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace AutogradKit.Tests.Support;

/// <summary>
/// Skips, under Wine only, the tests seen to hang the Wine 8.0 process when the win-x64 suite runs there
/// (.ci/windows-check, namespace by namespace). Traced for the view whose base was modified in place: libtorch's MSVC
/// build aborts in Wine's builtin <c>msvcp140.dll</c>, which lacks <c>std::_Throw_Cpp_error</c> (the STL calls it when a
/// <c>std::mutex</c> reports a failed lock; Wine's <c>_Mtx_lock</c> does not know the in-place mutexes of the Visual C++
/// 2022 STL libtorch was built with), and the abort ends in a stack overflow that never returns. The others stop the
/// same way (a thread that never returns from libtorch) and were not traced further. Real Windows has Microsoft's
/// runtime: these are skipped with that reason under Wine and nowhere else.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class WineKnownHangsAttribute : Attribute, ITestAction
{
    private const string Reason =
        "hangs under Wine 8.0: libtorch's error path there calls std::_Throw_Cpp_error, which Wine's msvcp140 lacks (not a Windows failure)";

    /// <summary>Method names of the tests seen to hang, each with the path that hung.</summary>
    private static readonly Dictionary<string, string> Hangs = new(StringComparer.Ordinal)
    {
        ["GradFn_ViewWhoseBaseWasModifiedInPlace_ThrowsAutogradExceptionWithPyTorchsMessage"] = "grad_fn of a view whose base was modified in place",
        ["Repr_ViewWhoseGradFnRaises_PrintsGradFnInvalid"] = "grad_fn of a view whose base was modified in place",
        ["ForwardStackTrace_UnderGrad_NamesTheCSharpMethodThatMadeTheNode"] = "Grad failing under anomaly mode",
        ["Grad_EveryMisuse_ThrowsTypedException"] = "Grad's misuse errors",
        ["Grad_ReturnsGradients_AndLeavesEveryDotGradAsItWas"] = "Grad after the other Functional tests",
        ["Grad_IsGradsBatched_GivesPyTorchsProducts"] = "Grad's freed-graph error raised under a vmap layer (the test's only C++ exception; without that last step its four CPU cases pass under Wine)",
    };

    /// <summary>
    /// Tests that end or stop the Wine process for another traced Wine-only reason, each with it (tensor hooks on MSVC:
    /// each traced with a scratch probe under Wine 8.0; the same code passes on Linux).
    /// </summary>
    private static readonly Dictionary<string, string> OtherWineFailures = new(StringComparer.Ordinal)
    {
        ["RegisterHook_ConcurrentPassesOnSeveralThreads_EachSeesItsOwnHooksAndErrors"] =
            "crashes or breaks grad mode under Wine 8.0: libtorch errors thrown on several threads at once end the process there " +
            "with an access violation even without hooks (four threads each catching a failing reshape's backward crash it), or " +
            "leave a worker thread without autograd (not a Windows failure)",
        ["Record_DuringTorchSharpsOwnBackward_IsForgottenByTheThreadsNextPass"] =
            "hangs under Wine 8.0: after NUnit's Throws constraint intercepts TorchSharp's ExternalException, the thread's next " +
            "libtorch error never returns; the same passes with try/catch instead of the constraint pass there (not a Windows failure)",
    };

    /// <inheritdoc />
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc />
    public void BeforeTest(ITest test)
    {
        if (Wine.IsRunning && test.MethodName is { } name && Hangs.TryGetValue(name, out string? path))
        {
            Assert.Ignore($"{path}: {Reason}");
        }
        if (Wine.IsRunning && test.MethodName is { } other && OtherWineFailures.TryGetValue(other, out string? reason))
        {
            Assert.Ignore(reason);
        }
    }

    /// <inheritdoc />
    public void AfterTest(ITest test)
    {
    }
}
