using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// The one place where libtorch's errors, as TorchSharp raises them (<see cref="ExternalException"/> whose
/// text carries C++ stack frames), become typed <see cref="AutogradException"/>s with PyTorch's first line.
/// </summary>
internal static class NativeErrors
{
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

    /// <summary>The typed exception for libtorch's full error text.</summary>
    public static AutogradException FromNativeText(string nativeText, Exception? inner = null)
    {
        string message = FirstLine(nativeText);
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
}
