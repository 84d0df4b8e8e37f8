using System.Collections.Concurrent;
using System.Text.Json;

namespace AutogradKit.Tests.Support;

/// <summary>
/// The one reader of <c>TestData/</c>: PyTorch's outputs, written by the generator scripts beside them and copied
/// next to the test assembly. Each file is read and parsed once per process, however many fixtures use it.
/// </summary>
/// <remarks>Thread-safe: the caches are concurrent and the parsed documents are never disposed or changed.</remarks>
public static class TestDataFiles
{
    private static readonly ConcurrentDictionary<string, Lazy<JsonElement>> JsonFiles = new();
    private static readonly ConcurrentDictionary<string, Lazy<string[]>> TextFiles = new();

    /// <summary>The full path of <paramref name="name"/> in the test output's TestData folder.</summary>
    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", name);

    /// <summary>The root of the JSON file <paramref name="name"/> (e.g. <c>graphs.json</c>), parsed once.</summary>
    public static JsonElement Json(string name) =>
        JsonFiles.GetOrAdd(name, n => new Lazy<JsonElement>(() => JsonDocument.Parse(File.ReadAllText(PathOf(n))).RootElement)).Value;

    /// <summary>The lines of the text file <paramref name="name"/>, without the final newline, read once.</summary>
    public static IReadOnlyList<string> Lines(string name) =>
        TextFiles.GetOrAdd(name, n => new Lazy<string[]>(() => File.ReadAllText(PathOf(n)).TrimEnd('\n').Split('\n'))).Value;
}
