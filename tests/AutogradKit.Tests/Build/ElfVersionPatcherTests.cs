using NUnit.Framework;

namespace AutogradKit.Tests.Build;

/// <summary>
/// The build step that lets TorchSharp 0.107.0 load on GCC 12's libstdc++ (see AutogradKit.targets).
/// </summary>
public class ElfVersionPatcherTests
{
    private const string Version = "GLIBCXX_3.4.32";

    private static string OutputCopy => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    private static string NuGetOriginal
    {
        get
        {
            string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            return Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        }
    }

    [SetUp]
    public void LinuxOnly()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("libLibTorchSharp.so is patched on Linux only");
        }
    }

    [Test]
    public void WeakenRequirement_WasAppliedToTheBuildOutputWhereNeeded()
    {
        string? libstdcxx = ElfVersionPatcher.FindLibStdCxx();
        Assert.That(libstdcxx, Is.Not.Null, "no libstdc++.so.6 found");
        Assert.That(ElfVersionPatcher.Requires(OutputCopy, Version), Is.True, "TorchSharp 0.107.0 names GLIBCXX_3.4.32");
        if (ElfVersionPatcher.DefinesVersion(libstdcxx!, Version))
        {
            Assert.That(ElfVersionPatcher.RequiresStrongly(OutputCopy, Version), Is.True, "left as shipped where libstdc++ is new enough");
        }
        else
        {
            Assert.That(ElfVersionPatcher.RequiresStrongly(OutputCopy, Version), Is.False, "weak in the output copy");
        }
    }

    [Test]
    public void WeakenRequirement_NeverTouchesTheNuGetCache()
    {
        if (!File.Exists(NuGetOriginal))
        {
            Assert.Ignore($"TorchSharp is not in the default NuGet cache here ({NuGetOriginal})");
        }
        Assert.That(ElfVersionPatcher.RequiresStrongly(NuGetOriginal, Version), Is.True);
    }

    [Test]
    public void WeakenRequirement_SetsOnlyTheWeakFlagAndIsIdempotent()
    {
        string directory = Directory.CreateTempSubdirectory("ak-elf-").FullName;
        try
        {
            string original = File.Exists(NuGetOriginal) ? NuGetOriginal : OutputCopy;
            string copy = Path.Combine(directory, "libLibTorchSharp.so");
            File.Copy(original, copy);
            byte[] before = File.ReadAllBytes(copy);
            bool wasStrong = ElfVersionPatcher.RequiresStrongly(copy, Version);

            ElfVersionPatcher.Result first = ElfVersionPatcher.WeakenRequirement(copy, Version);
            byte[] once = File.ReadAllBytes(copy);
            ElfVersionPatcher.Result second = ElfVersionPatcher.WeakenRequirement(copy, Version);
            byte[] twice = File.ReadAllBytes(copy);

            Assert.That(first, Is.EqualTo(wasStrong ? ElfVersionPatcher.Result.Patched : ElfVersionPatcher.Result.AlreadyWeak));
            Assert.That(second, Is.EqualTo(ElfVersionPatcher.Result.AlreadyWeak));
            Assert.That(twice, Is.EqualTo(once), "a second run changes nothing");
            Assert.That(ElfVersionPatcher.RequiresStrongly(copy, Version), Is.False);
            int[] changed = Enumerable.Range(0, before.Length).Where(i => before[i] != once[i]).ToArray();
            Assert.That(changed, Has.Length.LessThanOrEqualTo(1), "one byte: the vna_flags of the one entry");
            if (changed.Length == 1)
            {
                Assert.That(once[changed[0]] ^ before[changed[0]], Is.EqualTo(0x2), "VER_FLG_WEAK");
            }
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Test]
    public void WeakenRequirement_LeavesOtherHardLinksAlone()
    {
        string directory = Directory.CreateTempSubdirectory("ak-elf-").FullName;
        try
        {
            // MSBuild hard-links the NuGet cache's file into the output; patching the output must not write through.
            string cache = Path.Combine(directory, "cache.so");
            File.Copy(File.Exists(NuGetOriginal) ? NuGetOriginal : OutputCopy, cache);
            byte[] cacheBytes = File.ReadAllBytes(cache);
            string output = Path.Combine(directory, "output.so");
            if (!TryHardLink(cache, output))
            {
                Assert.Ignore("hard links are not available here");
            }
            ElfVersionPatcher.WeakenRequirement(output, Version);
            Assert.That(ElfVersionPatcher.RequiresStrongly(output, Version), Is.False);
            Assert.That(File.ReadAllBytes(cache), Is.EqualTo(cacheBytes), "the other link keeps its bytes");
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Test]
    public void DefinesVersion_ReadsLibStdCxxVersionDefinitions()
    {
        string? libstdcxx = ElfVersionPatcher.FindLibStdCxx();
        Assert.That(libstdcxx, Is.Not.Null);
        Assert.That(ElfVersionPatcher.DefinesVersion(libstdcxx!, "GLIBCXX_3.4"), Is.True, "every libstdc++ defines GLIBCXX_3.4");
        Assert.That(ElfVersionPatcher.DefinesVersion(libstdcxx!, "GLIBCXX_9.9.99"), Is.False);
    }

    [Test]
    public void WeakenRequirement_RejectsAFileThatIsNotElf()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "hello");
            Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.WeakenRequirement(path, Version));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static bool TryHardLink(string existing, string link)
    {
        using var process = System.Diagnostics.Process.Start("ln", [existing, link]);
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}
