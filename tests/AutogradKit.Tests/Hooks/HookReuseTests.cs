using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Hooks;

/// <summary>
/// Removed hooks stay in libtorch's list as pass-through trampolines (remove_hook is never called); a hook registered
/// when removed ones end the tensor's current list takes over the first of them, so a tensor that gets a hook
/// registered and removed every step keeps a list of constant length. Expected values are arithmetic on
/// y = x * x at x = [1, 2, 3], whose gradient into x is 2x times what reaches y.
/// </summary>
public class HookReuseTests
{
    [SetUp]
    public void RequireCheckedLayout()
    {
        using (Tensor probe = torch.ones(1).RequiresGrad())
        {
            probe.RegisterHook(g => g).Dispose(); // runs the first-use checks
        }
        Assert.That(HookAbi.ListLayoutFailure, Is.Null, "the hook-list layout check failed on the platform these tests run on");
    }

    private static float[] GradOf(Tensor x)
    {
        using Tensor g = x.grad!;
        return g.data<float>().ToArray();
    }

    [Test]
    public void Register_AfterRemovedHooksEndTheList_ReusesTheirTrampolinesInRegistrationOrder()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new float[] { 1, 2, 3 }).RequiresGrad();
        Tensor y = x * x;
        IDisposable first = y.RegisterHook(g => g * 100);
        IDisposable second = y.RegisterHook(g => g * 100);
        second.Dispose();
        first.Dispose();
        int entries = HookTable.Count;
        using IDisposable plusOne = y.RegisterHook(g => g + 1);
        using IDisposable twice = y.RegisterHook(g => g * 2);
        Assert.That(HookTable.Count, Is.EqualTo(entries), "appended instead of reusing");
        y.sum().backward();
        // (1 + 1) * 2 = 4 reaches y, in registration order ((1 * 2) + 1 = 3 would be the other): x.grad = 4 * 2x.
        Assert.That(GradOf(x), Is.EqualTo(new[] { 8f, 16f, 24f }));
    }

    [Test]
    public void Register_AfterALiveHookEndsTheList_Appends()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new float[] { 1, 2, 3 }).RequiresGrad();
        Tensor y = x * x;
        y.RegisterHook(g => g * 100).Dispose();
        using IDisposable live = y.RegisterHook(g => g + 1);
        int entries = HookTable.Count;
        using IDisposable twice = y.RegisterHook(g => g * 2);
        Assert.That(HookTable.Count, Is.EqualTo(entries + 1), "a removed hook before a live one cannot be reused without reordering");
        y.sum().backward();
        Assert.That(GradOf(x), Is.EqualTo(new[] { 8f, 16f, 24f }));
    }

    [Test]
    public void Register_EveryStepOnALongLivedLeaf_KeepsOneTrampoline()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new float[] { 1, 2, 3 }).RequiresGrad();
        int entries = HookTable.Count;
        for (int step = 0; step < 1000; step++)
        {
            using IDisposable h = x.RegisterHook(g => g * 2);
            (x * x).sum().Backward();
        }
        Assert.That(HookTable.Count, Is.EqualTo(entries + 1));
        // Each step: 2 * 2x.
        Assert.That(GradOf(x), Is.EqualTo(new[] { 4000f, 8000f, 12000f }));
    }

    [Test]
    public void Register_AfterAnInPlaceOpReplacedTheList_GoesToTheNewListAndRuns()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new float[] { 1, 2, 3 }).RequiresGrad();
        Tensor y = x * 2;
        y.RegisterHook(g => g * 100).Dispose();
        y.add_(1); // a new grad_fn: libtorch starts a new list for y; the old one stays with the old node
        int calls = 0;
        using IDisposable h = y.RegisterHook(g => { calls++; return g * 3; });
        y.sum().backward();
        Assert.That(calls, Is.EqualTo(1));
        Assert.That(GradOf(x), Is.EqualTo(new[] { 6f, 6f, 6f })); // 3 * d(2x + 1)/dx
    }

    [Test]
    public void Register_AfterInPlaceOpAndDetachMadeALeafAgain_GoesToTheNewListAndRuns()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3).RequiresGrad();
        x.RegisterHook(g => g * 100).Dispose();
        x.RequiresGrad(false);
        x.mul_(torch.ones(3).RequiresGrad());
        x.detach_();
        x.RequiresGrad();
        using IDisposable h = x.RegisterHook(g => g * 3);
        (x * 2).sum().backward();
        Assert.That(GradOf(x), Is.EqualTo(new[] { 6f, 6f, 6f }));
    }
}
