using System.Runtime.InteropServices;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Interop;

/// <summary>
/// <see cref="WineCxxRuntimeRepair"/>: under Wine, a libtorch error caught by TorchSharp unwinds libtorch's guards, and
/// a rethrown <c>std::exception_ptr</c> raises a copy of its object, as on Windows. The last two hold on every platform.
/// </summary>
public class WineCxxRuntimeRepairTests
{
    [Test]
    public void Install_UnderWine_RebindsLibTorchsFrameHandlersAndRethrow()
    {
        if (!WineHost.IsRunning)
        {
            Assert.Ignore("Wine only: the repair is for Wine's vcruntime140_1 and msvcp140");
        }
        LibTorchLoader.EnsureLoaded();
        Assert.That(WineCxxRuntimeRepair.Rebound, Is.EquivalentTo(new[] { "c10!__CxxFrameHandler4", "torch_cpu!__CxxFrameHandler4", "torch_cpu!__ExceptionPtrRethrow" }));
    }

    [Test]
    public void Install_OnWindowsAndElsewhere_TouchesNothing()
    {
        if (WineHost.IsRunning)
        {
            Assert.Ignore("not under Wine, where the repair is installed");
        }
        LibTorchLoader.EnsureLoaded();
        Assert.That(WineCxxRuntimeRepair.Rebound, Is.Empty);
    }

    [Test]
    public void RaiseBlockFor_CxxExceptionOfASimpleType_RaisesACopyWithTheSameThrowInfo()
    {
        // A fake image: the throw info at 0x100, its catchable-type array at 0x120 (one entry), the catchable type
        // (CT_IsSimpleType, 16 bytes, no copy constructor) at 0x140; the object and the EXCEPTION_RECORD elsewhere.
        IntPtr image = Marshal.AllocHGlobal(0x200);
        IntPtr thrown = Marshal.AllocHGlobal(16);
        IntPtr record = Marshal.AllocHGlobal(152);
        IntPtr exceptionPtr = Marshal.AllocHGlobal(16);
        try
        {
            for (int i = 0; i < 0x200; i += 4)
            {
                Marshal.WriteInt32(image, i, 0);
            }
            Marshal.WriteInt32(image, 0x100 + 12, 0x120);
            Marshal.WriteInt32(image, 0x120, 1);
            Marshal.WriteInt32(image, 0x124, 0x140);
            Marshal.WriteInt32(image, 0x140, 1);
            Marshal.WriteInt32(image, 0x140 + 20, 16);
            Marshal.WriteInt64(thrown, 0, 0x1122334455667788);
            Marshal.WriteInt64(thrown, 8, 0x0102030405060708);
            Marshal.WriteInt32(record, 0, unchecked((int)0xE06D7363));
            Marshal.WriteInt32(record, 4, 1 | 2); // noncontinuable, unwinding: the raise keeps only the first
            Marshal.WriteInt32(record, 24, 4);
            Marshal.WriteInt64(record, 32, 0x19930520);
            Marshal.WriteIntPtr(record, 40, thrown);
            Marshal.WriteIntPtr(record, 48, image + 0x100);
            Marshal.WriteIntPtr(record, 56, image);
            Marshal.WriteIntPtr(exceptionPtr, 0, record);
            Marshal.WriteIntPtr(exceptionPtr, 8, IntPtr.Zero);

            IntPtr block = WineCxxRuntimeRepair.RaiseBlockFor(exceptionPtr);

            Assert.That(block, Is.Not.EqualTo(IntPtr.Zero));
            Assert.That((uint)Marshal.ReadInt32(block, 0), Is.EqualTo(0xE06D7363u));
            Assert.That(Marshal.ReadInt32(block, 4), Is.EqualTo(1));
            Assert.That(Marshal.ReadInt32(block, 8), Is.EqualTo(4));
            Assert.That(Marshal.ReadInt64(block, 16), Is.EqualTo(0x19930520));
            IntPtr copy = Marshal.ReadIntPtr(block, 24);
            Assert.That(copy, Is.Not.EqualTo(thrown).And.Not.EqualTo(IntPtr.Zero), "a copy, not the exception_ptr's own object");
            Assert.That(Marshal.ReadInt64(copy, 0), Is.EqualTo(0x1122334455667788));
            Assert.That(Marshal.ReadInt64(copy, 8), Is.EqualTo(0x0102030405060708));
            Assert.That(Marshal.ReadIntPtr(block, 32), Is.EqualTo(image + 0x100));
            Assert.That(Marshal.ReadIntPtr(block, 40), Is.EqualTo(image));

            Marshal.WriteInt32(record, 0, unchecked((int)0xC0000005)); // an SEH exception: Wine's own rethrow raises it
            Assert.That(WineCxxRuntimeRepair.RaiseBlockFor(exceptionPtr), Is.EqualTo(IntPtr.Zero));
            Marshal.WriteIntPtr(exceptionPtr, 0, IntPtr.Zero); // an empty exception_ptr: Wine's bad_exception
            Assert.That(WineCxxRuntimeRepair.RaiseBlockFor(exceptionPtr), Is.EqualTo(IntPtr.Zero));
        }
        finally
        {
            Marshal.FreeHGlobal(exceptionPtr);
            Marshal.FreeHGlobal(record);
            Marshal.FreeHGlobal(thrown);
            Marshal.FreeHGlobal(image);
        }
    }

    [Test]
    public void Reshape_ShapeErrorCaughtByTorchSharp_LeavesAutogradOnForTheNextOperation()
    {
        // Under Wine without the repair, the error's unwind skipped the autograd kernel's dispatch-key guard: every
        // later operation on the thread made no graph.
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(2, 3, requires_grad: true);
        for (int i = 0; i < 3; i++)
        {
            Assert.Throws<ExternalException>(() => x.reshape(7));
            Tensor y = x * x;
            Assert.That(y.requires_grad, Is.True);
            Assert.That(y.GradFn?.Name, Is.EqualTo("MulBackward0"));
        }
    }
}
