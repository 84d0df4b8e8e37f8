using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Printing;

public class ReprTests
{
    /// <summary>One float32 ulp relative to the value: |x − y| ≤ 2⁻²³·|y| when x is y's neighbour.</summary>
    private const double FloatUlp = 1.0 / (1 << 23);

    [TestCaseSource(typeof(ReprCases), nameof(ReprCases.Leaves))]
    [AllowTensorLeaks(AllowTensorLeaksAttribute.TorchSharpParameterCount, ParameterDriftOnly = true)]
    public void Repr_MatchesPyTorch(string device, string name)
    {
        ReprCase c = ReprCases.All[name];
        using Tensor t = ReprCases.Build(c, DeviceCases.Device(device));

        Assert.That(t.Repr(c.Options), Is.EqualTo(ReprCases.ExpectedOn(c, device)));
    }

    [TestCaseSource(typeof(ReprCases), nameof(ReprCases.WithGradFn))]
    [AllowTensorLeaks(AllowTensorLeaksAttribute.TorchSharpParameterCount, ParameterDriftOnly = true)]
    public void Repr_WithGradFn_MatchesPyTorch(string device, string name)
    {
        ReprCase c = ReprCases.All[name];
        using Tensor t = ReprCases.Build(c, DeviceCases.Device(device));

        Assert.That(t.Repr(c.Options), Is.EqualTo(ReprCases.ExpectedOn(c, device)));
    }

    [TestCaseSource(typeof(ReprCases), nameof(ReprCases.Meta))]
    public void Repr_MetaTensor_MatchesPyTorch(MetaReprCase c)
    {
        // PyTorch 1.13: tensor(..., device='meta', size=(3,)); before, a raw ExternalException (no data to read).
        using Tensor t = ReprCases.BuildMeta(c);

        Assert.That(t.Repr(), Is.EqualTo(c.Expected));
    }

    [TestCaseSource(typeof(ReprCases), nameof(ReprCases.InvalidViews))]
    public void Repr_ViewWhoseGradFnRaises_PrintsGradFnInvalid(InvalidViewCase c)
    {
        // Before: libtorch's grad_fn() threw through P/Invoke and ended the process (the misuse runner has the
        // child-process version of this case).
        var (view, @base) = ReprCases.BuildInvalidView(c);
        using (view)
        using (@base)
        {
            Assert.That(view.Repr(), Is.EqualTo(c.Expected));
            Assert.That(TensorRepr.Format(view, ReprOptions.Default, canReadNodes: false), Is.EqualTo(c.Expected));
        }
    }

    [TestCaseSource(typeof(ReprCases), nameof(ReprCases.WithGradFn))]
    [AllowTensorLeaks(AllowTensorLeaksAttribute.TorchSharpParameterCount, ParameterDriftOnly = true)]
    public void Format_NodeNamesUnreadable_PrintsPyTorchsTextWithGradFnUnknown(string device, string name)
    {
        // Where the node layout is not verified (Windows, macOS), Repr prints everything PyTorch prints but the name.
        ReprCase c = ReprCases.All[name];
        using Tensor t = ReprCases.Build(c, DeviceCases.Device(device));
        // PyTorch's own _add_suffixes with the name replaced (generate_repr.py), so the line breaks are PyTorch's too.
        string expected = c.ExpectedUnknownGradFn!.Value.GetProperty(device).GetString()!;
        Assert.That(expected, Does.Contain("grad_fn=<Unknown>"));

        Assert.That(TensorRepr.Format(t, c.Options, canReadNodes: false), Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(LeavesThatRequireGrad))]
    [AllowTensorLeaks(AllowTensorLeaksAttribute.TorchSharpParameterCount, ParameterDriftOnly = true)]
    public void Format_NodeNamesUnreadable_LeafIsExactlyPyTorchs(string name)
    {
        ReprCase c = ReprCases.All[name];
        using Tensor t = ReprCases.Build(c, torch.CPU);

        Assert.That(TensorRepr.Format(t, c.Options, canReadNodes: false), Is.EqualTo(c.Expected));
    }

    public static IEnumerable<string> LeavesThatRequireGrad() =>
        ReprCases.All.Values.Where(c => c.GradFn is null && (c.RequiresGrad || c.Parameter == true)).Select(c => c.Name).Take(20);

    [Test]
    public void ReprOptions_PrecisionOutOfRange_ThrowsArgumentOutOfRangeNamingIt()
    {
        // Before: FormatException from .NET's number formatting at Repr time. PyTorch prints garbage for int.MaxValue.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReprOptions(Precision: int.MaxValue));
        Assert.That(e!.ParamName, Is.EqualTo("Precision"));
        Assert.That(e.Message, Does.Contain("ReprOptions.Precision"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = ReprOptions.Default with { Precision = ReprOptions.MaxPrecision + 1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = ReprOptions.Default with { Precision = -1 });
        Assert.That(new ReprOptions(Precision: ReprOptions.MaxPrecision).Precision, Is.EqualTo(ReprOptions.MaxPrecision));
    }

    [Test]
    public void ReprOptions_NegativeEdgeItems_ThrowsArgumentOutOfRangeNamingIt()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = ReprOptions.Default with { EdgeItems = -1 });
        Assert.That(e!.ParamName, Is.EqualTo("EdgeItems"));
    }

    [Test]
    public void Repr_MaxPrecision_PrintsEveryDigit()
    {
        using Tensor t = torch.tensor(double.Epsilon);

        string text = t.Repr(new ReprOptions(Precision: 1080));

        // PyTorch 1.13 with set_printoptions(precision=1080): the exact value's digits, then zeros, and the suffix wrapped.
        Assert.That(text, Does.StartWith("tensor(4.9406564584124654417656879286822137236505980"));
        Assert.That(text, Does.EndWith("000000e-324,\n       dtype=torch.float64)"));
    }

    [Test]
    public void BuildRandn_ReproducesPyTorchSeededValues()
    {
        // libtorch 2.10's CPU generator draws what PyTorch 1.13's drew for the same seed: bit for bit on Linux. The
        // MSVC build's vectorised normal (16 or more elements) rounds an occasional float32 element one ulp away
        // (measured under Wine: one element of 16 and one of 60), so Windows is held to one ulp, never more.
        double rtol = OperatingSystem.IsWindows() ? FloatUlp : 0;
        foreach (ReprCase c in ReprCases.All.Values.Where(c => c.Randn is not null))
        {
            using Tensor fromSeed = ReprCases.BuildRandn(c);
            using Tensor fromValues = ReprCases.BuildValues(c);
            Assert.That(fromSeed.allclose(fromValues, rtol: rtol, atol: 0), Is.True, c.Name);
        }
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Repr_DefaultOptions_AreTorchDefaults(string device)
    {
        using Tensor t = torch.arange(2000, dtype: ScalarType.Float32, device: DeviceCases.Device(device));

        Assert.That(t.Repr(), Is.EqualTo(t.Repr(new ReprOptions(4, 1000, 3, 80, null))));
        Assert.That(t.Repr(), Is.EqualTo(t.Repr(ReprOptions.Default)));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Repr_ThresholdMaxValue_NeverSummarises(string device)
    {
        using Tensor t = torch.arange(1500, dtype: ScalarType.Int64, device: DeviceCases.Device(device));

        string text = t.Repr(ReprOptions.Default with { Threshold = int.MaxValue });

        Assert.That(text, Does.Not.Contain("..."));
        Assert.That(text, Does.Contain(" 1499]"));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Repr_LeavesTensorAndGraphUnchanged(string device)
    {
        using Tensor t = torch.arange(3000, dtype: ScalarType.Float32, device: DeviceCases.Device(device)).requires_grad_(true);

        _ = t.Repr();

        Assert.That(t.requires_grad, Is.True);
        Assert.That(t.is_leaf, Is.True);
        Assert.That(t.shape, Is.EqualTo(new long[] { 3000 }));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Repr_NegativePrecision_ThrowsArgumentOutOfRange(string device)
    {
        using Tensor t = torch.ones(2, device: DeviceCases.Device(device));

        Assert.That(() => t.Repr(new ReprOptions(Precision: -1)), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Repr_NegativeEdgeItems_ThrowsArgumentOutOfRange(string device)
    {
        using Tensor t = torch.ones(2, device: DeviceCases.Device(device));

        Assert.That(() => t.Repr(new ReprOptions(EdgeItems: -1)), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Repr_ZeroEdgeItemsSummarisingMatrix_ThrowsLikePyTorch(string device)
    {
        // PyTorch: RuntimeError "stack expects a non-empty TensorList".
        using Tensor t = torch.ones(4, 4, device: DeviceCases.Device(device));

        Assert.That(() => t.Repr(new ReprOptions(Threshold: 3, EdgeItems: 0)),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("EdgeItems 0"));
    }

    [Test]
    public void DtypeName_QuantizedDtype_ThrowsNotSupported()
    {
        Assert.That(() => TensorRepr.DtypeName(ScalarType.QInt8), Throws.InstanceOf<NotSupportedException>().With.Message.Contains("QInt8"));
    }

    [Test]
    public void Repr_NullTensor_ThrowsArgumentNull()
    {
        Tensor? t = null;

        Assert.That(() => t!.Repr(), Throws.ArgumentNullException);
    }
}
