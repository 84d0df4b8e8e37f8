using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// libtorch's own <c>torch::autograd::grad</c>, reached through a TorchScript function compiled once per process
/// and run by TorchSharp's exception-catching <c>THSJIT_CompilationUnit_Invoke</c>: the route that computes
/// gradients without touching any <c>.grad</c> and cannot end the process on a libtorch error.
/// </summary>
/// <remarks>
/// <para>Why this route: TorchSharp's <c>THSAutograd_grad</c> has no try/catch, so any libtorch error in it
/// (an unused input, a freed graph, a hook's failure) ends the process; its catching <c>THSAutograd_backward</c>
/// accumulates into <c>.grad</c>, which is shared state. A TorchScript <c>torch.autograd.grad</c> call is resolved
/// by the TorchScript frontend to the builtin operator <c>aten::grad(Tensor[] outputs, Tensor[] inputs,
/// Tensor?[]? grad_outputs=None, bool? retain_graph=None, bool create_graph=False, bool allow_unused=False) -&gt;
/// Tensor?[]</c> (libtorch's <c>register_prim_ops_fulljit.cpp</c>), whose body is one call of
/// <c>torch::autograd::grad</c>; the TorchScript interpreter rethrows every error raised inside as
/// <c>std::runtime_error</c> or <c>c10::Error</c>, which the bridge's CATCH turns into its pending error text.</para>
/// <para><c>allow_unused</c> is always true here: libtorch's C++ text for an unused input ("element 1of the
/// differentiated Tensors …") is not PyTorch's, so callers find unused inputs from the nulls and raise
/// PyTorch's own error.</para>
/// <para>The bridge passes a list of tensors as <c>List[Tensor]</c> (<c>toIValue</c>, type code 5), which the
/// operator's <c>Tensor?[]</c> parameter does not accept (TorchScript lists are invariant), so the script copies
/// the seeds into a <c>List[Optional[Tensor]]</c>. The result list comes back through <c>ReturnHelper</c> as one
/// array of <see cref="TorchScriptValue"/>: a new owning <c>at::Tensor*</c> (code 0) or None (code 8) per input;
/// the list's own code is 3 when every entry is a tensor and 7 when one is None.</para>
/// <para>First use compiles the script and runs it twice on a graph of its own (so the graph executor's
/// profiling run and its optimised plan are made there, not under a caller's grad or inference mode), on a fresh
/// thread, and checks the results; a failure is a <see cref="NotSupportedException"/> at every call.</para>
/// <para>Thread-safe: libtorch's compilation unit is only read after it is compiled, the graph executor
/// serialises its plan under its own lock and runs each call in its own interpreter frame, and the result
/// array is per thread. Re-entrant: a hook that calls <see cref="Run"/> during a pass of <see cref="Run"/> on the
/// same thread finishes before the outer call hands back its results.</para>
/// </remarks>
internal static unsafe class NativeGrad
{
    /// <summary>The TorchScript source. Checked by <see cref="Verify"/>; it must compile, or the bridge aborts (see <see cref="NativeMethods.THSJIT_compile"/>).</summary>
    /// <summary>The input of the first-use check's graph.</summary>
    private static readonly double[] CheckInput = [1.0, 2.0];

    internal const string Script = """
        def grad(outputs: List[Tensor], inputs: List[Tensor], seeds: List[Tensor], passes: int, retain_graph: bool, create_graph: bool):
            n = len(outputs)
            result: List[Optional[Tensor]] = []
            for p in range(passes):
                pass_seeds: List[Optional[Tensor]] = []
                for i in range(n):
                    pass_seeds.append(seeds[p * n + i])
                grads = torch.autograd.grad(outputs, inputs, pass_seeds, retain_graph or p < passes - 1, create_graph, True)
                for g in grads:
                    result.append(g)
            return result
        """;

    private static readonly Lazy<Compiled> Unit = new(VerifyOnFreshThread, LazyThreadSafetyMode.ExecutionAndPublication);

    private sealed record Compiled(TorchScriptUnit? Unit, Exception? Failure);

    /// <summary>
    /// <paramref name="passes"/> calls of <c>torch::autograd::grad(outputs, inputs, seeds of the pass, retainGraph,
    /// createGraph, allow_unused=true)</c> in one invoke (the graph retained for every pass but the last): one new
    /// tensor per pass and input, pass after pass (the caller owns them), null where the outputs do not depend on
    /// that input.
    /// </summary>
    /// <remarks>Several passes in one invoke pay the invoke's own cost once: a Jacobian's rows are its passes.</remarks>
    /// <param name="outputs">Live tensors (checked by the caller).</param>
    /// <param name="inputs">Live tensors that require grad, at least one (checked by the caller).</param>
    /// <param name="gradOutputs">One live seed per output and pass, pass after pass, each shaped like its output (checked by the caller).</param>
    /// <param name="passes">How many passes; at least one.</param>
    /// <param name="retainGraph">Keep the graph's saved tensors after the last pass.</param>
    /// <param name="createGraph">Record the backward pass so that the results can be differentiated.</param>
    /// <exception cref="AutogradException">libtorch raised an error (or a hook failed the pass), typed by <see cref="Ensure"/> with libtorch's own text, without the TorchScript traceback.</exception>
    /// <exception cref="NotSupportedException">The first-use check failed on this libtorch.</exception>
    public static Tensor?[] Run(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> gradOutputs, int passes, bool retainGraph, bool createGraph)
    {
        if (passes < 1 || gradOutputs.Count != passes * outputs.Count)
        {
            throw new ArgumentException($"{gradOutputs.Count} seeds for {passes} passes over {outputs.Count} outputs.", nameof(gradOutputs));
        }
        Compiled unit = Unit.Value;
        if (unit.Failure is { } failure)
        {
            throw failure;
        }
        return Invoke(unit.Unit!, outputs, inputs, gradOutputs, passes, retainGraph, createGraph);
    }

    private static Tensor?[] Invoke(TorchScriptUnit unit, IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> gradOutputs, int passes, bool retainGraph, bool createGraph)
    {
        Tensor?[] grads = unit.Invoke("grad\0"u8, ScriptArgument.List(outputs), ScriptArgument.List(inputs), ScriptArgument.List(gradOutputs), passes, retainGraph, createGraph);
        if (grads.Length != passes * inputs.Count)
        {
            foreach (Tensor? g in grads)
            {
                g?.Dispose();
            }
            throw new InvalidOperationException($"torch.autograd.grad through TorchScript returned {grads.Length} values for {passes} passes over {inputs.Count} inputs.");
        }
        return grads;
    }

    /// <summary>
    /// The gradients of <paramref name="output"/> (seeded with <paramref name="seed"/>) with respect to leaves that
    /// the caller made itself and shares with nobody: libtorch's <c>backward(…, inputs)</c> into their <c>.grad</c>,
    /// taken and reset to undefined. One new tensor per leaf (the caller owns it), null where none arrived.
    /// </summary>
    /// <remarks>
    /// <para>Equivalent to <see cref="Run"/> for such leaves, and without the TorchScript call's cost: a fresh leaf
    /// has no <c>.grad</c> before, and has none after; <c>retain_grad</c> concerns only non-leaves; without
    /// <c>create_graph</c> libtorch prints no warning; no other thread can reach the leaves. What still differs is
    /// only what the caller's code could do to a leaf it was handed (a post-accumulate hook would fire), which is
    /// why callers use this for leaves they pass to no one but the function being differentiated, and only where
    /// no graph is created.</para>
    /// </remarks>
    /// <exception cref="AutogradException">As <see cref="Run"/>.</exception>
    public static Tensor?[] IntoPrivateLeaves(Tensor output, Tensor seed, IReadOnlyList<Tensor> leaves, bool retainGraph)
    {
        int count = leaves.Count;
        Span<IntPtr> handles = count <= 16 ? stackalloc IntPtr[16] : new IntPtr[count];
        for (int i = 0; i < count; i++)
        {
            handles[i] = leaves[i].Handle;
        }
        IntPtr outputHandle = output.Handle;
        IntPtr seedHandle = seed.Handle;
        var grads = new Tensor?[count];
        try
        {
            fixed (IntPtr* inputs = handles)
            {
                NativeMethods.THSAutograd_backward(&outputHandle, 1, &seedHandle, 1, retainGraph, createGraph: false, inputs, count);
                Ensure.NoPendingError();
                for (int i = 0; i < count; i++)
                {
                    IntPtr grad = NativeMethods.THSTensor_grad(handles[i]);
                    if (grad != IntPtr.Zero)
                    {
                        grads[i] = Tensor.UnsafeCreateTensor(grad);
                    }
                }
            }
            return grads;
        }
        finally
        {
            for (int i = 0; i < count; i++)
            {
                NativeMethods.THSTensor_set_grad(handles[i], IntPtr.Zero);
            }
            // Reading and resetting the .grad of a live leaf cannot fail; never leave an error for a later call.
            NativeMethods.TakeNativeError();
            GC.KeepAlive(leaves);
            GC.KeepAlive(output);
            GC.KeepAlive(seed);
        }
    }

    private static Compiled VerifyOnFreshThread() => FirstUseCheck.Run(Verify, "AutogradKit grad first-use check");

    /// <summary>Compiles the script and checks, twice, that it returns libtorch's gradients and None for an unused input.</summary>
    private static Compiled Verify()
    {
        TorchScriptUnit unit;
        try
        {
            unit = TorchScriptUnit.Compile(Script);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new Compiled(null, Unsupported("the grad script did not compile", e));
        }
        try
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor x = torch.tensor(CheckInput).requires_grad_(true);
            Tensor unused = torch.tensor(3.0).requires_grad_(true);
            for (int pass = 0; pass < 2; pass++)
            {
                bool createGraph = pass == 1;
                Tensor y = (x * x).sum();
                Tensor?[] grads = Invoke(unit, [y], [x, unused], [torch.ones_like(y)], 1, retainGraph: false, createGraph);
                if (grads.Length != 2 || grads[0] is not { } g || grads[1] is not null
                    || g.requires_grad != createGraph || !g.to_type(ScalarType.Float64).data<double>().ToArray().AsSpan().SequenceEqual([2.0, 4.0])
                    || x.grad is not null)
                {
                    return new Compiled(null, Unsupported("the grad script returned unexpected gradients", null));
                }
            }
            return new Compiled(unit, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new Compiled(null, Unsupported("the grad script failed on a known graph", e));
        }
    }

    private static NotSupportedException Unsupported(string what, Exception? inner) =>
        new($"Autograd.Grad is not supported with this libtorch ({what}); AutogradKit was checked against libtorch 2.10.", inner);
}
