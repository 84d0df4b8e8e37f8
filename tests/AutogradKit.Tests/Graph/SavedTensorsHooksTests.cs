using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Graph;

public class SavedTensorsHooksTests
{
    [TestCaseSource(typeof(SavedTensorsData), nameof(SavedTensorsData.CaseRows))]
    public void SavedTensorsHooks_CountingPackAndUnpack_PacksWhatPyTorchSavesAndKeepsTheGradient(string function)
    {
        var c = SavedTensorsData.Case(function);
        Tensor x = SavedTensorsData.Input(c);
        var shapes = new List<long[]>();
        int unpacks = 0;
        Tensor y;
        using (Autograd.Graph.SavedTensorsHooks(t => { shapes.Add(t.shape); return t; }, o => { unpacks++; return (Tensor)o; }))
        {
            y = SavedTensorsData.Function(function)(x);
        }
        y.Backward();

        long[][] expectedShapes = c.GetProperty("packed_shapes").EnumerateArray()
            .Select(s => s.EnumerateArray().Select(e => e.GetInt64()).ToArray()).ToArray();
        // The same tensors; the order within one operation is generated code's (libtorch 2.10's mm saves mat2 before self).
        Assert.That(shapes, Is.EquivalentTo(expectedShapes), "packed shapes");
        Assert.That(unpacks, Is.EqualTo(c.GetProperty("unpacks").GetInt32()));
        Assert.That(x.grad!.data<double>().ToArray(), Is.EqualTo(SavedTensorsData.Doubles(c.GetProperty("grad"))).Within(1e-12));
    }

    [TestCaseSource(typeof(SavedTensorsData), nameof(SavedTensorsData.CaseRows))]
    public void SavedTensorsHooks_UnpackDoubling_ChangesTheGradientAsInPyTorch(string function)
    {
        var c = SavedTensorsData.Case(function);
        Tensor x = SavedTensorsData.Input(c);
        Tensor y;
        using (Autograd.Graph.SavedTensorsHooks(t => t, o => (Tensor)o * 2))
        {
            y = SavedTensorsData.Function(function)(x);
        }
        y.Backward();

        Assert.That(x.grad!.data<double>().ToArray(), Is.EqualTo(SavedTensorsData.Doubles(c.GetProperty("grad_doubled_unpack"))).Within(1e-12));
    }

    [Test]
    public void SavedTensorsHooks_Nested_InnerHooksApplyToTensorsSavedInside()
    {
        var expected = SavedTensorsData.Root.GetProperty("nesting");
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        int outer = 0, inner = 0;
        using (Autograd.Graph.SavedTensorsHooks(t => { outer++; return t; }, o => (Tensor)o))
        {
            Tensor a = x.exp();
            Tensor b;
            using (Autograd.Graph.SavedTensorsHooks(t => { inner++; return t; }, o => (Tensor)o))
            {
                b = a.sin();
            }
            _ = (b * a).sum();
        }

        Assert.That((outer, inner), Is.EqualTo((expected.GetProperty("outer_packs").GetInt32(), expected.GetProperty("inner_packs").GetInt32())));
    }

    [Test]
    public void SavedTensorsHooks_RetainGraph_UnpacksAgainInTheSecondPass()
    {
        var expected = SavedTensorsData.Root.GetProperty("retain_graph");
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        int unpacks = 0;
        Tensor y;
        using (Autograd.Graph.SavedTensorsHooks(t => t, o => { unpacks++; return (Tensor)o; }))
        {
            y = (x * x).sum();
        }
        y.Backward(retainGraph: true);
        int first = unpacks;
        y.Backward();

        Assert.That((first, unpacks), Is.EqualTo((expected.GetProperty("first_pass_unpacks").GetInt32(), expected.GetProperty("both_passes_unpacks").GetInt32())));
        Assert.That(x.grad!.data<double>().ToArray(), Is.EqualTo(SavedTensorsData.Doubles(expected.GetProperty("grad"))).Within(1e-12));
    }

    [Test]
    public void SavedTensorsHooks_AfterDispose_NoHooksRun()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        int packs = 0;
        using (Autograd.Graph.SavedTensorsHooks(t => { packs++; return t; }, o => (Tensor)o))
        {
        }
        (x * x).sum().Backward();

        Assert.That(packs, Is.Zero);
    }

    [Test]
    public async Task SavedTensorsHooks_AcrossAwait_FollowsTheFlowNotTheThread()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        int packs = 0;
        using (Autograd.Graph.SavedTensorsHooks(t => { Interlocked.Increment(ref packs); return t; }, o => (Tensor)o))
        {
            await Task.Yield();
            _ = x * x;                                   // this flow, wherever it resumed: 2 packs
            await Task.Run(() => { _ = x * x; });        // work started inside inherits the scope: 2 more
        }
        // A thread that never ran the flow sees no hooks, even while the scope was open elsewhere.
        int before = packs;
        await Task.Run(() => { _ = x * x; });

        Assert.That((before, packs), Is.EqualTo((4, 4)));
    }

    [Test]
    public void SavedTensorsHooks_OtherThread_DoesNotSeeThisFlowsHooks()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        int packs = 0;
        using (Autograd.Graph.SavedTensorsHooks(t => { Interlocked.Increment(ref packs); return t; }, o => (Tensor)o))
        {
            var thread = new Thread(() => { using var scope = torch.NewDisposeScope(); _ = x * x; });
            thread.UnsafeStart(); // no flow: the thread's own (empty) hooks stack, as PyTorch's other threads
            thread.Join();
        }

        Assert.That(packs, Is.Zero);
    }

    [Test]
    public void SavedTensorsHooks_UnpackReturnsNull_ThrowsPyTorchsTypeErrorMessage()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        Tensor y;
        using (Autograd.Graph.SavedTensorsHooks(t => t, o => null!))
        {
            y = (x * x).sum();
        }

        var e = Assert.Throws<AutogradException>(() => y.Backward());
        Assert.That(e!.Message, Is.EqualTo(SavedTensorsData.Message("unpack_none")));
    }

    [Test]
    public void SavedTensorsHooks_UnpackThrows_BackwardRethrowsItAsItself()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        Tensor y;
        using (Autograd.Graph.SavedTensorsHooks(t => t, o => throw new KeyNotFoundException("kaboom")))
        {
            y = (x * x).sum();
        }

        var e = Assert.Throws<KeyNotFoundException>(() => y.Backward());
        Assert.That(e!.Message, Is.EqualTo("kaboom"));
    }

    [Test]
    public void SavedTensorsHooks_UnpackThrowsUnderGrad_GradRethrowsItAsItself()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        Tensor y;
        using (Autograd.Graph.SavedTensorsHooks(t => t, o => throw new FormatException("bad")))
        {
            y = x.exp().sum();
        }

        Assert.Throws<FormatException>(() => Autograd.Grad([y], [x]));
    }

    [Test]
    public void SavedTensorsHooks_PackThrows_TheUsingBlockEndsWithThePacksException()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        bool afterOperation = false;

        var e = Assert.Throws<ArithmeticException>(() =>
        {
            using (Autograd.Graph.SavedTensorsHooks(t => throw new ArithmeticException("boom"), o => (Tensor)o))
            {
                _ = x * x;
                afterOperation = true;
            }
        });

        Assert.That(e!.Message, Is.EqualTo("boom"));
        Assert.That(afterOperation, Is.False, "the operation whose pack failed fails");
        Assert.That(x.requires_grad, Is.True);
    }

    [Test]
    public void SavedTensorsHooks_PackChangesItsInputInPlace_TheOperationFailsWithPyTorchsMessage()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        using (Autograd.Graph.SavedTensorsHooks(t => t.mul_(1), o => (Tensor)o))
        {
            // libtorch's own check after pack; the operation is TorchSharp's, so is the exception type.
            var e = Assert.Throws<System.Runtime.InteropServices.ExternalException>(() => x.exp());
            Assert.That(e!.Message, Does.StartWith(SavedTensorsData.Message("pack_in_place")));
        }
    }

    [Test]
    public void SavedTensorsHooks_NoScopeOpen_TheEngineMakesNoHooksObject()
    {
        using (Autograd.Graph.SavedTensorsHooks(t => t, o => (Tensor)o))
        {
        }
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        long before = NativeSavedTensorsHooks.Live;
        Tensor y = (x.exp() * x).sum();

        Assert.That(NativeEngine.IsInstalled, Is.True);
        Assert.That(NativeSavedTensorsHooks.Live, Is.EqualTo(before), "the override returned null hooks for every saved tensor");
        y.Backward();
    }

    [Test]
    public void DisableSavedTensorsHooks_OpeningHooksInside_ThrowsItsMessage()
    {
        using (Autograd.Graph.DisableSavedTensorsHooks("hooks are off here"))
        {
            var e = Assert.Throws<AutogradException>(() => Autograd.Graph.SavedTensorsHooks(t => t, o => (Tensor)o));
            Assert.That(e!.Message, Is.EqualTo(SavedTensorsData.Message("hooks_inside_disable")));
        }
    }

    [Test]
    public void DisableSavedTensorsHooks_InsideHooks_ThrowsItsMessage()
    {
        using (Autograd.Graph.SavedTensorsHooks(t => t, o => (Tensor)o))
        {
            var e = Assert.Throws<AutogradException>(() => Autograd.Graph.DisableSavedTensorsHooks("hooks are off here"));
            Assert.That(e!.Message, Is.EqualTo(SavedTensorsData.Message("disable_inside_hooks")));
        }
    }

    [Test]
    public void DisableSavedTensorsHooks_Open_NothingIsPacked()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        using (Autograd.Graph.DisableSavedTensorsHooks("off"))
        {
            (x * x).sum().Backward();
        }

        Assert.That(x.grad!.data<double>().ToArray(), Is.EqualTo(new[] { 1.0, -2.4, 4.0 }).Within(1e-12));
        Assert.That(SavedTensorsData.Root.GetProperty("disabled_packs").GetInt32(), Is.Zero);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void SaveOnCpu_ExpSin_GivesPyTorchsGradient(bool pinMemory)
    {
        double[] expected = SavedTensorsData.Doubles(SavedTensorsData.Root.GetProperty("save_on_cpu").GetProperty(pinMemory ? "true" : "false"));
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        long liveBefore = NativeSavedTensorsHooks.Live;
        Tensor y;
        using (Autograd.Graph.SaveOnCpu(pinMemory))
        {
            y = x.exp().sin().sum();
        }
        Assert.That(NativeSavedTensorsHooks.Live - liveBefore, Is.EqualTo(2), "two saved tensors packed");
        y.Backward();

        Assert.That(x.grad!.data<double>().ToArray(), Is.EqualTo(expected).Within(1e-12));
        Assert.That(NativeSavedTensorsHooks.Live, Is.EqualTo(liveBefore), "backward freed the saved tensors and their packed copies");
    }

    [Test]
    public void SavedTensorsHooks_NullArguments_ThrowArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => Autograd.Graph.SavedTensorsHooks(null!, o => (Tensor)o));
        Assert.Throws<ArgumentNullException>(() => Autograd.Graph.SavedTensorsHooks(t => t, null!));
    }

    [Test]
    public void NativeEngine_AfterFirstScope_IsInstalled()
    {
        using (Autograd.Graph.SavedTensorsHooks(t => t, o => (Tensor)o))
        {
        }
        Assert.That(NativeEngine.IsInstalled, Is.True);
    }
}
