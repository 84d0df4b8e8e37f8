using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// A TorchScript compilation unit compiled once from a constant script, whose functions run through TorchSharp's
/// exception-catching <c>THSJIT_CompilationUnit_Invoke</c>: the way AutogradKit calls a libtorch operator that has
/// no catching TorchSharp entry point (<c>aten::grad</c>, <c>aten::_make_dual</c>, …) without any C++ exception
/// crossing into .NET. Errors raised inside come back as libtorch's own text through <see cref="Ensure"/>.
/// </summary>
/// <remarks>
/// <para>Arguments are tensors, lists of tensors, bools and ints (TorchSharp's <c>toIValue</c>); results are a
/// tensor, or a tuple or list of tensors and Nones (its <c>ReturnHelper</c>), handed back as one
/// <c>Tensor?[]</c> whose nulls are Python's None or an undefined tensor.</para>
/// <para>Thread-safety: a compiled unit is only read; each call runs in its own interpreter frame, and the result
/// array is per thread. Re-entrant: a call made from a hook during another call on the same thread completes and
/// takes its result before the outer call's result is handed out.</para>
/// </remarks>
internal sealed unsafe class TorchScriptUnit
{
    private readonly IntPtr _unit;

    [ThreadStatic]
    private static TorchScriptValue* s_result;

    [ThreadStatic]
    private static nuint s_resultLength;

    private TorchScriptUnit(IntPtr unit) => _unit = unit;

    /// <summary>
    /// Compiles <paramref name="script"/>. Only constant scripts proven to compile may be passed: TorchSharp's
    /// bridge catches <c>c10::Error</c> and <c>std::runtime_error</c>, and some frontend errors are neither.
    /// </summary>
    /// <exception cref="AutogradException">libtorch refused the script.</exception>
    public static TorchScriptUnit Compile(string script)
    {
        LibTorchLoader.EnsureLoaded();
        byte[] source = Encoding.UTF8.GetBytes(script + "\n\0");
        IntPtr unit;
        fixed (byte* text = source)
        {
            unit = NativeMethods.THSJIT_compile(text);
        }
        if (unit == IntPtr.Zero)
        {
            throw Ensure.PendingError("torch::jit::compile returned no compilation unit.");
        }
        return new TorchScriptUnit(unit);
    }

    /// <summary>
    /// Runs <paramref name="function"/> on <paramref name="args"/> and returns its tensor results (a single tensor as
    /// one element); the caller owns each tensor.
    /// </summary>
    /// <param name="function">The function's name, ASCII and NUL-terminated (a <c>"name\0"u8</c> literal).</param>
    /// <param name="args">The arguments; tensor arguments must be alive, and are kept alive here during the call.</param>
    /// <exception cref="AutogradException">libtorch raised an error inside the function (its own message).</exception>
    public Tensor?[] Invoke(ReadOnlySpan<byte> function, params ReadOnlySpan<ScriptArgument> args)
    {
        int items = 0;
        foreach (ScriptArgument a in args)
        {
            items += a.Tensors?.Count ?? 0;
        }
        Span<TorchScriptValue> list = items <= 32 ? stackalloc TorchScriptValue[32] : new TorchScriptValue[items];
        Span<TorchScriptValue> values = args.Length <= 8 ? stackalloc TorchScriptValue[8] : new TorchScriptValue[args.Length];
        sbyte typeCode = 0;
        TorchScriptValue* result;
        nuint resultLength;
        fixed (TorchScriptValue* listBase = list)
        fixed (TorchScriptValue* argv = values)
        fixed (byte* name = function)
        {
            int next = 0;
            for (int i = 0; i < args.Length; i++)
            {
                ScriptArgument a = args[i];
                if (a.Tensors is { } tensors)
                {
                    argv[i] = TorchScriptValue.List(listBase + next, tensors.Count);
                    for (int k = 0; k < tensors.Count; k++)
                    {
                        listBase[next++] = TorchScriptValue.Tensor(tensors[k].Handle);
                    }
                }
                else if (a.Tensor is { } tensor)
                {
                    argv[i] = TorchScriptValue.Tensor(tensor.Handle);
                }
                else
                {
                    argv[i] = a.IsBool ? TorchScriptValue.Bool(a.Value != 0) : TorchScriptValue.Int(a.Value);
                }
            }
            TorchScriptValue* saved = s_result;
            nuint savedLength = s_resultLength;
            s_result = null;
            s_resultLength = 0;
            NativeMethods.THSJIT_CompilationUnit_Invoke(_unit, name, argv, args.Length, &Allocate, &typeCode, 0);
            result = s_result;
            resultLength = s_resultLength;
            s_result = saved;
            s_resultLength = savedLength;
        }
        foreach (ScriptArgument a in args)
        {
            GC.KeepAlive(a.Tensor);
            GC.KeepAlive(a.Tensors);
        }
        try
        {
            if (NativeMethods.TakeNativeError() is { } error)
            {
                Release(result, resultLength);
                throw Ensure.FromNativeText(error);
            }
            if (result is null || typeCode is not (TorchScriptValue.SingleTensorCode or TorchScriptValue.TensorTupleCode
                or TorchScriptValue.TensorListCode or TorchScriptValue.MixedListCode or TorchScriptValue.MixedTupleCode))
            {
                Release(result, resultLength);
                throw new InvalidOperationException($"A TorchScript function returned type code {typeCode}, not tensors.");
            }
            var tensors = new Tensor?[(int)resultLength];
            for (int i = 0; i < tensors.Length; i++)
            {
                TorchScriptValue value = result[i];
                tensors[i] = value.TypeCode == TorchScriptValue.TensorCode && value.Handle != IntPtr.Zero
                    ? Tensor.UnsafeCreateTensor(value.Handle)
                    : null;
            }
            return tensors;
        }
        finally
        {
            NativeMemory.Free(result);
        }
    }

    /// <summary>Frees the tensors of a result that is not handed out.</summary>
    private static void Release(TorchScriptValue* result, nuint length)
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
    /// ReturnHelper's allocator: one array for a flat result. Runs inside the native call, so it must not throw; a
    /// null return makes the bridge report an error instead (a nested result, which no script here returns).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static TorchScriptValue* Allocate(int index, nuint length)
    {
        if (index != 0 || s_result is not null || length > int.MaxValue / (nuint)sizeof(TorchScriptValue))
        {
            return null;
        }
        var array = (TorchScriptValue*)NativeMemory.AllocZeroed(Math.Max(length, 1), (nuint)sizeof(TorchScriptValue));
        s_result = array;
        s_resultLength = length;
        return array;
    }
}

/// <summary>One argument of <see cref="TorchScriptUnit.Invoke"/>: a tensor, a list of tensors, a bool or an int.</summary>
internal readonly struct ScriptArgument
{
    private ScriptArgument(Tensor? tensor, IReadOnlyList<Tensor>? tensors, bool isBool, int value)
    {
        Tensor = tensor;
        Tensors = tensors;
        IsBool = isBool;
        Value = value;
    }

    internal Tensor? Tensor { get; }

    internal IReadOnlyList<Tensor>? Tensors { get; }

    internal bool IsBool { get; }

    internal int Value { get; }

    public static implicit operator ScriptArgument(Tensor tensor) => new(tensor, null, false, 0);

    public static implicit operator ScriptArgument(Tensor[] tensors) => new(null, tensors, false, 0);

    public static implicit operator ScriptArgument(bool value) => new(null, null, true, value ? 1 : 0);

    public static implicit operator ScriptArgument(int value) => new(null, null, false, value);

    /// <summary>A list-of-tensors argument.</summary>
    public static ScriptArgument List(IReadOnlyList<Tensor> tensors) => new(null, tensors, false, 0);
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

    /// <summary>ReturnHelper's code for a single tensor.</summary>
    internal const sbyte SingleTensorCode = 1;

    /// <summary>ReturnHelper's code for a tuple whose every element is a tensor.</summary>
    internal const sbyte TensorTupleCode = 2;

    /// <summary>ReturnHelper's code for a list whose every element is a tensor.</summary>
    internal const sbyte TensorListCode = 3;

    /// <summary>ReturnHelper's code for a list of tensors and Nones (an element of code 8 is None).</summary>
    internal const sbyte MixedListCode = 7;

    /// <summary>ReturnHelper's code for a tuple of anything (tensors and Nones here).</summary>
    internal const sbyte MixedTupleCode = 10;

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
