using AutogradKit.Tests.Robustness;
using NUnit.Framework;

namespace AutogradKit.Tests.Hooks;

/// <summary>
/// The hook calls that ended the process at commit 58663ef (issue 10, section 3), each run in a child process by the
/// misuse runner (<c>--hook-repro NAME</c>, tests/AutogradKit.Misuse/HookRepros.cs): a crash ends the child, and is
/// reported here with its signal. Each must exit normally with PyTorch's behaviour, which the child checks (x.grad
/// against the gradient the hooks leave unchanged, hook call counts); the stress ones run for about two seconds.
/// </summary>
public class HookReproTests
{
    private static readonly string[] Repros =
    [
        "dispose-after-inplace-and-detach",
        "first-register-in-inference-mode",
        "dispose-while-backward-runs",
        "register-on-four-threads",
        "register-while-backward-runs",
        "register-dispose-backward-mixed",
    ];

    [TestCaseSource(nameof(Repros))]
    public void HookRepro_InAChildProcess_ExitsNormallyWithPyTorchsBehaviour(string repro)
    {
        MisuseTests.ChildResult child = MisuseTests.RunChild($"--hook-repro {repro}");
        string? verdict = child.Output.LastOrDefault(l => l.StartsWith($"REPRO {repro} ", StringComparison.Ordinal));
        TestContext.Out.WriteLine(verdict);
        Assert.That(child.ExitCode, Is.EqualTo(0), child.Describe() + Environment.NewLine + verdict);
        Assert.That(verdict, Does.StartWith($"REPRO {repro} ok: "));
    }
}
