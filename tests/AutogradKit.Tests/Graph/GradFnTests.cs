using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Graph;

public class GradFnTests
{
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradFn_LeafAndNoGrad_AreNull(string device)
    {
        using var scope = torch.NewDisposeScope();
        var d = DeviceCases.Device(device);
        Tensor leaf = torch.ones(2, requires_grad: true, device: d);
        Tensor plain = torch.ones(2, device: d);
        Assert.That(leaf.GradFn, Is.Null);
        Assert.That(plain.GradFn, Is.Null);
        Assert.That((plain + plain).GradFn, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradFn_Sum_HasPyTorchNameAndEdges(string device)
    {
        using var scope = torch.NewDisposeScope();
        var d = DeviceCases.Device(device);
        Tensor a = torch.ones(2, requires_grad: true, device: d);
        Tensor b = torch.ones(2, requires_grad: true, device: d);
        Tensor c = a + b + torch.ones(2, device: d);
        GradFn fn = c.GradFn!;
        Assert.That(fn.Name, Is.EqualTo("AddBackward0"));
        Assert.That(fn.Variable, Is.Null);
        var next = fn.NextFunctions;
        Assert.That(next, Has.Count.EqualTo(2));
        Assert.That(next[0].Function!.Name, Is.EqualTo("AddBackward0"));
        Assert.That(next[0].InputNr, Is.Zero);
        Assert.That(next[1], Is.EqualTo(new GradEdge(null, 0)));
        var leaves = next[0].Function!.NextFunctions;
        Assert.That(leaves.Select(e => e.Function!.Name), Is.EqualTo(new[] { "AccumulateGrad", "AccumulateGrad" }));
        using Tensor va = leaves[0].Function!.Variable!;
        using Tensor vb = leaves[1].Function!.Variable!;
        Assert.That(NativeGraph.TensorIdentity(va), Is.EqualTo(NativeGraph.TensorIdentity(a)));
        Assert.That(NativeGraph.TensorIdentity(vb), Is.EqualTo(NativeGraph.TensorIdentity(b)));
        Assert.That(va.requires_grad && va.is_leaf, Is.True);
        Assert.That(leaves[0].Function!.NextFunctions, Is.Empty);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void ToString_IsPythonsStrWithTheNodeAddress(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = torch.ones(2, requires_grad: true, device: DeviceCases.Device(device));
        Tensor c = a * a;
        GradFn fn = c.GradFn!;
        Assert.That(fn.ToString(), Does.Match("^<MulBackward0 object at 0x[0-9a-f]+>$"));
        Assert.That(fn.ToString(), Is.EqualTo($"<MulBackward0 object at 0x{fn.Node.Identity:x}>"));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Equals_SameNode_IsEqualAcrossReads(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = torch.ones(2, 2, requires_grad: true, device: DeviceCases.Device(device));
        Tensor[] rows = a.unbind(0);
        Tensor c = rows[1] * rows[0];
        GradFn first = c.GradFn!;
        GradFn second = c.GradFn!;
        Assert.That(first, Is.Not.SameAs(second));
        Assert.That(first == second && first.Equals(second) && first.GetHashCode() == second.GetHashCode(), Is.True);
        var next = first.NextFunctions;
        Assert.That(next[0].Function, Is.EqualTo(next[1].Function));
        Assert.That(next[0].Function!.Name, Is.EqualTo("UnbindBackward0"));
        Assert.That(next.Select(e => e.InputNr), Is.EqualTo(new[] { 1, 0 }));
        Assert.That(next[0].Function != first, Is.True);
        Assert.That(rows[0].GradFn, Is.EqualTo(next[0].Function));
    }
}

public class GradFnReadabilityTests
{
    [TestCaseSource(typeof(Printing.ReprCases), nameof(Printing.ReprCases.InvalidViews))]
    public void GradFn_ViewWhoseBaseWasModifiedInPlace_ThrowsAutogradExceptionWithPyTorchsMessage(Printing.InvalidViewCase c)
    {
        // Before: libtorch's grad_fn() threw through P/Invoke and ended the process (the misuse runner checks this
        // in a child process too). The message is PyTorch 1.13's, one line.
        var (view, @base) = Printing.ReprCases.BuildInvalidView(c);
        using (view)
        using (@base)
        {
            var e = Assert.Throws<AutogradException>(() => _ = view.GradFn);
            Assert.That(e!.Message, Is.EqualTo(c.Message));
            // The check itself, as it runs where the view test (TensorBase::is_view) is not available.
            Assert.Throws<AutogradException>(() => NativeGraph.CheckGradFnReadable(view, canAskIsView: false));
            Assert.That(view.requires_grad, Is.True, "the failed read changed the view");
        }
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void CheckGradFnReadable_ValidTensorsOnEitherPath_Passes(string device)
    {
        using var scope = torch.NewDisposeScope();
        Tensor w = torch.ones(2, 3, requires_grad: true, device: DeviceCases.Device(device));
        Tensor y = w * w;
        Tensor view = y.t();
        Tensor plain = torch.ones(2, device: DeviceCases.Device(device));
        Tensor noGradView;
        using (Autograd.NoGrad())
        {
            noGradView = y[0];
        }
        foreach (bool canAskIsView in new[] { true, false })
        {
            foreach (Tensor t in new[] { w, y, view, plain, noGradView })
            {
                Assert.DoesNotThrow(() => NativeGraph.CheckGradFnReadable(t, canAskIsView));
            }
        }
        Assert.That(view.GradFn!.Name, Is.EqualTo("TBackward0"));
        Assert.That(noGradView.GradFn, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void GradFn_ViewOfABaseModifiedInPlaceUnderGrad_IsTheRefreshedNode(string device)
    {
        // A view made with grad on is valid after its base changes: libtorch refreshes its grad_fn lazily
        // (PyTorch 1.13: AsStridedBackward0); the readability check must not get in the way.
        using var scope = torch.NewDisposeScope();
        Tensor w = torch.ones(4, requires_grad: true, device: DeviceCases.Device(device));
        Tensor b = w * torch.tensor(1.0f, device: DeviceCases.Device(device));
        Tensor view = b[TensorIndex.Slice(0, 2)];
        b.mul_(2);
        Assert.That(view.GradFn!.Name, Is.EqualTo("AsStridedBackward0"));
    }
}

public class NodeLayoutTests
{
    [Test]
    public void Ensure_OnThisLibtorch_FindsTheAccumulateGradVariable()
    {
        NodeLayout.Ensure();
        TestContext.Out.WriteLine($"AccumulateGrad variable offset: {NodeLayout.AccumulateGradVariableOffset}");
        Assert.That(NodeLayout.AccumulateGradVariableOffset, Is.GreaterThan(AbiFacts.Node.NextEdgesOffset));
    }

    [TestCase("torch::autograd::generated::AddBackward0", "AddBackward0")]
    [TestCase("torch::autograd::AccumulateGrad", "AccumulateGrad")]
    [TestCase("torch::autograd::CppNode<ns::Fn>", "CppNode<ns::Fn>")]
    [TestCase("Plain", "Plain")]
    public void ShortName_DropsTheNamespace(string qualified, string expected) =>
        Assert.That(NodeLayout.ShortName(qualified), Is.EqualTo(expected));
}
