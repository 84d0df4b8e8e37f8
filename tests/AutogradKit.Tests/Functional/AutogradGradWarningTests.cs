using AutogradKit.Tests.Robustness;
using NUnit.Framework;

namespace AutogradKit.Tests.Functional;

/// <summary>
/// PyTorch's <c>autograd.grad(create_graph=True)</c> prints nothing, while libtorch's <c>backward(create_graph,
/// inputs)</c> warns once per process on stderr about a <c>.grad</c> reference cycle, and reading a non-leaf's
/// <c>.grad</c> warns each time. <c>Autograd.Grad</c> runs libtorch's <c>grad</c>, which does neither, and filters
/// nothing: a warning raised during its pass is printed. libtorch writes warnings to file descriptor 2, so each case
/// runs in a fresh child process (the misuse runner) and reads it.
/// </summary>
public class AutogradGradWarningTests
{
    private const string CycleWarning = "Using backward() with create_graph=True will create a reference cycle";
    private const string NonLeafGradWarning = "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed";
    private const string ResizeWarning = "An output with one or more elements was resized";

    [Test]
    public void Grad_RawBackwardWithCreateGraphAndNonLeafGradRead_PrintBothWarnings()
    {
        // The control: without AutogradKit the warning is there, so the next test can fail.
        MisuseTests.ChildResult child = MisuseTests.RunChild("--warnings-probe raw");
        Assert.That(child.ExitCode, Is.EqualTo(0), child.Describe());
        Assert.That(string.Join("\n", child.Errors), Does.Contain(CycleWarning));
        Assert.That(string.Join("\n", child.Errors), Does.Contain(NonLeafGradWarning));
    }

    [Test]
    public void Grad_WithCreateGraphAndANonLeafInput_PrintsNeitherWarning_AndOthersStillReachStderr()
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
