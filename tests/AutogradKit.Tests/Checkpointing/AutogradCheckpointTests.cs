using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Checkpointing;

[AllowTensorLeaks(AllowTensorLeaksAttribute.TorchSharpParameterCount)]
public class AutogradCheckpointTests
{
    [TestCase(false, TestName = "Checkpoint_NonReentrant_GivesThePlainGradients")]
    [TestCase(true, TestName = "Checkpoint_Reentrant_GivesThePlainGradients")]
    public void Checkpoint_Network_GivesThePlainGradients(bool useReentrant)
    {
        using var net = CheckpointData.Network();
        Tensor x = CheckpointData.Input();
        Tensor output = Autograd.Checkpoint(net.forward, x, useReentrant);
        output.pow(2).sum().Backward();

        CheckpointData.AssertGradients(useReentrant ? "checkpoint_reentrant" : "checkpoint_non_reentrant", net, output, x);
    }

    [Test]
    public void Checkpoint_Plain_MatchesPyTorchsPlainRun()
    {
        using var net = CheckpointData.Network();
        Tensor x = CheckpointData.Input();
        Tensor output = net.forward(x);
        output.pow(2).sum().Backward();

        CheckpointData.AssertGradients("plain", net, output, x);
    }

    [TestCase(1, false)]
    [TestCase(2, false)]
    [TestCase(3, false)]
    [TestCase(1, true)]
    [TestCase(2, true)]
    [TestCase(3, true)]
    public void CheckpointSequential_Segments_GiveThePlainGradients(int segments, bool useReentrant)
    {
        using var net = CheckpointData.Network();
        Tensor x = CheckpointData.Input();
        Tensor output = Autograd.CheckpointSequential(net, segments, x, useReentrant);
        output.pow(2).sum().Backward();

        CheckpointData.AssertGradients($"sequential_{segments}_{(useReentrant ? "reentrant" : "non_reentrant")}", net, output, x);
    }

    [Test]
    public void Checkpoint_NonReentrant_SavesNothingOfTheCheckpointedPart()
    {
        using var net = CheckpointData.Network();
        Tensor x = CheckpointData.Input();
        int plainPacks = 0, checkpointedPacks = 0;
        using (Autograd.Graph.SavedTensorsHooks(t => { plainPacks++; return t; }, o => (Tensor)o))
        {
            _ = net.forward(x);
        }
        using (Autograd.Graph.SavedTensorsHooks(t => { checkpointedPacks++; return t; }, o => (Tensor)o))
        {
            _ = Autograd.Checkpoint(net.forward, x);
        }

        Assert.That(plainPacks, Is.GreaterThan(0));
        Assert.That(checkpointedPacks, Is.Zero, "the checkpoint's own hooks keep placeholders; the outer hooks see nothing");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Checkpoint_Dropout_RerunDrawsTheSameMask(bool useReentrant)
    {
        Tensor w = torch.linspace(-1, 1, 12, dtype: ScalarType.Float64).reshape(3, 4).requires_grad_(true);
        Func<Tensor, Tensor> f = x => nn.functional.dropout(x.matmul(w), 0.5, training: true).tanh();

        torch.random.manual_seed(7);
        Tensor x1 = torch.ones(5, 3, dtype: ScalarType.Float64).requires_grad_(true);
        f(x1).sum().Backward();
        Tensor plain = w.grad!.clone();
        w.grad!.zero_();

        torch.random.manual_seed(7);
        Tensor x2 = torch.ones(5, 3, dtype: ScalarType.Float64).requires_grad_(true);
        Autograd.Checkpoint(f, x2, useReentrant).sum().Backward();

        Assert.That(w.grad!.data<double>().ToArray(), Is.EqualTo(plain.data<double>().ToArray()).Within(1e-12));
    }

    [Test]
    public void Checkpoint_DropoutWithoutPreservingRngState_DrawsAnotherMask()
    {
        // The control of the test above: without the state the rerun's mask differs, so its equality is not luck.
        Tensor w = torch.linspace(-1, 1, 12, dtype: ScalarType.Float64).reshape(3, 4).requires_grad_(true);
        Func<Tensor, Tensor> f = x => nn.functional.dropout(x.matmul(w), 0.5, training: true).tanh();
        torch.random.manual_seed(7);
        f(torch.ones(5, 3, dtype: ScalarType.Float64).requires_grad_(true)).sum().Backward();
        Tensor plain = w.grad!.clone();
        w.grad!.zero_();

        torch.random.manual_seed(7);
        Autograd.Checkpoint(f, torch.ones(5, 3, dtype: ScalarType.Float64).requires_grad_(true), preserveRngState: false).sum().Backward();

        Assert.That(w.grad!.data<double>().ToArray(), Is.Not.EqualTo(plain.data<double>().ToArray()));
    }

    [Test]
    public void Checkpoint_Rerun_LeavesTheRandomStateAsItWas()
    {
        Tensor w = torch.ones(3, 3, dtype: ScalarType.Float64).requires_grad_(true);
        Tensor y = Autograd.Checkpoint(x => nn.functional.dropout(x.matmul(w), 0.5, training: true), torch.ones(2, 3, dtype: ScalarType.Float64));
        torch.random.manual_seed(11);
        y.sum().Backward();
        double afterBackward = torch.rand(1, dtype: ScalarType.Float64).item<double>();
        torch.random.manual_seed(11);

        Assert.That(torch.rand(1, dtype: ScalarType.Float64).item<double>(), Is.EqualTo(afterBackward));
    }

    [Test]
    public void Checkpoint_NonReentrant_WorksWithGrad()
    {
        using var net = CheckpointData.Network();
        Tensor x = CheckpointData.Input();
        Tensor?[] grads = Autograd.Grad([Autograd.Checkpoint(net.forward, x).pow(2).sum()], [x]);

        Assert.That(grads[0]!.reshape(-1).data<double>().ToArray(), Is.EqualTo(CheckpointData.Doubles(CheckpointData.Result("plain").GetProperty("x"))).Within(1e-12));
    }

    [Test]
    public void Checkpoint_ReentrantUnderGrad_ThrowsPyTorchsError()
    {
        using var net = CheckpointData.Network();
        Tensor x = CheckpointData.Input();
        Tensor y = Autograd.Checkpoint(net.forward, x, useReentrant: true).sum();

        var e = Assert.Throws<AutogradException>(() => Autograd.Grad([y], [x]));
        Assert.That(e!.Message, Is.EqualTo(CheckpointData.Message("reentrant_grad")));
    }

    [Test]
    public void Checkpoint_ReentrantWithoutInputRequiringGrad_WarnsAsPyTorch()
    {
        using var net = CheckpointData.Network();
        var warnings = new List<string>();
        using (UserWarnings.Capture(warnings))
        {
            _ = Autograd.Checkpoint(net.forward, CheckpointData.Input().detach(), useReentrant: true);
        }

        Assert.That(warnings, Is.EqualTo(new[] { CheckpointData.Message("reentrant_no_input_requires_grad") }));
    }

    [Test]
    public void Checkpoint_RetainGraph_RerunsInEachPass()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        Tensor y = Autograd.Checkpoint(t => t.exp().sin(), x).sum();
        int before = CheckpointFrame._reruns;
        y.Backward(retainGraph: true);
        y.Backward();

        Assert.That(CheckpointFrame._reruns - before, Is.EqualTo(2));
        Assert.That(x.grad!.data<double>().ToArray(), Is.EqualTo((2 * x.exp() * x.exp().cos()).detach().data<double>().ToArray()).Within(1e-12));
    }

    [Test]
    public void Checkpoint_FunctionThrowsInRerun_BackwardRethrowsItAsItself()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        int runs = 0;
        Tensor y = Autograd.Checkpoint(t => ++runs == 1 ? t.exp() : throw new TimeoutException("second run"), x).sum();

        Assert.Throws<TimeoutException>(() => y.Backward());
        y.Dispose(); // the failed pass left the graph and its placeholders; free them now, not at finalization
    }

    [Test]
    public void Checkpoint_RerunSavesADifferentNumberOfTensors_ThrowsPyTorchsError()
    {
        Tensor x = torch.tensor(new[] { 0.5, -1.2, 2.0 }, requires_grad: true);
        int runs = 0;
        Tensor y = Autograd.Checkpoint(t => ++runs == 1 ? t.exp() : t.exp().sin(), x).sum();

        var e = Assert.Throws<AutogradException>(() => y.Backward());
        Assert.That(e!.Message, Is.EqualTo("torch.utils.checkpoint: A different number of tensors was saved during the original forward and recomputation."));
        y.Dispose();
    }

    [Test]
    public void CheckpointSequential_WrongSegments_ThrowsArgumentOutOfRange()
    {
        using var net = CheckpointData.Network();
        Tensor x = CheckpointData.Input();
        Assert.Throws<ArgumentOutOfRangeException>(() => Autograd.CheckpointSequential(net, 0, x));
        Assert.Throws<ArgumentOutOfRangeException>(() => Autograd.CheckpointSequential(net, 6, x));
    }

    [Test]
    public void Checkpoint_NullArguments_ThrowArgumentNullException()
    {
        Tensor x = torch.ones(2);
        Assert.Throws<ArgumentNullException>(() => Autograd.Checkpoint((Func<Tensor, Tensor>)null!, x));
        Assert.Throws<ArgumentNullException>(() => Autograd.Checkpoint(xs => xs[0], [null!]));
    }
}
