using System.Runtime.InteropServices;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;

namespace AutogradKit.Tests.Errors;

public class NativeErrorsTests
{
    private static ExternalException RealError(Action call)
    {
        try
        {
            call();
        }
        catch (ExternalException e)
        {
            return e;
        }
        throw new AssertionException("TorchSharp raised no error");
    }

    [Test]
    public void FirstLine_RealTorchSharpAutogradError_IsPyTorchsLine()
    {
        using var a = torch.ones(2, requires_grad: true);
        using var l = (a * a).sum();
        l.backward();
        ExternalException e = RealError(l.backward);

        Assert.That(e.Message, Does.Contain("\n"), "TorchSharp's text carries libtorch's context on further lines");
        Assert.That(Ensure.FirstLine(e.Message), Is.EqualTo(FoundationData.Error("graph_freed")));
        Assert.That(Ensure.Translate(e), Is.TypeOf<GraphFreedException>());
        Assert.That(Ensure.Translate(e).NativeMessage, Is.EqualTo(e.Message));
    }

    [Test]
    public void FirstLine_RealTorchSharpShapeError_IsPyTorchsLine()
    {
        using var a = torch.ones(2, 3);
        ExternalException e = RealError(() => a.reshape(4).Dispose());

        Assert.That(Ensure.FirstLine(e.Message), Is.EqualTo(FoundationData.Error("reshape_invalid")));
        AutogradException translated = Ensure.Translate(e);
        Assert.That(translated.GetType(), Is.EqualTo(typeof(AutogradException)));
        Assert.That(translated.InnerException, Is.SameAs(e));
    }

    [Test]
    public void FirstLine_TextWithFrames_DropsThem()
    {
        const string text = "boom happened\nException raised from f at x.cpp:1 (most recent call first):\nframe #0: c10::Error::Error()";
        Assert.That(Ensure.FirstLine(text), Is.EqualTo("boom happened"));
        Assert.That(Ensure.FirstLine("boom Exception raised from f"), Is.EqualTo("boom"));
    }
}
