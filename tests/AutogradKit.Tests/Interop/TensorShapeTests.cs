using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Tensors;

public class TensorShapeTests
{
    private static readonly long[][] Shapes = [[], [0], [5], [2, 3], [4, 1, 3], [2, 0, 7], [1, 2, 3, 4, 5]];

    private static IEnumerable<TestCaseData> Cases() =>
        DeviceCases.Cross(Shapes.Select(s => new object[] { s }), row => $"[{string.Join(",", (long[])row[0]!)}]");

    [TestCaseSource(nameof(Cases))]
    public void Of_IsTheTensorsShape(string deviceName, long[] shape)
    {
        using Tensor t = torch.zeros(shape, device: DeviceCases.Device(deviceName));
        Assert.That(TensorShape.Of(t), Is.EqualTo(shape));
        using Tensor view = t.unsqueeze(0);
        Assert.That(TensorShape.Of(view), Is.EqualTo((long[])[1, .. shape]));
    }

    [TestCaseSource(nameof(Cases))]
    public void RankAndSize_AreDimAndEachSize(string deviceName, long[] shape)
    {
        using Tensor t = torch.zeros(shape, device: DeviceCases.Device(deviceName));
        using Tensor moved = shape.Length > 1 ? t.movedim([0L], [-1L]) : t.alias();
        long[] expected = shape.Length > 1 ? [.. shape[1..], shape[0]] : shape;
        Assert.That(TensorShape.Rank(moved), Is.EqualTo(expected.Length));
        Assert.That(Enumerable.Range(0, expected.Length).Select(d => TensorShape.Size(moved, d)), Is.EqualTo(expected));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Same_ComparesRankAndSizes(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        using Tensor a = torch.zeros([2, 3], device: device);
        using Tensor b = torch.ones([2, 3], device: device);
        using Tensor c = torch.zeros([3, 2], device: device);
        using Tensor d = torch.zeros([2, 3, 1], device: device);
        using Tensor e = torch.zeros([6], device: device);
        Assert.That(TensorShape.Same(a, b), Is.True);
        Assert.That(TensorShape.Same(a, c), Is.False);
        Assert.That(TensorShape.Same(a, d), Is.False);
        Assert.That(TensorShape.Same(d, a), Is.False);
        Assert.That(TensorShape.Same(a, e), Is.False);
    }
}
