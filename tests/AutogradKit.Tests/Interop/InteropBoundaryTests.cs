using System.Text.RegularExpressions;
using NUnit.Framework;

namespace AutogradKit.Tests.Interop;

/// <summary>
/// The interop boundary holds: outside <c>src/AutogradKit/Interop/</c> no source file handles native pointers or
/// calls natives (docs/interop.md). A new feature that needs a native adds a typed wrapper in Interop/.
/// </summary>
public partial class InteropBoundaryTests
{
    private static string SourceRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AutogradKit.sln")))
            {
                return Path.Combine(dir.FullName, "src", "AutogradKit");
            }
        }
        throw new DirectoryNotFoundException("AutogradKit.sln not found above the test assembly: the test runs from a clone of the repository.");
    }

    private static IEnumerable<TestCaseData> SourceFilesOutsideInterop()
    {
        string root = SourceRoot();
        foreach (string file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.StartsWith("Interop/", StringComparison.Ordinal) || relative.StartsWith("buildTransitive/", StringComparison.Ordinal)
                || relative.StartsWith("obj/", StringComparison.Ordinal) || relative.StartsWith("bin/", StringComparison.Ordinal))
            {
                continue;
            }
            yield return new TestCaseData(file).SetArgDisplayNames(relative);
        }
    }

    [TestCaseSource(nameof(SourceFilesOutsideInterop))]
    public void SourceFile_OutsideInterop_HasNoNativeCode(string path)
    {
        string code = CommentsAndStrings().Replace(File.ReadAllText(path), " ");
        string[] found = NativeTokens().Matches(code).Select(m => m.Value).Distinct().ToArray();
        Assert.That(found, Is.Empty, $"{Path.GetFileName(path)} uses native code outside Interop/: {string.Join(", ", found)}");
    }

    [Test]
    public void SourceFilesOutsideInterop_AreFound()
    {
        Assert.That(SourceFilesOutsideInterop().Count(), Is.GreaterThan(20), "the scan must see the library's sources");
    }

    [GeneratedRegex(@"\b(IntPtr|nint|nuint|unsafe|NativeMethods|Marshal|GC\.KeepAlive|DllImport|LibraryImport|UnmanagedCallersOnly)\b|delegate\s*\*\s*unmanaged")]
    private static partial Regex NativeTokens();

    // Line and block comments (XML docs may name natives) and string literals.
    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@?""(?:[^""\\\n]|\\.)*""", RegexOptions.Singleline)]
    private static partial Regex CommentsAndStrings();
}
