using NUnit.Framework;
using TorchSharp;

namespace AutogradKit.Tests.Interop;

public class LibTorchLoaderTests
{
    [Test]
    public void EnsureLoaded_LoadsLibTorchOnThisMachine()
    {
        Assert.DoesNotThrow(LibTorchLoader.EnsureLoaded);
        using var t = torch.ones(2, 2);
        Assert.That(t.sum().item<float>(), Is.EqualTo(4f));
    }

    [Test]
    public void Diagnose_NamesTheLibraryAndTheLoadersReason()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("the loader's reason checked here is glibc's for a file that is not ELF");
        }
        string directory = Directory.CreateTempSubdirectory("ak-loader-").FullName;
        try
        {
            // A libc10.so that is not an ELF file: the dynamic loader's reason must reach the message.
            File.WriteAllText(Path.Combine(directory, "libc10.so"), "not a shared library");
            LibTorchLoadException e = LibTorchLoader.Diagnose(directory, new InvalidOperationException("TorchSharp trace"));
            Assert.That(e.Library, Is.EqualTo("libc10.so"));
            Assert.That(e.LibraryPath, Is.EqualTo(Path.Combine(directory, "libc10.so")));
            Assert.That(e.Message, Does.StartWith($"{Path.Combine(directory, "libc10.so")} could not be loaded: "));
            Assert.That(e.Message, Does.Contain("invalid ELF header").Or.Contain("file too short"));
            Assert.That(e.Message, Does.Not.Contain("strace"));
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Test]
    public void Diagnose_SaysWhenALibraryIsMissing()
    {
        string directory = Directory.CreateTempSubdirectory("ak-loader-").FullName;
        try
        {
            LibTorchLoadException e = LibTorchLoader.Diagnose(directory, new InvalidOperationException("TorchSharp trace"));
            Assert.That(e.Library, Is.EqualTo(OperatingSystem.IsWindows() ? "c10.dll" : OperatingSystem.IsMacOS() ? "libc10.dylib" : "libc10.so"));
            Assert.That(e.LibraryPath, Is.Null);
            Assert.That(e.Message, Does.Contain("was not found"));
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Test]
    public void LoaderReason_KeepsTheDynamicLoadersLineOnly()
    {
        const string dotnetText = "Unable to load shared library '/x/libLibTorchSharp.so' or one of its dependencies. In order to help diagnose loading problems, consider using a tool like strace. If you're using glibc, consider setting the LD_DEBUG environment variable: \n/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /x/libLibTorchSharp.so)";
        Assert.That(LibTorchLoader.LoaderReason(dotnetText),
            Is.EqualTo("/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /x/libLibTorchSharp.so)"));
    }
}
