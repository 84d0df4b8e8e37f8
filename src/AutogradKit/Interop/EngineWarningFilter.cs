using System.Runtime.InteropServices;
using System.Text;

namespace AutogradKit;

/// <summary>
/// Keeps two libtorch warnings that PyTorch's <c>autograd.grad</c> never prints out of <see cref="Autograd.Grad"/>
/// and <see cref="Autograd.Functional"/>: "Using backward() with create_graph=True will create a reference cycle …"
/// and "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed …".
/// </summary>
/// <remarks>
/// <para>Why: <see cref="Autograd.Grad"/> runs libtorch's <c>backward(…, inputs)</c> and takes the results from the
/// inputs' <c>.grad</c> (TorchSharp's own <c>grad</c> ends the process on an error). libtorch's engine warns, once
/// per process, about a reference cycle through <c>.grad</c> that <see cref="Autograd.Grad"/> never leaves behind
/// (it restores every <c>.grad</c>), and reading the <c>.grad</c> of a non-leaf input warns each time, on stderr.
/// Around such a call this thread's c10 warning handler is replaced by one that drops those two messages and hands
/// every other warning to the handler it replaced.</para>
/// <para>libtorch warns about the cycle only once per process, so after a <see cref="Autograd.Grad"/> with
/// <c>createGraph</c> has consumed it, a later <c>Backward(createGraph: true)</c> does not print it either.</para>
/// <para>The handler is a C++ object built here: one vtable pointer, and an Itanium-ABI vtable (offset to top,
/// type info, complete and deleting destructors, <c>process</c>). Linux x64 only; elsewhere nothing is filtered.</para>
/// <para>Thread-safety: the handler is per thread in c10; the object and its vtable are shared and immutable.</para>
/// </remarks>
internal static unsafe class EngineWarningFilter
{
    private static readonly byte[][] DroppedPrefixes =
    [
        Encoding.UTF8.GetBytes("Using backward() with create_graph=True will create a reference cycle"),
        Encoding.UTF8.GetBytes("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"),
    ];

    private static readonly IntPtr Handler = CreateHandler();

    [ThreadStatic]
    private static IntPtr t_previous;

    /// <summary>Installs the filter on this thread until the returned scope is disposed; nested calls do nothing.</summary>
    public static Scope Install()
    {
        if (Handler == IntPtr.Zero)
        {
            return default;
        }
        IntPtr previous = NativeMethods.WarningUtils_get_warning_handler();
        if (previous == Handler)
        {
            return default;
        }
        t_previous = previous;
        NativeMethods.WarningUtils_set_warning_handler(Handler);
        return new Scope(previous);
    }

    /// <summary>Puts back the handler that <see cref="Install"/> replaced.</summary>
    internal readonly struct Scope(IntPtr previous) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose()
        {
            if (previous != IntPtr.Zero)
            {
                NativeMethods.WarningUtils_set_warning_handler(previous);
                t_previous = IntPtr.Zero;
            }
        }
    }

    private static IntPtr CreateHandler()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return IntPtr.Zero;
        }
        // Resolve the exports now, so that a libtorch without them disables the filter instead of failing later.
        if (!NativeLibrary.TryLoad("c10", typeof(EngineWarningFilter).Assembly, null, out IntPtr c10)
            || !NativeLibrary.TryGetExport(c10, NativeMethods.GetWarningHandlerExport, out _)
            || !NativeLibrary.TryGetExport(c10, NativeMethods.SetWarningHandlerExport, out _)
            || !NativeLibrary.TryGetExport(c10, NativeMethods.WarningMsgExport, out _))
        {
            return IntPtr.Zero;
        }
        // Never freed: the handler may be installed on any thread at any time for the life of the process.
        var vtable = (IntPtr*)NativeMemory.AllocZeroed(5, (nuint)sizeof(IntPtr));
        vtable[0] = IntPtr.Zero; // offset to top
        vtable[1] = IntPtr.Zero; // type info: c10 never asks (no dynamic_cast or typeid on handlers)
        vtable[2] = (IntPtr)(delegate* unmanaged<IntPtr, void>)&Destroy;
        vtable[3] = (IntPtr)(delegate* unmanaged<IntPtr, void>)&Destroy;
        vtable[4] = (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, void>)&Process;
        var handler = (IntPtr*)NativeMemory.AllocZeroed(1, (nuint)sizeof(IntPtr));
        handler[0] = (IntPtr)(vtable + 2);
        return (IntPtr)handler;
    }

    [UnmanagedCallersOnly]
    private static void Destroy(IntPtr self)
    {
        // The object is static; c10 never deletes a handler it was given.
    }

    [UnmanagedCallersOnly]
    private static void Process(IntPtr self, IntPtr warning)
    {
        try
        {
            if (IsDropped(warning))
            {
                return;
            }
            IntPtr previous = t_previous;
            if (previous != IntPtr.Zero && previous != self)
            {
                // previous->process(warning): slot 2 of the Itanium vtable, after the two destructors.
                var process = (delegate* unmanaged<IntPtr, IntPtr, void>)(*(IntPtr**)previous)[2];
                process(previous, warning);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A warning must never become an exception inside libtorch's engine (it would end the process).
        }
    }

    private static bool IsDropped(IntPtr warning)
    {
        // libstdc++'s std::string: char* data, then size_t length.
        var text = (IntPtr*)NativeMethods.Warning_msg(warning);
        var message = new ReadOnlySpan<byte>((byte*)text[0], checked((int)(long)text[1]));
        foreach (byte[] prefix in DroppedPrefixes)
        {
            if (message.StartsWith(prefix))
            {
                return true;
            }
        }
        return false;
    }
}
