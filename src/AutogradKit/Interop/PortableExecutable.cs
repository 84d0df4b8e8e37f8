using System.Text;

namespace AutogradKit;

/// <summary>
/// Reads a loaded Windows x64 module's import table (winnt.h: <c>IMAGE_DOS_HEADER.e_lfanew</c>, <c>IMAGE_NT_HEADERS64</c>,
/// <c>IMAGE_IMPORT_DESCRIPTOR</c>, <c>IMAGE_THUNK_DATA64</c>) to find and rebind one imported function, for
/// <see cref="WineCxxRuntimeRepair"/>.
/// </summary>
/// <remarks>Stateless; thread-safe. Only for modules the loader mapped (RVAs are offsets from the module's base).</remarks>
internal static unsafe class PortableExecutable
{
    private const int NewHeaderOffset = 0x3C;
    private const uint NtSignature = 0x4550; // "PE\0\0"
    private const ushort Pe32PlusMagic = 0x20B;
    private const int OptionalHeaderOffset = 24; // after the signature and IMAGE_FILE_HEADER
    private const int ImportDirectoryOffset = OptionalHeaderOffset + 120; // DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT]
    private const int ImportDescriptorSize = 20;
    private const ulong OrdinalFlag = 1UL << 63;

    /// <summary>
    /// The address-table slot through which <paramref name="module"/> calls <paramref name="function"/> of
    /// <paramref name="library"/> (matched without regard to case), or null when it does not import it by name.
    /// </summary>
    internal static ulong* FindImportSlot(IntPtr module, string library, string function)
    {
        var image = (byte*)module;
        if (image is null || *(ushort*)image != 0x5A4D) // "MZ"
        {
            return null;
        }
        byte* nt = image + *(int*)(image + NewHeaderOffset);
        if (*(uint*)nt != NtSignature || *(ushort*)(nt + OptionalHeaderOffset) != Pe32PlusMagic)
        {
            return null;
        }
        uint importsRva = *(uint*)(nt + ImportDirectoryOffset);
        if (importsRva == 0)
        {
            return null;
        }
        for (byte* descriptor = image + importsRva; *(uint*)(descriptor + 12) != 0; descriptor += ImportDescriptorSize)
        {
            if (!string.Equals(ReadName(image + *(uint*)(descriptor + 12)), library, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            uint namesRva = *(uint*)descriptor != 0 ? *(uint*)descriptor : *(uint*)(descriptor + 16);
            var names = (ulong*)(image + namesRva);
            var slots = (ulong*)(image + *(uint*)(descriptor + 16));
            for (int i = 0; names[i] != 0; i++)
            {
                if ((names[i] & OrdinalFlag) == 0 && ReadName(image + (uint)names[i] + sizeof(ushort)) == function)
                {
                    return slots + i;
                }
            }
        }
        return null;
    }

    /// <summary>Points <paramref name="slot"/> at <paramref name="target"/> (the address table is read-only once bound).</summary>
    internal static void WriteImportSlot(ulong* slot, IntPtr target)
    {
        if (!NativeMethods.VirtualProtect(slot, sizeof(ulong), NativeMethods.PageReadWrite, out uint previous))
        {
            throw new InvalidOperationException("VirtualProtect refused to make an import slot writable");
        }
        Interlocked.Exchange(ref *(long*)slot, (long)target);
        NativeMethods.VirtualProtect(slot, sizeof(ulong), previous, out _);
    }

    private static string ReadName(byte* name)
    {
        int length = 0;
        while (name[length] != 0)
        {
            length++;
        }
        return Encoding.ASCII.GetString(name, length);
    }
}
