using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Soak;

/// <summary>
/// Training steps that use every feature, many times over: resident memory must stop growing once warm, and
/// no tensor may be left alive. The 100 000-step run is [Explicit] (about a minute or two); a 2 000-step run
/// with the same checks is part of the normal suite.
/// </summary>
[NoTensorLeaks(Strict = true)]
public class LongLoopTests
{
    private const long MiB = 1024 * 1024;

    [Test]
    public void TrainingLoop_2000Steps_NoGrowthAndNoLiveTensors() => RunAndCheck(steps: 2_000, warmup: 500, allowedGrowth: 8 * MiB);

    [Test]
    [Explicit("soak: 100 000 steps, a minute or two; run on its own")]
    public void TrainingLoop_100000Steps_ResidentGrowthUnder8MiB() => RunAndCheck(steps: 100_000, warmup: 10_000, allowedGrowth: 8 * MiB);

    /// <summary>
    /// Runs <paramref name="warmup"/> steps, measures resident memory, runs the rest, measures again. Memory that
    /// a leak takes only grows; allocator noise does not, so when the first measurement is over the limit the
    /// loop runs half as many steps again and the growth must not continue (a second chance against noise).
    /// </summary>
    private static void RunAndCheck(int steps, int warmup, long allowedGrowth)
    {
        using var loop = new SoakLoop();
        long liveBefore = TensorLeakMonitor.SettledLiveCount();
        loop.Run(warmup);
        long baseline = ResidentMemory.SettledBytes();
        int measured = steps - warmup;
        int checkpoints = measured >= 10_000 ? 10 : 1;
        for (int c = 0; c < checkpoints; c++)
        {
            loop.Run(measured / checkpoints + (c == checkpoints - 1 ? measured % checkpoints : 0));
            if (checkpoints > 1)
            {
                TestContext.Out.WriteLine($"  after {warmup + (c + 1) * (measured / checkpoints)} steps: {(ResidentMemory.Bytes() - baseline) / 1024.0:F0} KiB above the warm baseline");
            }
        }
        long after = ResidentMemory.SettledBytes();
        long growth = after - baseline;
        TestContext.Out.WriteLine($"{steps} steps ({warmup} warm-up): resident {baseline / (double)MiB:F1} MiB -> {after / (double)MiB:F1} MiB, growth {growth / 1024.0:F0} KiB; {loop.Elapsed.TotalSeconds:F1} s, {loop.Elapsed.TotalMilliseconds * 1000 / steps:F0} us/step");
        if (growth >= allowedGrowth)
        {
            loop.Run((steps - warmup) / 2);
            long again = ResidentMemory.SettledBytes();
            TestContext.Out.WriteLine($"second chance: {after / (double)MiB:F1} MiB -> {again / (double)MiB:F1} MiB");
            Assert.That(again - after, Is.LessThan(allowedGrowth / 2),
                $"resident memory grew {growth / 1024} KiB over {steps - warmup} steps and kept growing");
        }
        Assert.That(TensorLeakMonitor.SettledLiveCount(), Is.EqualTo(liveBefore), "tensors left alive by the loop");
    }
}
