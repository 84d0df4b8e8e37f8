using NUnit.Framework;
using TorchSharp;

namespace AutogradKit.Tests.Tensors;

public class TensorArgumentsTests
{
    [Test]
    public void Live_DisposedTensor_ThrowsObjectDisposedNamingTheArgument()
    {
        // TorchSharp itself would say "Tensor invalid -- empty handle." (an InvalidOperationException that names
        // nothing): every member that takes a tensor, the functional API's calls of the user's f included, checks
        // through this helper first.
        var t = torch.ones(2);
        t.Dispose();

        var e = Assert.Throws<ObjectDisposedException>(() => TensorArguments.Live(t, "inputs[0]"));

        Assert.That(e!.Message, Does.Contain("'inputs[0]'"));
    }
}
