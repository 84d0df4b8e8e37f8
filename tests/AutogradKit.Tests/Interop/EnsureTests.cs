using NUnit.Framework;

namespace AutogradKit.Tests.Interop;

/// <summary>The one error path's text rules.</summary>
public class EnsureTests
{
    // PyTorch's legacy tensor type names (torch.DoubleTensor, torch.cuda.FloatTensor) for libtorch's C++ ones.
    private static readonly object[] TensorTypes =
    [
        new object[] { "modified by an inplace operation: [CPUDoubleType [3]], which is output 0", "modified by an inplace operation: [torch.DoubleTensor [3]], which is output 0" },
        new object[] { "[CUDAFloatType [2, 2]], which", "[torch.cuda.FloatTensor [2, 2]], which" },
        new object[] { "[CPUComplexDoubleType []], which", "[torch.ComplexDoubleTensor []], which" },
        new object[] { "[CPULongType [1]] and [CPUBFloat16Type [4]]", "[torch.LongTensor [1]] and [torch.BFloat16Tensor [4]]" },
        new object[] { "no type here [3]", "no type here [3]" },
    ];

    [TestCaseSource(nameof(TensorTypes))]
    public void WithPythonTensorTypes_LibTorchTypeName_IsPyTorchs(string libtorch, string pytorch) =>
        Assert.That(Ensure.WithPythonTensorTypes(libtorch), Is.EqualTo(pytorch));

    [Test]
    public void FromNativeText_InPlaceModificationError_NamesTheTypeAsPyTorch()
    {
        AutogradException e = Ensure.FromNativeText("one of the variables needed for gradient computation has been modified by an inplace operation: [CPUDoubleType [3]], which is output 0 of ExpBackward0, is at version 1; expected version 0 instead.\nException raised from unpack at x.cpp:1");
        Assert.That(e.Message, Is.EqualTo("one of the variables needed for gradient computation has been modified by an inplace operation: [torch.DoubleTensor [3]], which is output 0 of ExpBackward0, is at version 1; expected version 0 instead."));
    }
}
