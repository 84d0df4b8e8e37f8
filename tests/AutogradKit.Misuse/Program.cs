using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Misuse;

/// <summary>
/// Makes a few thousand wrong calls to AutogradKit, chosen at random with a fixed seed, and checks that each one
/// either succeeds or throws a documented .NET exception, with a clean message, and leaves the thread's autograd
/// state as it was. Prints <c>CALL n name</c> (flushed) before each call, so that when a native abort ends the
/// process the parent can tell which call did it.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet AutogradKit.Misuse.dll [--seed N] [--calls N] [--abort-probe] [--hook-repro NAME]</c>. Exit code 0 when every
/// call behaved, 3 when some did not (listed on stdout), anything else is a crash.
/// <c>--abort-probe</c> makes the one call this runner knows ends the process (TorchSharp's own
/// <c>torch.autograd.grad</c> with an unused input), to prove that the parent notices.
/// </remarks>
public static class Program
{
    /// <summary>The probes' input values.</summary>
    private static readonly double[] OneTwo = [1.0, 2.0];

    /// <summary>Runs the misuse loop.</summary>
    public static int Main(string[] args)
    {
        int seed = 20261125;
        int calls = 3000;
        bool abortProbe = false;
        string? warningsProbe = null;
        string? hookRepro = null;
        bool gradFirstUseProbe = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seed": seed = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--calls": calls = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--abort-probe": abortProbe = true; break;
                case "--warnings-probe": warningsProbe = args[++i]; break;
                case "--hook-repro": hookRepro = args[++i]; break;
                case "--grad-first-use-probe": gradFirstUseProbe = true; break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        NoCoreDumps();
        torch.set_num_threads(1);
        if (abortProbe)
        {
            Log("CALL 0 raw TorchSharp torch.autograd.grad with an unused input (aborts the process)");
            using var a = torch.ones(2).requires_grad_(true);
            using var unused = torch.ones(2).requires_grad_(true);
            using var s = a.sum();
            _ = torch.autograd.grad([s], [a, unused]);
            Log("  survived (unexpected)");
            return 0;
        }
        if (hookRepro is not null)
        {
            return HookRepros.Run(hookRepro);
        }
        if (warningsProbe is not null)
        {
            return WarningsProbe(warningsProbe);
        }
        if (gradFirstUseProbe)
        {
            return GradFirstUseProbe();
        }
        return new MisuseRunner(seed).Run(calls);
    }

    /// <summary>
    /// What libtorch prints on stderr around a create-graph gradient, for the parent to read (libtorch writes its
    /// warnings to file descriptor 2, out of reach inside the process). <c>kit</c>: <c>Autograd.Grad</c> with
    /// <c>createGraph</c> and a non-leaf input while a hook raises another c10 warning (an <c>out=</c> tensor of the
    /// wrong shape, which libtorch resizes with a warning); <c>raw</c>: TorchSharp's own
    /// <c>backward(create_graph, inputs)</c> and a read of a non-leaf's <c>.grad</c>.
    /// </summary>
    private static int WarningsProbe(string mode)
    {
        using var x = torch.tensor(OneTwo).requires_grad_(true);
        using var h = x * x;
        using var s = (h * x).sum();
        if (mode == "raw")
        {
            torch.autograd.backward([s], create_graph: true, inputs: [x]);
            x.grad = null;
            using Tensor? nonLeafGrad = h.grad;
        }
        else
        {
            using IDisposable hook = h.RegisterHook(g =>
            {
                using var wrongShape = torch.zeros(1);
                using var ones = torch.ones(2, 3);
                ones.amax([0], false, wrongShape).Dispose();
                return g;
            });
            // h is not a leaf: a backward into .grad would read its .grad, which libtorch warns about.
            Tensor?[] grads = Autograd.Grad([s], [x, h], createGraph: true);
            foreach (Tensor? g in grads)
            {
                g?.Dispose();
            }
        }
        Log("warnings probe done");
        return 0;
    }

    /// <summary>
    /// The first <c>Autograd.Grad</c> of a process, made inside <c>InferenceMode</c> and <c>NoGrad</c>: its
    /// first-use check (compiling the grad script and running it twice) must not see the caller's modes, and the
    /// call must then give PyTorch's gradients and leave the modes as they were. Prints the gradient.
    /// </summary>
    private static int GradFirstUseProbe()
    {
        using var x = torch.tensor(OneTwo).requires_grad_(true);
        using var y = (x * x).sum();
        Tensor?[] g;
        using (Autograd.NoGrad())
        using (Autograd.InferenceMode())
        {
            Log("CALL 0 first Autograd.Grad of the process, in InferenceMode and NoGrad");
            g = Autograd.Grad([y], [x], retainGraph: true);
            Log($"modes inside: grad {Autograd.IsGradEnabled}, inference {Autograd.IsInferenceModeEnabled}");
        }
        Log($"gradient {string.Join(" ", g[0]!.data<double>().ToArray())}");
        Log($"modes after: grad {Autograd.IsGradEnabled}, inference {Autograd.IsInferenceModeEnabled}");
        Log($"second call {string.Join(" ", Autograd.Grad([y], [x], createGraph: true)[0]!.data<double>().ToArray())}");
        g[0]!.Dispose();
        return 0;
    }

    /// <summary>Writes a line and flushes it, so the parent sees it even if the next call aborts.</summary>
    public static void Log(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    // An abort must not write a core file of libtorch's size into the working directory.
    private static void NoCoreDumps()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var zero = new RLimit();
        _ = setrlimit(4 /* RLIMIT_CORE */, ref zero);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setrlimit(int resource, ref RLimit limit);
}
