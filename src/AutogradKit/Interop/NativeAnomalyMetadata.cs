using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>
/// Anomaly metadata AutogradKit gives libtorch's nodes (see <see cref="AbiFacts.AnomalyMetadata"/>), and the first-use
/// check of libtorch's own factory.
/// </summary>
/// <remarks>Thread-safety: the check runs once inside <see cref="NativeEngine"/>'s.</remarks>
internal static unsafe partial class NativeAnomalyMetadata
{
    private const string VtableSymbol = "_ZTVN5torch8autograd15AnomalyMetadataE";

    /// <summary>
    /// Calls the base engine's <c>make_anomaly_metadata()</c> (slot <paramref name="factory"/>) and checks the object it
    /// returns against <see cref="AbiFacts.AnomalyMetadata"/>, then deletes it; null when everything matches.
    /// </summary>
    internal static string? CheckBaseFactory(IntPtr torch, IntPtr factory, IntPtr engine)
    {
        IntPtr made = IntPtr.Zero;
        ((delegate* unmanaged[Cdecl]<IntPtr*, IntPtr, IntPtr*>)factory)(&made, engine);
        if (made == IntPtr.Zero)
        {
            return $"vtable slot {AbiFacts.EngineVtable.MakeAnomalyMetadataSlot} made no AnomalyMetadata.";
        }
        IntPtr* vptr = *(IntPtr**)made;
        IntPtr* expected = (IntPtr*)(NativeLibrary.GetExport(torch, VtableSymbol) + 2 * IntPtr.Size);
        if (vptr != expected)
        {
            // Not ours to delete through an unknown table: leaked, the process is refused the feature anyway.
            return $"vtable slot {AbiFacts.EngineVtable.MakeAnomalyMetadataSlot} made an object that is not an AnomalyMetadata.";
        }
        string? failure = null;
        foreach ((int slot, string symbol) in AbiFacts.AnomalyMetadata.ExportedSlots)
        {
            if (!NativeLibrary.TryGetExport(torch, symbol, out IntPtr address) || vptr[slot] != address)
            {
                failure ??= $"AnomalyMetadata's vtable slot {slot} is not {symbol}.";
            }
        }
        byte* traceback = (byte*)made + AbiFacts.AnomalyMetadata.TracebackOffset;
        if (*(IntPtr*)traceback != (IntPtr)(traceback + AbiFacts.StdString.LocalBufferOffset)
            || *(long*)(traceback + AbiFacts.StdString.LengthOffset) != 0
            || *(IntPtr*)((byte*)made + AbiFacts.AnomalyMetadata.ParentOffset) != IntPtr.Zero
            || *(IntPtr*)((byte*)made + AbiFacts.AnomalyMetadata.ParentOffset + AbiFacts.SharedPtr.ControlOffset) != IntPtr.Zero)
        {
            failure ??= "a new AnomalyMetadata's traceback_ and parent_ are not where libtorch 2.10's header puts them.";
        }
        ((delegate* unmanaged[Cdecl]<IntPtr, void>)vptr[1])(made);
        return failure;
    }
}
