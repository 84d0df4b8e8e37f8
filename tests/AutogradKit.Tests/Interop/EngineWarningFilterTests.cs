using AutogradKit.Tests.Robustness;
using NUnit.Framework;

namespace AutogradKit.Tests.Interop;

/// <summary>
/// PyTorch's <c>autograd.grad(create_graph=True)</c> prints nothing, but libtorch's <c>backward(inputs)</c> (what
/// <c>Autograd.Grad</c> runs) warns once per process on stderr about a <c>.grad</c> reference cycle, and reading a
/// non-leaf input's <c>.grad</c> warns each time. libtorch writes
/// warnings to file descriptor 2, so each case runs in a fresh child process (the misuse runner) and reads it.
/// </summary>
public class EngineWarningFilterTests
{
    private const string CycleWarning = "Using backward() with create_graph=True will create a reference cycle";
    private const string NonLeafGradWarning = "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed";
    private const string ResizeWarning = "An output with one or more elements was resized";

    [Test]
    public void RawBackwardWithCreateGraphAndNonLeafGradRead_PrintBothWarnings()
    {
        // The control: without AutogradKit the warning is there, so the next test can fail.
        MisuseTests.ChildResult child = MisuseTests.RunChild("--warnings-probe raw");
        Assert.That(child.ExitCode, Is.EqualTo(0), child.Describe());
        Assert.That(string.Join("\n", child.Errors), Does.Contain(CycleWarning));
        Assert.That(string.Join("\n", child.Errors), Does.Contain(NonLeafGradWarning));
    }

    [Test]
    public void GradWithCreateGraphAndANonLeafInput_DropsBothWarnings_AndPassesOthersOn()
    {
        MisuseTests.ChildResult child = MisuseTests.RunChild("--warnings-probe kit");
        string stderr = string.Join("\n", child.Errors);
        Assert.That(child.ExitCode, Is.EqualTo(0), child.Describe());
        Assert.That(child.Output, Does.Contain("warnings probe done"));
        Assert.That(stderr, Does.Not.Contain(CycleWarning));
        Assert.That(stderr, Does.Not.Contain(NonLeafGradWarning));
        Assert.That(stderr, Does.Contain(ResizeWarning), "a warning raised inside the pass still reaches the previous handler");
    }
}
