using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Interop;

/// <summary>The owner counts that decide whether a self-capturing hook can be collected.</summary>
public class TensorOwnersTests
{
    [Test]
    public void CheckFailure_OnTheVerifiedPlatform_IsNull()
    {
        if (CxxExports.Abi == CxxAbi.Unverified)
        {
            Assert.Ignore($"the counts are read only where a C++ ABI is verified: {PlatformSupport.VerifiedOnLinuxAndWindows}");
        }
        using (torch.ones(1).RequiresGrad().RegisterHook(g => g)) { }
        Assert.That(TensorOwners.CheckFailure, Is.Null);
    }

    [Test]
    public void OthersMayCallHooks_LeafAloneThenHeldByAGraph_FalseThenTrue()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        using IDisposable hook = x.RegisterHook(g => g);
        Assume.That(TensorOwners.CheckFailure, Is.Null);
        Assert.That(TensorOwners.OthersMayCallHooks(x), Is.False);
        Tensor y = x * 2;
        Assert.That(TensorOwners.OthersMayCallHooks(x), Is.True, "y's AccumulateGrad holds x");
        y.Dispose();
        Assert.That(TensorOwners.OthersMayCallHooks(x), Is.False);
    }

    [Test]
    public void OthersMayCallHooks_NonLeafWhoseNodeALaterNodeHolds_True()
    {
        using var scope = torch.NewDisposeScope();
        Tensor y = torch.ones(3).RequiresGrad() * 2;
        using IDisposable hook = y.RegisterHook(g => g);
        Assume.That(TensorOwners.CheckFailure, Is.Null);
        Assert.That(TensorOwners.OthersMayCallHooks(y), Is.False);
        Tensor z = y.sum();
        Assert.That(TensorOwners.OthersMayCallHooks(y), Is.True, "z's node holds y's grad_fn");
        z.Dispose();
        Assert.That(TensorOwners.OthersMayCallHooks(y), Is.False);
    }
}
