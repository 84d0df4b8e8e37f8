// Compiled by MSBuild's RoslynCodeTaskFactory from AutogradKit.targets, and by the tests (with
// AUTOGRADKIT_ELF_ONLY, so without MSBuild), which call ElfVersionPatcher directly. Keep it free of
// anything but netstandard2.0's BCL and MSBuild's task API.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
#if !AUTOGRADKIT_ELF_ONLY
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

/// <summary>
/// MSBuild task: marks a GNU symbol-version requirement (by default <c>GLIBCXX_3.4.32</c>) weak in
/// copies of <c>libLibTorchSharp.so</c>, so that the dynamic loader accepts them on a libstdc++ that
/// lacks the version. Mode <c>auto</c> does it only when this machine's libstdc++ lacks it.
/// </summary>
public class WeakenGlibcxxRequirement : Task
{
    /// <summary>The files to patch; missing ones are skipped.</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary><c>auto</c> or <c>always</c>.</summary>
    [Required]
    public string Mode { get; set; } = "auto";

    /// <summary>The version name to weaken.</summary>
    [Required]
    public string Version { get; set; } = "GLIBCXX_3.4.32";

    /// <summary>The files that were changed by this run.</summary>
    [Output]
    public ITaskItem[] Patched { get; set; } = Array.Empty<ITaskItem>();

    /// <inheritdoc />
    public override bool Execute()
    {
        if (Mode == "auto")
        {
            string? libstdcxx = ElfVersionPatcher.FindLibStdCxx();
            if (libstdcxx != null && ElfVersionPatcher.DefinesVersion(libstdcxx, Version))
            {
                Log.LogMessage(MessageImportance.Low, "AutogradKit: {0} defines {1}; libLibTorchSharp.so left as shipped.", libstdcxx, Version);
                return true;
            }
        }
        else if (Mode != "always")
        {
            Log.LogError("AutogradKitWeakenGlibcxx must be auto, always or never, not '{0}'.", Mode);
            return false;
        }

        var patched = new List<ITaskItem>();
        foreach (ITaskItem item in Files)
        {
            string path = item.GetMetadata("FullPath");
            if (!File.Exists(path))
            {
                continue;
            }
            try
            {
                ElfVersionPatcher.Result result = ElfVersionPatcher.WeakenRequirement(path, Version);
                if (result == ElfVersionPatcher.Result.Patched)
                {
                    Log.LogMessage(MessageImportance.Normal, "AutogradKit: marked {0} weak in {1}.", Version, path);
                    patched.Add(item);
                }
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
            {
                Log.LogError("AutogradKit could not patch {0}: {1}", path, e.Message);
            }
        }
        Patched = patched.ToArray();
        return !Log.HasLoggedErrors;
    }
}
#endif

/// <summary>Reads and edits the GNU version sections of 64-bit little-endian ELF files.</summary>
public static class ElfVersionPatcher
{
    /// <summary>Where the dynamic loader looks after <c>LD_LIBRARY_PATH</c>, on Debian-style and other layouts.</summary>
    private static readonly string[] SystemLibraryDirectories =
    {
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
        "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib64", "/usr/local/lib",
    };

    /// <summary>What <see cref="WeakenRequirement"/> did.</summary>
    public enum Result
    {
        /// <summary>The requirement was strong and is now weak.</summary>
        Patched,
        /// <summary>The requirement was weak already: nothing written.</summary>
        AlreadyWeak,
        /// <summary>The file does not require that version: nothing written.</summary>
        NotRequired,
    }

    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>
    /// Sets <c>VER_FLG_WEAK</c> on every <c>Vernaux</c> entry naming <paramref name="version"/>.
    /// The file is rewritten through a temporary file and a rename, so other hard links to the old
    /// contents (such as the NuGet cache's) keep them, and its modification time is kept so that an
    /// incremental build does not copy the original over it again.
    /// </summary>
    public static Result WeakenRequirement(string path, string version)
    {
        byte[] image = File.ReadAllBytes(path);
        List<int> flagOffsets = FindRequirementFlags(image, version);
        if (flagOffsets.Count == 0)
        {
            return Result.NotRequired;
        }
        bool changed = false;
        foreach (int offset in flagOffsets)
        {
            ushort flags = ReadU16(image, offset);
            if ((flags & VerFlgWeak) == 0)
            {
                WriteU16(image, offset, (ushort)(flags | VerFlgWeak));
                changed = true;
            }
        }
        if (!changed)
        {
            return Result.AlreadyWeak;
        }

        DateTime modified = File.GetLastWriteTimeUtc(path);
        string temporary = path + ".autogradkit-tmp";
        try
        {
            // A copy first, so the new file keeps the old one's permissions.
            File.Copy(path, temporary, true);
            File.WriteAllBytes(temporary, image);
            File.Delete(path);
            File.Move(temporary, path);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
        File.SetLastWriteTimeUtc(path, modified);
        return Result.Patched;
    }

    /// <summary>Whether the file requires <paramref name="version"/> without the weak flag.</summary>
    public static bool RequiresStrongly(string path, string version)
    {
        byte[] image = File.ReadAllBytes(path);
        foreach (int offset in FindRequirementFlags(image, version))
        {
            if ((ReadU16(image, offset) & VerFlgWeak) == 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether the file lists <paramref name="version"/> at all in its version needs.</summary>
    public static bool Requires(string path, string version) => FindRequirementFlags(File.ReadAllBytes(path), version).Count > 0;

    /// <summary>Whether the shared library defines the symbol version <paramref name="version"/>.</summary>
    public static bool DefinesVersion(string path, string version)
    {
        byte[] image = File.ReadAllBytes(path);
        Elf elf = Elf.Parse(image);
        foreach (Section section in elf.Sections)
        {
            if (section.Type != ShtGnuVerdef)
            {
                continue;
            }
            Section strings = elf.Sections[(int)section.Link];
            long entry = section.Offset;
            for (uint i = 0; i < section.Info; i++)
            {
                ushort auxCount = ReadU16(image, Checked(entry + 6, image));
                long aux = entry + ReadU32(image, Checked(entry + 12, image));
                for (int j = 0; j < auxCount; j++)
                {
                    uint name = ReadU32(image, Checked(aux, image));
                    if (ReadString(image, strings.Offset + name) == version)
                    {
                        return true;
                    }
                    aux += ReadU32(image, Checked(aux + 4, image));
                }
                uint next = ReadU32(image, Checked(entry + 16, image));
                if (next == 0)
                {
                    break;
                }
                entry += next;
            }
        }
        return false;
    }

    /// <summary>
    /// The libstdc++.so.6 the dynamic loader would most likely pick: LD_LIBRARY_PATH first, then the
    /// usual system directories. Null when none is found.
    /// </summary>
    public static string? FindLibStdCxx()
    {
        var directories = new List<string>();
        string? ldLibraryPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        if (!string.IsNullOrEmpty(ldLibraryPath))
        {
            directories.AddRange(ldLibraryPath.Split(':'));
        }
        directories.AddRange(SystemLibraryDirectories);
        foreach (string directory in directories)
        {
            if (directory.Length == 0)
            {
                continue;
            }
            string candidate = Path.Combine(directory, "libstdc++.so.6");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static List<int> FindRequirementFlags(byte[] image, string version)
    {
        var offsets = new List<int>();
        Elf elf = Elf.Parse(image);
        foreach (Section section in elf.Sections)
        {
            if (section.Type != ShtGnuVerneed)
            {
                continue;
            }
            Section strings = elf.Sections[(int)section.Link];
            long entry = section.Offset;
            for (uint i = 0; i < section.Info; i++)
            {
                ushort auxCount = ReadU16(image, Checked(entry + 2, image));
                long aux = entry + ReadU32(image, Checked(entry + 8, image));
                for (int j = 0; j < auxCount; j++)
                {
                    uint name = ReadU32(image, Checked(aux + 8, image));
                    if (ReadString(image, strings.Offset + name) == version)
                    {
                        offsets.Add(Checked(aux + 4, image));
                    }
                    uint nextAux = ReadU32(image, Checked(aux + 12, image));
                    if (nextAux == 0)
                    {
                        break;
                    }
                    aux += nextAux;
                }
                uint next = ReadU32(image, Checked(entry + 12, image));
                if (next == 0)
                {
                    break;
                }
                entry += next;
            }
        }
        return offsets;
    }

    private readonly struct Section
    {
        public Section(uint type, long offset, uint link, uint info)
        {
            Type = type;
            Offset = offset;
            Link = link;
            Info = info;
        }

        public uint Type { get; }
        public long Offset { get; }
        public uint Link { get; }
        public uint Info { get; }
    }

    private sealed class Elf
    {
        private Elf(List<Section> sections) => Sections = sections;

        public List<Section> Sections { get; }

        public static Elf Parse(byte[] image)
        {
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            {
                throw new InvalidDataException("not an ELF file");
            }
            if (image[4] != 2 || image[5] != 1)
            {
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
            }
            long sectionTable = (long)ReadU64(image, 0x28);
            ushort entrySize = ReadU16(image, 0x3A);
            ushort count = ReadU16(image, 0x3C);
            var sections = new List<Section>(count);
            for (int i = 0; i < count; i++)
            {
                long header = sectionTable + (long)i * entrySize;
                int at = Checked(header, image, 64);
                sections.Add(new Section(ReadU32(image, at + 4), (long)ReadU64(image, at + 0x18), ReadU32(image, at + 0x28), ReadU32(image, at + 0x2C)));
            }
            return new Elf(sections);
        }
    }

    private static int Checked(long offset, byte[] image, int length = 4)
    {
        if (offset < 0 || offset + length > image.Length)
        {
            throw new InvalidDataException("truncated or malformed ELF file");
        }
        return (int)offset;
    }

    private static ushort ReadU16(byte[] b, int at) => (ushort)(b[at] | (b[at + 1] << 8));

    private static void WriteU16(byte[] b, int at, ushort value)
    {
        b[at] = (byte)value;
        b[at + 1] = (byte)(value >> 8);
    }

    private static uint ReadU32(byte[] b, int at) => (uint)(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24));

    private static ulong ReadU64(byte[] b, int at) => ReadU32(b, at) | ((ulong)ReadU32(b, at + 4) << 32);

    private static string ReadString(byte[] b, long at)
    {
        int start = Checked(at, b, 1);
        int end = start;
        while (end < b.Length && b[end] != 0)
        {
            end++;
        }
        return Encoding.ASCII.GetString(b, start, end - start);
    }
}
