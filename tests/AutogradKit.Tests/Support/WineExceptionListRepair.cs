using System.Runtime.InteropServices;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace AutogradKit.Tests.Support;

/// <summary>
/// Makes the suite run under Wine 8.0 (the win-x64 build is tested there, see .ci/windows-check): Wine leaves a stale
/// entry in the thread's SEH list (<c>TEB→NtTib.ExceptionList</c>) when a .NET exception crosses native runtime frames
/// (reflection invoke, type initialisers), and the next such exception then kills the thread, so the run hangs. NUnit
/// invokes every test by reflection, so this action saves the pointer before each test and restores it after. It does
/// nothing on real Windows and elsewhere (only where <see cref="Wine.IsRunning"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class WineExceptionListRepairAttribute : Attribute, ITestAction
{
    // NtQueryInformationThread(GetCurrentThread(), ThreadBasicInformation, ...): x64 Wine's ntdll does not export
    // NtCurrentTeb, but THREAD_BASIC_INFORMATION carries the TEB's address at +8.
    [UnmanagedFunctionPointer(CallingConvention.Winapi)]
    private delegate int QueryInformationThread(IntPtr thread, int informationClass, byte[] information, int length, out int returned);

    private const int ThreadBasicInformation = 0;
    private const int BasicInformationSize = 48;
    private static readonly IntPtr CurrentThread = new(-2);
    private static readonly QueryInformationThread? Query = FindQuery();


    private static IntPtr Teb()
    {
        var information = new byte[BasicInformationSize];
        return Query!(CurrentThread, ThreadBasicInformation, information, information.Length, out _) == 0
            ? new IntPtr(BitConverter.ToInt64(information, 8))
            : IntPtr.Zero;
    }

    [ThreadStatic]
    private static IntPtr s_saved;

    /// <inheritdoc />
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc />
    public void BeforeTest(ITest test)
    {
        if (Query is not null)
        {
            // libtorch loaded (and Wine's C++ runtime repaired, WineCxxRuntimeRepair) before a test's first raw TorchSharp call.
            LibTorchLoader.EnsureLoaded();
            s_saved = Marshal.ReadIntPtr(Teb());
        }
    }

    /// <inheritdoc />
    public void AfterTest(ITest test)
    {
        if (Query is not null && s_saved != IntPtr.Zero)
        {
            Marshal.WriteIntPtr(Teb(), s_saved);
        }
    }

    private static QueryInformationThread? FindQuery() =>
        Wine.IsRunning && NativeLibrary.TryGetExport(Wine.Ntdll, "NtQueryInformationThread", out IntPtr query)
            ? Marshal.GetDelegateForFunctionPointer<QueryInformationThread>(query)
            : null;
}
