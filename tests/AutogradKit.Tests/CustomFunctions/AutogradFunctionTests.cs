using System.Text.Json;
using NUnit.Framework;
using TorchSharp;
using static AutogradKit.Tests.CustomFunctions.CustomFunctionsData;
using static TorchSharp.torch;

namespace AutogradKit.Tests.CustomFunctions;

/// <summary>AutogradFunction against PyTorch 1.13's torch.autograd.Function with the same functions.</summary>
[NonParallelizable] // forward-mode cases open the process-wide dual level
[AutogradKit.Tests.Support.NoTensorLeaks(Strict = true)]
public class AutogradFunctionTests
{
    private static void AssertClose(Tensor actual, JsonElement expected, string what) =>
        Assert.That(torch.allclose(actual, T(expected), rtol: 1e-12, atol: 1e-12), Is.True, $"{what}: {actual.Repr()}");

    private static IEnumerable<string> NodeNames(GradFn root) =>
        new[] { root.Name }.Concat(root.NextFunctions.Where(e => e.Function is not null).SelectMany(e => NodeNames(e.Function!)));

    private static Tensor Leaf(JsonElement values) => T(values).requires_grad_(true);

    [Test]
    public void Apply_Exp_GivesPyTorchsValuesNodeNameAndGradient()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("exp");
        Tensor x = Leaf(c.GetProperty("x"));

        Tensor y = new Exp().Apply(x)[0];
        y.sum().Backward();

        AssertClose(y, c.GetProperty("y"), "y");
        Assert.That(y.GradFn!.Name, Is.EqualTo(S(c.GetProperty("name"))));
        Assert.That(y.GradFn!.NextFunctions.Select(e => e.Function?.Name), Is.EqualTo(c.GetProperty("next").EnumerateArray().Select(S)));
        AssertClose(x.grad!, c.GetProperty("grad"), "grad");
    }

    [Test]
    public void Repr_OfCustomFunctionOutput_ShowsPyTorchsGradFn()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("exp");
        Tensor x = T(c.GetProperty("x")).to(ScalarType.Float32).requires_grad_(true);

        Assert.That(new Exp().Apply(x)[0].Repr(), Is.EqualTo(S(c.GetProperty("repr"))));
    }

    [Test]
    public void ToDot_OfCustomFunctionOutput_NamesTheNodeAsPyTorch()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(Case("exp").GetProperty("x"));

        string dot = AutogradGraph.ToDot(new Exp().Apply(x)[0]);

        Assert.That(dot, Does.Contain($"label={S(Case("exp").GetProperty("name"))}").Or.Contain($"label=\"{S(Case("exp").GetProperty("name"))}\""));
        Assert.That(dot, Does.Not.Contain("CSharpNode"));
    }

    [Test]
    public void Grad_CreateGraphThroughExp_GivesPyTorchsSecondDerivative()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("exp");
        Tensor x = Leaf(c.GetProperty("x"));

        Tensor g = Autograd.Grad([new Exp().Apply(x)[0].sum()], [x], createGraph: true)[0]!;
        Tensor gg = Autograd.Grad([g.sum()], [x])[0]!;

        AssertClose(gg, c.GetProperty("grad_grad"), "grad of grad");
    }

    [Test]
    public void Grad_CubeToThirdOrder_GivesPyTorchsDerivatives()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("cube");
        Tensor x = Leaf(Case("exp").GetProperty("x"));

        Tensor g = Autograd.Grad([new Cube().Apply(x)[0].sum()], [x], createGraph: true)[0]!;
        Tensor gg = Autograd.Grad([g.sum()], [x], createGraph: true)[0]!;
        Tensor ggg = Autograd.Grad([gg.sum()], [x])[0]!;

        AssertClose(g, c.GetProperty("grad"), "first");
        AssertClose(gg, c.GetProperty("grad_grad"), "second");
        AssertClose(ggg, c.GetProperty("grad_grad_grad"), "third");
    }

    [Test]
    public void Apply_TwoInputsTwoOutputs_OneNodeWithPyTorchsGradients()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("mul_add");
        Tensor a = Leaf(c.GetProperty("a")), b = Leaf(c.GetProperty("b"));

        Tensor[] o = new MulAdd().Apply(a, b);
        (o[0] * o[1]).sum().Backward();

        AssertClose(o[0], c.GetProperty("o1"), "o1");
        AssertClose(o[1], c.GetProperty("o2"), "o2");
        Assert.That(o[0].GradFn!.Name, Is.EqualTo(S(c.GetProperty("name"))));
        Assert.That(o[0].GradFn, Is.EqualTo(o[1].GradFn), "one node for both outputs");
        AssertClose(a.grad!, c.GetProperty("grad_a"), "grad a");
        AssertClose(b.grad!, c.GetProperty("grad_b"), "grad b");
    }

    [Test]
    public void Apply_MarkDirty_ReturnsTheInputModifiedInPlaceWithPyTorchsGradient()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("add_one_in_place");
        Tensor leaf = Leaf(c.GetProperty("x"));
        Tensor z = leaf * 1;

        Tensor w = new AddOneInPlace().Apply(z)[0];
        (w * w).sum().Backward();

        AssertClose(w, c.GetProperty("y"), "y");
        AssertClose(z, c.GetProperty("y"), "the input itself was modified");
        Assert.That(z.GradFn!.Name, Is.EqualTo(S(c.GetProperty("name"))), "the input's grad_fn is the function's node");
        AssertClose(leaf.grad!, c.GetProperty("grad"), "grad");
    }

    [Test]
    public void Apply_MarkDirtyOnALeafThatRequiresGrad_ThrowsAutogradException()
    {
        using var scope = torch.NewDisposeScope();
        Tensor leaf = Leaf(Case("add_one_in_place").GetProperty("x"));

        var e = Assert.Throws<AutogradException>(() => new AddOneInPlace().Apply(leaf));

        // libtorch 2.10 words PyTorch 1.13's check differently ("is being used" / "has been used"): same check.
        Assert.That(e!.Message, Does.StartWith("a leaf Variable that requires grad"));
        Assert.That(S(Case("add_one_in_place").GetProperty("leaf_error")), Does.StartWith("a leaf Variable that requires grad"));
    }

    [Test]
    public void Apply_MarkNonDifferentiable_ThatOutputDoesNotRequireGrad()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("sort_values");
        Tensor x = Leaf(c.GetProperty("x"));

        Tensor[] o = new SortValues().Apply(x);
        (o[0] * torch.tensor(new[] { 1.0, 2.0, 3.0, 4.0 })).sum().Backward();

        AssertClose(o[0], c.GetProperty("values"), "values");
        Assert.That(o[1].data<long>().ToArray(), Is.EqualTo(c.GetProperty("indices").EnumerateArray().Select(e => e.GetInt64())));
        Assert.That(o[1].requires_grad, Is.EqualTo(c.GetProperty("indices_requires_grad").GetBoolean()));
        Assert.That(o[0].requires_grad, Is.EqualTo(c.GetProperty("values_requires_grad").GetBoolean()));
        Assert.That(o[0].GradFn!.Name, Is.EqualTo(S(c.GetProperty("name"))));
        AssertClose(x.grad!, c.GetProperty("grad"), "grad");
    }

    [Test]
    public void Backward_SetMaterializeGradsFalse_UnusedOutputsGradientIsNull()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("two_scales");
        Tensor x = Leaf(Case("exp").GetProperty("x"));
        var f = new TwoScales();

        f.Apply(x)[0].sum().Backward();

        Assert.That(f.SawNull, Is.EqualTo(c.GetProperty("none").EnumerateArray().Select(e => e.GetBoolean())));
        AssertClose(x.grad!, c.GetProperty("grad"), "grad");
    }

    [Test]
    public void NeedsInputGrad_InForwardAndBackward_IsPyTorchs()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("needs_grad");
        Tensor a = Leaf(Case("mul_add").GetProperty("a")), b = T(Case("mul_add").GetProperty("b"));
        var f = new NeedsGrad();

        f.Apply(a, b)[0].sum().Backward();

        Assert.That(f.InForward, Is.EqualTo(c.GetProperty("forward").EnumerateArray().Select(e => e.GetBoolean())));
        Assert.That(f.InBackward, Is.EqualTo(c.GetProperty("backward").EnumerateArray().Select(e => e.GetBoolean())));
        AssertClose(a.grad!, c.GetProperty("grad_a"), "grad a");
        Assert.That(b.grad is null, Is.EqualTo(c.GetProperty("b_grad_is_none").GetBoolean()));
    }

    [Test]
    public void Backward_OnceDifferentiableTwice_ThrowsPyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("once_exp");
        Tensor x = Leaf(Case("exp").GetProperty("x"));

        Tensor g = Autograd.Grad([new OnceExp().Apply(x)[0].pow(2).sum()], [x], createGraph: true)[0]!;

        AssertClose(g, c.GetProperty("grad"), "first derivative");
        Assert.That(g.requires_grad, Is.EqualTo(c.GetProperty("grad_requires_grad").GetBoolean()));
        // PyTorch's grad is the Error node's output itself; Autograd.Grad hands back AccumulateGrad's copy of it.
        Assert.That(NodeNames(g.GradFn!), Does.Contain(S(c.GetProperty("grad_fn"))));
        var e = Assert.Throws<AutogradException>(() => g.sum().Backward());
        Assert.That(e!.Message, Is.EqualTo(S(c.GetProperty("error"))));
    }

    [Test]
    public void Backward_SecondTimeWithoutRetainGraph_ThrowsGraphFreedException()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(Case("exp").GetProperty("x"));
        Tensor y = new Exp().Apply(x)[0];
        y.sum().Backward();

        var e = Assert.Throws<GraphFreedException>(() => y.sum().Backward());

        Assert.That(e!.Message, Is.EqualTo(S(Case("errors").GetProperty("freed"))));
    }

    [Test]
    public void Backward_RetainGraph_RunsTwice()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("exp");
        Tensor x = Leaf(c.GetProperty("x"));
        Tensor y = new Exp().Apply(x)[0];

        y.sum().Backward(retainGraph: true);
        y.sum().Backward();

        AssertClose(x.grad! / 2, c.GetProperty("grad"), "accumulated twice");
    }

    [Test]
    public void Backward_SavedOutputModifiedInPlace_ThrowsPyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(Case("exp").GetProperty("x"));
        Tensor y = new Exp().Apply(x)[0];
        y.mul_(2);

        var e = Assert.Throws<AutogradException>(() => y.sum().Backward());

        Assert.That(e!.Message, Is.EqualTo(S(Case("errors").GetProperty("modified"))));
        Assert.That(e.Message, Does.Contain("which is output 0 of ExpBackward,"), "libtorch asks the node its (PyTorch) name");
    }

    [Test]
    public void Backward_SavedOutputOfALongNamedFunctionModified_LibTorchNamesTheNodeAsPyTorch()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(Case("exp").GetProperty("x"));
        Tensor y = new ExponentialWithALongName().Apply(x)[0];
        y.mul_(2);

        var e = Assert.Throws<AutogradException>(() => y.sum().Backward());

        // libtorch's own text calls the node's name(): a heap-allocated std::string past 15 characters.
        Assert.That(e!.Message, Does.Contain("which is output 0 of ExponentialWithALongNameBackward,"));
    }

    [Test]
    public void Backward_TooManyGradients_ThrowsPyTorchsError()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(Case("exp").GetProperty("x"));

        var e = Assert.Throws<AutogradException>(() => new TooManyGrads().Apply(x)[0].sum().Backward());

        Assert.That(e!.Message, Is.EqualTo(S(Case("errors").GetProperty("too_many"))));
    }

    [Test]
    public void Backward_NotOverridden_ThrowsNotImplementedExceptionWithPyTorchsMessage()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = Leaf(Case("exp").GetProperty("x"));

        var e = Assert.Throws<NotImplementedException>(() => new NoBackward().Apply(x)[0].sum().Backward());

        Assert.That(e!.Message, Is.EqualTo(S(Case("errors").GetProperty("no_backward"))));
    }

    [Test]
    public void GradCheck_OfCustomFunctions_AgreesWithPyTorch()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("gradcheck");
        Tensor x = Leaf(c.GetProperty("x"));

        Assert.That(Autograd.GradCheck(xs => new Exp().Apply(xs)[0], [x]), Is.EqualTo(c.GetProperty("exp").GetBoolean()));
        Assert.That(Autograd.GradCheck(xs => new WrongExp().Apply(xs)[0], [x], raiseException: false), Is.EqualTo(c.GetProperty("wrong").GetBoolean()));
        Assert.That(Autograd.GradCheck(xs => new Cube().Apply(xs)[0], [x]), Is.EqualTo(c.GetProperty("cube").GetBoolean()));
    }

    [Test]
    public void Apply_ExpJvpInsideDualLevel_GivesPyTorchsTangent()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("forward_mode").GetProperty("exp");
        using (Autograd.ForwardAD.DualLevel())
        {
            Tensor y = new ExpJvp().Apply(Autograd.ForwardAD.MakeDual(T(c.GetProperty("x")), T(c.GetProperty("v"))))[0];
            UnpackedDual d = Autograd.ForwardAD.UnpackDual(y);

            AssertClose(d.Primal, c.GetProperty("y"), "primal");
            AssertClose(d.Tangent!, c.GetProperty("tangent"), "tangent");
        }
    }

    [Test]
    public void Apply_TwoInputsTwoOutputsJvp_GivesPyTorchsTangents()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("forward_mode").GetProperty("mul_add");
        JsonElement m = Case("mul_add");
        using (Autograd.ForwardAD.DualLevel())
        {
            Tensor[] o = new MulAddJvp().Apply(
                Autograd.ForwardAD.MakeDual(T(m.GetProperty("a")), T(c.GetProperty("ta"))),
                Autograd.ForwardAD.MakeDual(T(m.GetProperty("b")), T(c.GetProperty("tb"))));

            AssertClose(Autograd.ForwardAD.UnpackDual(o[0]).Primal, c.GetProperty("o1"), "o1");
            AssertClose(Autograd.ForwardAD.UnpackDual(o[0]).Tangent!, c.GetProperty("t1"), "t1");
            AssertClose(Autograd.ForwardAD.UnpackDual(o[1]).Primal, c.GetProperty("o2"), "o2");
            AssertClose(Autograd.ForwardAD.UnpackDual(o[1]).Tangent!, c.GetProperty("t2"), "t2");
        }
    }

    [Test]
    public void Apply_IntegerInputInsideDualLevel_RunsForwardOnly()
    {
        using var scope = torch.NewDisposeScope();
        using (Autograd.ForwardAD.DualLevel())
        {
            Tensor[] o = new NoJvp().Apply(torch.tensor(new long[] { 1, 2, 3 }));

            Assert.That(o[0].data<long>().ToArray(), Is.EqualTo(new long[] { 2, 4, 6 }));
        }
    }

    [Test]
    public void Apply_WithoutJvpOnATangent_ThrowsPyTorchsErrorButWithoutTangentWorks()
    {
        using var scope = torch.NewDisposeScope();
        JsonElement c = Case("forward_mode");
        Tensor x = T(c.GetProperty("exp").GetProperty("x"));
        using (Autograd.ForwardAD.DualLevel())
        {
            var e = Assert.Throws<NotImplementedException>(() => new NoJvp().Apply(Autograd.ForwardAD.MakeDual(x, T(c.GetProperty("exp").GetProperty("v")))));
            Assert.That(e!.Message, Is.EqualTo(S(c.GetProperty("no_jvp"))));

            AssertClose(new NoJvp().Apply(x)[0], c.GetProperty("no_jvp_plain"), "no tangent, no jvp needed");
        }
    }
}
