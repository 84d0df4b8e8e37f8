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

    /// <summary>The interpreter's first line for any error it rethrows (libtorch's <c>interpreter.cpp</c>, <c>handleError</c>).</summary>
    private const string InterpreterPrefix = "The following operation failed in the TorchScript interpreter.";

    /// <summary>The marker under the failing call in the traceback's single frame (our function's only call).</summary>
    private const string TracebackMarker = "<--- HERE";

    private const int ArgumentCount = 6;

    private static readonly Lazy<Compiled> Unit = new(VerifyOnFreshThread, LazyThreadSafetyMode.ExecutionAndPublication);

    private sealed record Compiled(IntPtr Unit, Exception? Failure);

    // The array ReturnHelper asked for during this thread's current invoke (freed by the caller of the invoke).
    [ThreadStatic]
    private static TorchScriptValue* t_result;

    [ThreadStatic]
    private static nuint t_resultLength;

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
    /// <exception cref="ExternalException">libtorch raised an error (or a hook failed the pass): the message is
    /// libtorch's own text, without the TorchScript traceback, for <see cref="Ensure.Translate"/>.</exception>
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
        return Invoke(unit.Unit, outputs, inputs, gradOutputs, passes, retainGraph, createGraph);
    }

    private static Tensor?[] Invoke(IntPtr unit, IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> gradOutputs, int passes, bool retainGraph, bool createGraph)
    {
        int count = outputs.Count + inputs.Count + gradOutputs.Count;
        Span<TorchScriptValue> items = count <= 64 ? stackalloc TorchScriptValue[64] : new TorchScriptValue[count];
        TorchScriptValue* args = stackalloc TorchScriptValue[ArgumentCount];
        sbyte typeCode = 0;
        TorchScriptValue* result;
        nuint resultLength;
        fixed (TorchScriptValue* list = items)
        fixed (byte* method = "grad\0"u8)
        {
            int next = 0;
            args[0] = TorchScriptValue.List(list + next, outputs.Count);
            next = Fill(list, next, outputs);
            args[1] = TorchScriptValue.List(list + next, inputs.Count);
            next = Fill(list, next, inputs);
            args[2] = TorchScriptValue.List(list + next, gradOutputs.Count);
            Fill(list, next, gradOutputs);
            args[3] = TorchScriptValue.Int(passes);
            args[4] = TorchScriptValue.Bool(retainGraph);
            args[5] = TorchScriptValue.Bool(createGraph);

            t_result = null;
            t_resultLength = 0;
            NativeMethods.THSJIT_CompilationUnit_Invoke(unit, method, args, ArgumentCount, &Allocate, &typeCode, 0);
            result = t_result;
            resultLength = t_resultLength;
            t_result = null;
        }
        GC.KeepAlive(outputs);
        GC.KeepAlive(inputs);
        GC.KeepAlive(gradOutputs);
        try
        {
            if (NativeMethods.TakeNativeError() is { } error)
            {
                ReleaseTensors(result, resultLength);
                throw new ExternalException(LibTorchText(error));
            }
            if (result is null || (typeCode != TorchScriptValue.TensorListCode && typeCode != TorchScriptValue.MixedListCode) || resultLength != (nuint)(passes * inputs.Count))
            {
                ReleaseTensors(result, resultLength);
                throw new InvalidOperationException($"torch.autograd.grad through TorchScript returned type code {typeCode} with {resultLength} values for {passes} passes over {inputs.Count} inputs.");
            }
            var grads = new Tensor?[passes * inputs.Count];
            for (int i = 0; i < grads.Length; i++)
            {
                TorchScriptValue value = result[i];
                grads[i] = value.TypeCode == TorchScriptValue.TensorCode && value.Handle != IntPtr.Zero
                    ? Tensor.UnsafeCreateTensor(value.Handle)
                    : null;
            }
            return grads;
        }
        finally
        {
            NativeMemory.Free(result);
        }
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
    /// <exception cref="ExternalException">As <see cref="Run"/>.</exception>
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
                if (NativeMethods.TakeNativeError() is { } error)
                {
                    throw new ExternalException(error);
                }
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

    private static int Fill(TorchScriptValue* list, int next, IReadOnlyList<Tensor> tensors)
    {
        for (int i = 0; i < tensors.Count; i++)
        {
            list[next++] = TorchScriptValue.Tensor(tensors[i].Handle);
        }
        return next;
    }

    /// <summary>Frees the tensors of a result that is not handed out (an error after ReturnHelper began).</summary>
    private static void ReleaseTensors(TorchScriptValue* result, nuint length)
    {
        for (nuint i = 0; result is not null && i < length; i++)
        {
            if (result[i].TypeCode == TorchScriptValue.TensorCode && result[i].Handle != IntPtr.Zero && result[i].Handle != -1)
            {
                NativeMethods.THSTensor_dispose(result[i].Handle);
            }
        }
    }

    /// <summary>
    /// ReturnHelper's allocator: one array for the result list. Runs inside the native call, so it must not
    /// throw; a null return makes the bridge report an error instead. Called once per invoke, after the
    /// interpreter has finished (nested invokes from hooks have taken their own results by then).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static TorchScriptValue* Allocate(int index, nuint length)
    {
        if (index != 0 || t_result is not null || length > int.MaxValue / (nuint)sizeof(TorchScriptValue))
        {
            return null; // a result shape this caller never asked for
        }
        var array = (TorchScriptValue*)NativeMemory.AllocZeroed(Math.Max(length, 1), (nuint)sizeof(TorchScriptValue));
        t_result = array;
        t_resultLength = length;
        return array;
    }

    /// <summary>
    /// libtorch's error text from the TorchScript interpreter's: "The following operation failed in the
    /// TorchScript interpreter. / Traceback of TorchScript … &lt;--- HERE / RuntimeError: &lt;libtorch's text&gt;"
    /// becomes "&lt;libtorch's text&gt;". Any other text is returned as it is.
    /// </summary>
    internal static string LibTorchText(string nativeText)
    {
        if (!nativeText.StartsWith(InterpreterPrefix, StringComparison.Ordinal))
        {
            return nativeText;
        }
        int marker = nativeText.IndexOf(TracebackMarker, StringComparison.Ordinal);
        if (marker < 0)
        {
            return nativeText;
        }
        // After the marker come a few indented lines of the script's source, then "<ExceptionClass>: <text>"
        // ("RuntimeError: ", "NotImplementedError: ", …) at the start of a line.
        int line = nativeText.IndexOf('\n', marker) + 1;
        while (line > 0 && line < nativeText.Length)
        {
            int colon = nativeText.IndexOf(": ", line, StringComparison.Ordinal);
            int lineEnd = nativeText.IndexOf('\n', line);
            if (colon > line && (lineEnd < 0 || colon < lineEnd)
                && nativeText.AsSpan(line, colon - line).IndexOfAnyExcept(IdentifierCharacters) < 0)
            {
                return nativeText[(colon + 2)..];
            }
            line = lineEnd + 1;
        }
        return nativeText;
    }

    private static readonly System.Buffers.SearchValues<char> IdentifierCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");

    private static Compiled VerifyOnFreshThread()
    {
        Compiled? compiled = null;
        var thread = new Thread(() => compiled = Verify()) { IsBackground = true, Name = "AutogradKit grad first-use check" };
        thread.Start();
        thread.Join();
        return compiled!;
    }

    /// <summary>Compiles the script and checks, twice, that it returns libtorch's gradients and None for an unused input.</summary>
    private static Compiled Verify()
    {
        IntPtr unit;
        try
        {
            LibTorchLoader.EnsureLoaded();
            byte[] script = Encoding.UTF8.GetBytes(Script + "\n\0");
            fixed (byte* source = script)
            {
                unit = NativeMethods.THSJIT_compile(source);
            }
            if (unit == IntPtr.Zero)
            {
                throw Ensure.PendingError("torch::jit::compile returned no compilation unit.");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new Compiled(IntPtr.Zero, Unsupported("the grad script did not compile", e));
        }
        try
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor x = torch.tensor(new[] { 1.0, 2.0 }).requires_grad_(true);
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
                    return new Compiled(IntPtr.Zero, Unsupported("the grad script returned unexpected gradients", null));
                }
            }
            return new Compiled(unit, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new Compiled(IntPtr.Zero, Unsupported("the grad script failed on a known graph", e));
        }
    }

    private static NotSupportedException Unsupported(string what, Exception? inner) =>
        new($"Autograd.Grad is not supported with this libtorch ({what}); AutogradKit was checked against libtorch 2.10.", inner);
}

/// <summary>
/// TorchSharp's <c>TensorOrScalar</c> (THSJIT.h: <c>int64_t TypeCode; int64_t ArrayIndex; ptrdiff_t Handle</c>): one
/// argument or result value of a TorchScript call through the bridge.
/// </summary>
/// <remarks>Immutable once built; used only by the thread that makes the call.</remarks>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct TorchScriptValue
{
    /// <summary>An argument or result element that is an <c>at::Tensor*</c> (toIValue and ReturnHelper alike).</summary>
    internal const long TensorCode = 0;

    /// <summary>An argument that is a bool, in <see cref="Handle"/> (toIValue).</summary>
    internal const long BoolCode = 2;

    /// <summary>An argument that is an int, in <see cref="Handle"/> (toIValue).</summary>
    internal const long IntCode = 3;

    /// <summary>An argument that is a list of tensors: <see cref="Handle"/> points at <see cref="ArrayIndex"/> values of code 0 (toIValue).</summary>
    internal const long TensorArgumentListCode = 5;

    /// <summary>ReturnHelper's code for a list whose every element is a tensor.</summary>
    internal const sbyte TensorListCode = 3;

    /// <summary>ReturnHelper's code for a list of tensors and Nones (an element of code 8 is None).</summary>
    internal const sbyte MixedListCode = 7;

    private TorchScriptValue(long typeCode, long arrayIndex, IntPtr handle)
    {
        TypeCode = typeCode;
        ArrayIndex = arrayIndex;
        Handle = handle;
    }

    /// <summary>What the value is (the codes above).</summary>
    public long TypeCode { get; }

    /// <summary>For an argument list, its length; for a nested result, the allocator index of its array.</summary>
    public long ArrayIndex { get; }

    /// <summary>The <c>at::Tensor*</c>, the bool, or the list's first element.</summary>
    public IntPtr Handle { get; }

    /// <summary>A tensor argument.</summary>
    public static TorchScriptValue Tensor(IntPtr tensor) => new(TensorCode, 0, tensor);

    /// <summary>An int argument (TorchScript's <c>int</c>; the bridge passes it as a C <c>int</c>).</summary>
    public static TorchScriptValue Int(int value) => new(IntCode, 0, value);

    /// <summary>A bool argument.</summary>
    public static TorchScriptValue Bool(bool value) => new(BoolCode, 0, value ? 1 : 0);

    /// <summary>A list-of-tensors argument.</summary>
    public static unsafe TorchScriptValue List(TorchScriptValue* first, int length) => new(TensorArgumentListCode, length, (IntPtr)first);
}
