using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks.Profiling;

/// <summary>
/// <c>--wide-jacobian M</c>: one <c>Autograd.Functional.Jacobian</c> (the loop, no <c>vectorize</c>) of
/// <c>x ↦ sin(x·w)</c>, R¹ → Rᴹ, timed once after a small warm-up; run it under <c>/usr/bin/time -v</c> for the
/// peak resident set. <c>pytorch/wide_jacobian.py M</c> is PyTorch's side. The whole process is the measurement,
/// so nothing else runs in it.
/// </summary>
public static class WideJacobianMode
{
    /// <summary>Runs the measurement; returns the process exit code (2 for bad arguments).</summary>
    public static int Run(string[] args)
    {
        int at = Array.IndexOf(args, "--wide-jacobian");
        if (at < 0 || args.Length < at + 2 || !long.TryParse(args[at + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long m) || m <= 0)
        {
            Console.Error.WriteLine("usage: --wide-jacobian M");
            return 2;
        }
        torch.set_num_threads(1);
        using (torch.NewDisposeScope())
        {
            Tensor small = torch.linspace(0.0, 1.0, 8, dtype: ScalarType.Float64);
            Autograd.Functional.Jacobian(x => (x * small).sin(), torch.ones(1, dtype: ScalarType.Float64));
        }
        using (torch.NewDisposeScope())
        {
            Tensor w = torch.linspace(0.0, 1.0, m, dtype: ScalarType.Float64);
            Tensor input = torch.ones(1, dtype: ScalarType.Float64);
            var clock = Stopwatch.StartNew();
            Tensor jacobian = Autograd.Functional.Jacobian(x => (x * w).sin(), input);
            clock.Stop();
            double check = (jacobian.squeeze(1) - (w * w.cos())).abs().max().item<double>();
            Console.WriteLine(FormattableString.Invariant($"m={m} shape=[{string.Join(", ", jacobian.shape)}] seconds={clock.Elapsed.TotalSeconds:F3} maxerror={check:E2}"));
        }
        return 0;
    }
}
