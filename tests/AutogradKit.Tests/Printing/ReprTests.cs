using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Printing;

public class ReprTests
{
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

    [Test]
    public void BuildRandn_ReproducesPyTorchSeededValues()
    {
        // libtorch 2.10's CPU generator draws what PyTorch 1.13's drew for the same seed.
        foreach (ReprCase c in ReprCases.All.Values.Where(c => c.Randn is not null))
        {
            using Tensor fromSeed = ReprCases.BuildRandn(c);
            using Tensor fromValues = ReprCases.BuildValues(c);
            Assert.That(fromSeed.allclose(fromValues, rtol: 0, atol: 0), Is.True, c.Name);
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

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Repr_ComplexTensor_ThrowsNotSupported(string device)
    {
        using Tensor t = torch.ones(2, dtype: ScalarType.ComplexFloat32, device: DeviceCases.Device(device));

        Assert.That(() => t.Repr(), Throws.InstanceOf<NotSupportedException>().With.Message.Contains("ComplexFloat32"));
    }

    [Test]
    public void Repr_NullTensor_ThrowsArgumentNull()
    {
        Tensor? t = null;

        Assert.That(() => t!.Repr(), Throws.ArgumentNullException);
    }
}
