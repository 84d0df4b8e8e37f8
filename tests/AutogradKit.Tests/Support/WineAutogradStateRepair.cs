using System.Runtime.InteropServices;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using TorchSharp;

namespace AutogradKit.Tests.Support;

/// <summary>
/// Keeps each test's libtorch thread state (grad mode and the thread-local dispatch-key sets that inference mode and
/// the autograd guards switch) as it found it, under Wine only, and names the test that changed it. Wine 8.0 does not
/// run every C++ destructor when a libtorch error unwinds through MSVC-built frames to TorchSharp's catch: a plain
/// <c>THSTensor_reshape</c> shape error (no AutogradKit code on the path, see
/// <c>NativeErrorsTests.FirstLine_RealTorchSharpShapeError_IsPyTorchsLine</c>) leaves the calling thread with the
/// autograd dispatch keys excluded, so every later test on that NUnit worker thread saw no grad_fn, inference-mode
/// internal asserts or null gradients. The same tests leave nothing behind on Linux, and real Windows runs
/// Microsoft's runtime. It does nothing off Wine.
/// </summary>
/// <remarks>Per test thread (the saved state is thread-static); thread-safe.</remarks>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class WineAutogradStateRepairAttribute : Attribute, ITestAction
{
    /// <summary>c10's <c>LocalDispatchKeySet</c> (c10/core/impl/LocalDispatchKeySet.h): two 64-bit key sets.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct LocalDispatchKeySet : IEquatable<LocalDispatchKeySet>
    {
        public ulong Included;
        public ulong Excluded;

        public readonly bool Equals(LocalDispatchKeySet other) => Included == other.Included && Excluded == other.Excluded;

        public override readonly bool Equals(object? obj) => obj is LocalDispatchKeySet other && Equals(other);

        public override readonly int GetHashCode() => HashCode.Combine(Included, Excluded);

        public override readonly string ToString() => $"included 0x{Included:x}, excluded 0x{Excluded:x}";
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate LocalDispatchKeySet GetKeySets();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetKeySets(LocalDispatchKeySet keySets);

    // c10.dll's MSVC exports of c10::impl::tls_local_dispatch_key_set() and _force_tls_local_dispatch_key_set(...).
    private const string GetExport = "?tls_local_dispatch_key_set@impl@c10@@YA?AULocalDispatchKeySet@12@XZ";
    private const string SetExport = "?_force_tls_local_dispatch_key_set@impl@c10@@YAXULocalDispatchKeySet@12@@Z";

    private static readonly (GetKeySets Get, SetKeySets Set)? KeySets = FindKeySets();

    [ThreadStatic]
    private static (bool Grad, LocalDispatchKeySet Keys)? s_saved;

    /// <inheritdoc />
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc />
    public void BeforeTest(ITest test)
    {
        if (KeySets is { } keySets)
        {
            s_saved = (torch.is_grad_enabled(), keySets.Get());
        }
    }

    /// <inheritdoc />
    public void AfterTest(ITest test)
    {
        if (KeySets is not { } keySets || s_saved is not { } saved)
        {
            return;
        }
        s_saved = null;
        bool grad = torch.is_grad_enabled();
        LocalDispatchKeySet keys = keySets.Get();
        if (grad == saved.Grad && keys.Equals(saved.Keys))
        {
            return;
        }
        TestContext.Progress.WriteLine(
            $"WineAutogradStateRepair: {test.FullName} left grad mode {grad} (was {saved.Grad}), dispatch keys {keys} (were {saved.Keys}); restored");
        keySets.Set(saved.Keys);
        torch.set_grad_enabled(saved.Grad);
    }

    private static (GetKeySets, SetKeySets)? FindKeySets()
    {
        if (!Wine.IsRunning || !NativeLibrary.TryLoad("c10.dll", typeof(WineAutogradStateRepairAttribute).Assembly, null, out IntPtr c10))
        {
            return null;
        }
        return NativeLibrary.TryGetExport(c10, GetExport, out IntPtr get) && NativeLibrary.TryGetExport(c10, SetExport, out IntPtr set)
            ? (Marshal.GetDelegateForFunctionPointer<GetKeySets>(get), Marshal.GetDelegateForFunctionPointer<SetKeySets>(set))
            : null;
    }
}
