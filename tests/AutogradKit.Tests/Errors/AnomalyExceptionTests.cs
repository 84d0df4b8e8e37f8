using System.Runtime.CompilerServices;
using System.Text.Json;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Errors;

[NonParallelizable] // anomaly mode is process-wide
public class AnomalyExceptionTests
{
    private static JsonElement Case(string key) => Support.TestDataFiles.Json("anomaly.json").GetProperty("cases").GetProperty(key);

    // The generator's make_sqrt_of_negative and make_square, as the user's C# methods that make the failing nodes.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Tensor MakeSqrtOfNegative(Tensor x) => x.sqrt().sum();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Tensor MakeSquare(Tensor x) => (x * x).sum();

    [Test]
    public void ForwardStackTrace_NanInBackward_NamesTheCSharpMethodThatMadeTheNode()
    {
        JsonElement expected = Case("nan_sqrt");
        Tensor x = torch.tensor(new[] { -1.0, 2.0 }, requires_grad: true);
        AnomalyException e;
        var warnings = new List<string>();
        using (UserWarnings.Capture(warnings))
        using (Autograd.DetectAnomaly())
        {
            Tensor y = MakeSqrtOfNegative(x);
            e = Assert.Throws<AnomalyException>(() => y.Backward())!;
        }

        Assert.That(e.Message, Is.EqualTo(expected.GetProperty("message").GetString()));
        Assert.That(warnings, Has.Count.EqualTo(1));
        Assert.That(warnings[0].Split('\n')[0], Is.EqualTo(expected.GetProperty("warning_first_line").GetString()), "PyTorch's warning, with the C# trace");
        Assert.That(warnings[0], Does.Contain(nameof(MakeSqrtOfNegative)));
        Assert.That(e.NodeName, Is.EqualTo(expected.GetProperty("node").GetString()));
        Assert.That(expected.GetProperty("names_forward_function").GetBoolean(), Is.True);
        Assert.That(e.ForwardStackTrace, Does.Contain(nameof(MakeSqrtOfNegative)));
        Assert.That(e.ForwardStackTrace, Does.Not.Contain("TorchSharp.").And.Not.Contain("AutogradKit.NativeAnomalyMetadata"), "user frames only");
    }

    [Test]
    public void ForwardStackTrace_OtherBackwardError_NamesTheCSharpMethodThatMadeTheNode()
    {
        JsonElement expected = Case("graph_freed");
        Tensor x = torch.tensor(new[] { -1.0, 2.0 }, requires_grad: true);
        AnomalyException e;
        using (Autograd.DetectAnomaly())
        {
            Tensor y = MakeSquare(x);
            y.Backward();
            e = Assert.Throws<AnomalyException>(() => y.Backward())!;
        }

        Assert.That(e.Message, Is.EqualTo(expected.GetProperty("message").GetString()));
        Assert.That(e.NodeName, Is.EqualTo(expected.GetProperty("node").GetString()));
        Assert.That(e.ForwardStackTrace, Does.Contain(nameof(MakeSquare)));
    }

    [Test]
    public void ForwardStackTrace_UnderGrad_NamesTheCSharpMethodThatMadeTheNode()
    {
        Tensor x = torch.tensor(new[] { -1.0, 2.0 }, requires_grad: true);
        AnomalyException e;
        using (Autograd.DetectAnomaly())
        {
            Tensor y = MakeSqrtOfNegative(x);
            e = Assert.Throws<AnomalyException>(() => Autograd.Grad([y], [x]))!;
        }

        Assert.That(e.Message, Is.EqualTo(Case("nan_sqrt").GetProperty("message").GetString()));
        Assert.That(e.ForwardStackTrace, Does.Contain(nameof(MakeSqrtOfNegative)));
    }

    [Test]
    public void ForwardStackTrace_NodeMadeBeforeAnomalyMode_IsNull()
    {
        Tensor x = torch.tensor(new[] { -1.0, 2.0 }, requires_grad: true);
        Tensor y = MakeSqrtOfNegative(x);
        using (Autograd.DetectAnomaly())
        {
            var e = Assert.Throws<AnomalyException>(() => y.Backward())!;
            Assert.That(e.ForwardStackTrace, Is.Null, "no stack was stored when the node was made");
        }
    }

    [Test]
    public void Backward_ErrorWithoutAnomalyMode_IsNotAnAnomalyException()
    {
        Tensor x = torch.tensor(new[] { -1.0, 2.0 }, requires_grad: true);
        Tensor y = MakeSquare(x);
        y.Backward();

        Assert.Throws<GraphFreedException>(() => y.Backward());
    }

    [Test]
    public void DetectAnomaly_NodesMadeAndFreed_LeaveNoMetadataBehind()
    {
        long before = NativeAnomalyMetadata.Live;
        using (Autograd.DetectAnomaly())
        {
            using var scope = torch.NewDisposeScope();
            Tensor x = torch.tensor(new[] { 1.0, 2.0 }, requires_grad: true);
            MakeSquare(x).Backward();
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();

        Assert.That(NativeAnomalyMetadata.Live, Is.EqualTo(before));
    }
}
