using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// The one error path of the interop boundary: every libtorch error — raised by a TorchSharp call as an
/// <see cref="ExternalException"/> whose text carries C++ stack frames, or left in TorchSharp's per-thread error slot
/// by a <c>THS*</c> entry point that caught it — becomes here a typed <see cref="AutogradException"/> whose
/// <c>Message</c> is PyTorch's first line. Direct calls to libtorch's C++ exports have no error channel at all: their
/// arguments are checked before the call so that libtorch never throws.
/// </summary>
/// <remarks>Thread-safe: TorchSharp's error slot is thread-local.</remarks>
internal static partial class Ensure
{
    /// <summary>Throws the typed exception for this thread's pending TorchSharp error, if any.</summary>
    public static void NoPendingError()
    {
        if (NativeMethods.TakeNativeError() is { } text)
        {
            throw FromNativeText(text);
        }
    }

    /// <summary>Takes and discards this thread's pending TorchSharp error, if any (cleanup after a failure already reported).</summary>
    public static void ClearPendingError() => NativeMethods.TakeNativeError();

    /// <summary>The typed exception for this thread's pending TorchSharp error, or one with <paramref name="fallback"/> when none is pending.</summary>
    public static AutogradException PendingError(string fallback) => FromNativeText(NativeMethods.TakeNativeError() ?? fallback);

    /// <summary>Runs a TorchSharp call that may raise a libtorch error, translating that error.</summary>
    public static void Run(Action call)
    {
        try
        {
            call();
        }
        catch (ExternalException e)
        {
            throw Translate(e);
        }
    }

    /// <summary>Runs a TorchSharp call that may raise a libtorch error, translating that error.</summary>
    public static T Run<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (ExternalException e)
        {
            throw Translate(e);
        }
    }

    /// <summary>The typed exception for a libtorch error raised through TorchSharp.</summary>
    public static AutogradException Translate(ExternalException e) => FromNativeText(e.Message, e);

    /// <summary>The typed exception for libtorch's full error text (a TorchScript interpreter's wrapping removed).</summary>
    public static AutogradException FromNativeText(string nativeText, Exception? inner = null)
    {
        nativeText = WithoutInterpreterTraceback(nativeText);
        string message = WithPythonTensorTypes(FirstLine(nativeText));
        if (message.StartsWith("Trying to backward through the graph a second time", StringComparison.Ordinal))
        {
            return new GraphFreedException(message, nativeText, inner);
        }
        if (message.StartsWith("grad can be implicitly created only for scalar outputs", StringComparison.Ordinal))
        {
            return new NonScalarOutputException(message, nativeText, inner);
        }
        if (message.Contains("does not require grad and does not have a grad_fn", StringComparison.Ordinal))
        {
            return new NoGradFnException(message, nativeText, inner);
        }
        if (message.StartsWith("One of the differentiated Tensors appears to not have been used in the graph", StringComparison.Ordinal))
        {
            return new UnusedInputException(message, nativeText, inner);
        }
        if (message.StartsWith("invalid gradient at index", StringComparison.Ordinal) || message.StartsWith("Mismatch in shape", StringComparison.Ordinal))
        {
            return new GradientShapeException(message, nativeText, inner);
        }
        return new AutogradException(message, nativeText, inner);
    }

    /// <summary>
    /// libtorch's message without the C++ context: the text before <c>Exception raised from</c> and before
    /// any stack frame, on its first line.
    /// </summary>
    public static string FirstLine(string nativeText)
    {
        string text = nativeText;
        int raised = text.IndexOf("Exception raised from", StringComparison.Ordinal);
        if (raised >= 0)
        {
            text = text[..raised];
        }
        text = text.TrimStart();
        int newline = text.IndexOfAny(['\r', '\n']);
        return (newline >= 0 ? text[..newline] : text).TrimEnd();
    }

    /// <summary>
    /// libtorch names a tensor's type by its C++ name (<c>[CPUDoubleType [3]]</c> in the in-place modification error);
    /// PyTorch prints its Python name (<c>[torch.DoubleTensor [3]]</c>, <c>[torch.cuda.FloatTensor [2, 2]]</c>).
    /// </summary>
    internal static string WithPythonTensorTypes(string message) =>
        message.Contains("Type [", StringComparison.Ordinal)
            ? TensorTypeName().Replace(message, m => $"[torch.{(m.Groups[1].Value == "CUDA" ? "cuda." : "")}{m.Groups[2].Value}Tensor [")
            : message;

    [System.Text.RegularExpressions.GeneratedRegex(@"\[(CPU|CUDA)(Double|Float|Half|BFloat16|Long|Int|Short|Char|Byte|Bool|ComplexFloat|ComplexDouble)Type \[")]
    private static partial System.Text.RegularExpressions.Regex TensorTypeName();

    /// <summary>The interpreter's first line for any error it rethrows (libtorch's <c>interpreter.cpp</c>).</summary>
    private const string InterpreterPrefix = "The following operation failed in the TorchScript interpreter.";

    /// <summary>The marker under the failing call in a TorchScript traceback.</summary>
    private const string TracebackMarker = "<--- HERE";

    /// <summary>
    /// libtorch's own error text from a TorchScript interpreter's ("The following operation failed in the TorchScript
    /// interpreter. / Traceback of TorchScript … &lt;--- HERE / RuntimeError: &lt;libtorch's text&gt;"): the text after
    /// the Python exception class that follows the traceback. Any other text is returned as it is.
    /// </summary>
    internal static string WithoutInterpreterTraceback(string nativeText)
    {
        if (!nativeText.StartsWith(InterpreterPrefix, StringComparison.Ordinal))
        {
            return nativeText;
        }
        int marker = nativeText.IndexOf(TracebackMarker, StringComparison.Ordinal);
        int line = marker < 0 ? -1 : nativeText.IndexOf('\n', marker) + 1;
        while (line > 0 && line < nativeText.Length)
        {
            int lineEnd = nativeText.IndexOf('\n', line);
            int colon = nativeText.IndexOf(": ", line, StringComparison.Ordinal);
            if (colon > line && (lineEnd < 0 || colon < lineEnd)
                && nativeText.AsSpan(line, colon - line).IndexOfAnyExcept(ExceptionClassCharacters) < 0)
            {
                return nativeText[(colon + 2)..];
            }
            line = lineEnd + 1;
        }
        return nativeText;
    }

    private static readonly System.Buffers.SearchValues<char> ExceptionClassCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
}
