using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>TorchSharp bridge exports used by <see cref="Autograd.Grad"/>, <see cref="Autograd.Functional"/> and <c>Backward</c>.</summary>
internal static partial class NativeMethods
{
    /// <summary>
    /// <c>torch::autograd::backward(tensors, grad_tensors, retain_graph, create_graph, inputs)</c>, inside
    /// TorchSharp's CATCH: a libtorch error is left for <see cref="TakeNativeError"/>, never thrown
    /// across the boundary (unlike <c>THSAutograd_grad</c>, which aborts the process).
    /// </summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSAutograd_backward")]
    internal static extern unsafe void THSAutograd_backward(
        IntPtr* tensors, long tLength,
        IntPtr* gradTensors, long gtLength,
        [MarshalAs(UnmanagedType.U1)] bool retainGraph,
        [MarshalAs(UnmanagedType.U1)] bool createGraph,
        IntPtr* inputs, long iLength);

    /// <summary><c>tensor->backward()</c> inside TorchSharp's CATCH: the scalar backward that frees the graph.</summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_backward")]
    internal static extern void THSTensor_backward(IntPtr tensor);

    /// <summary>
    /// <c>new std::shared_ptr&lt;torch::jit::CompilationUnit&gt;(torch::jit::compile(script))</c>; null on an
    /// error, left for <see cref="TakeNativeError"/>. TorchSharp's CATCH takes <c>c10::Error</c> and
    /// <c>std::runtime_error</c> only: a script the TorchScript frontend rejects raises <c>torch::jit::ErrorReport</c>
    /// (a plain <c>std::exception</c>), which ends the process, so only a script proven to compile may be passed.
    /// </summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSJIT_compile")]
    internal static unsafe partial IntPtr THSJIT_compile(byte* script);

    /// <summary>
    /// <c>(*unit)-&gt;find_function(method)(args)</c> inside TorchSharp's CATCH (THSJIT.cpp): <paramref name="args"/>
    /// become IValues by <c>toIValue</c>, the result is handed out through <c>ReturnHelper</c>, which asks
    /// <paramref name="allocator"/> for each array it fills, and the kind of result goes to <paramref name="typeCode"/>.
    /// The TorchScript interpreter rethrows every error of the function as <c>std::runtime_error</c> (its text
    /// wrapped in a TorchScript traceback) or <c>c10::Error</c>, both of which CATCH leaves for
    /// <see cref="TakeNativeError"/>.
    /// </summary>
    [LibraryImport("LibTorchSharp", EntryPoint = "THSJIT_CompilationUnit_Invoke")]
    internal static unsafe partial void THSJIT_CompilationUnit_Invoke(
        IntPtr unit,
        byte* method,
        TorchScriptValue* args,
        int length,
        delegate* unmanaged[Cdecl]<int, nuint, TorchScriptValue*> allocator,
        sbyte* typeCode,
        int index);
}
