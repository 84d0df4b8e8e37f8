using System.Reflection;
using System.Runtime.CompilerServices;

namespace AutogradKit;

/// <summary>
/// Remembers, per user function, how many elements it returned for inputs of given shapes, so that a vectorized
/// Jacobian can build its batch without first running the function once just to learn that number.
/// </summary>
/// <remarks>
/// <para>A remembered size is only a guess: the batched forward pass returns <c>[m, …outShape]</c> and the caller
/// checks that the product of <c>outShape</c> is the <c>m</c> it batched, so a function whose output size changed
/// (state it captures, say) costs one wasted forward pass and is never answered wrongly.</para>
/// <para>Functions are told apart by target object and method, not by delegate instance: C# makes a new delegate
/// for each use of an instance method group (<c>Jacobian(net.Forward, …)</c>), so the instance alone would never
/// match twice. Targets are held weakly.</para>
/// <para>Thread-safety: every member is safe to call from several threads.</para>
/// </remarks>
internal static class OutputSizeMemory
{
    private sealed record Entry(long[][] InputShapes, long Size);

    private static readonly ConditionalWeakTable<object, Dictionary<MethodInfo, Entry>> s_byTarget = new();
    private static readonly Dictionary<MethodInfo, Entry> s_static = [];

    /// <summary>The output size last recorded for <paramref name="function"/> on inputs of <paramref name="inputShapes"/>.</summary>
    public static bool TryGet(Delegate function, long[][] inputShapes, out long size)
    {
        Dictionary<MethodInfo, Entry> table = TableOf(function);
        Entry? entry;
        lock (table)
        {
            table.TryGetValue(function.Method, out entry);
        }
        if (entry is not null && SameShapes(entry.InputShapes, inputShapes))
        {
            size = entry.Size;
            return true;
        }
        size = 0;
        return false;
    }

    /// <summary>Records that <paramref name="function"/> returned <paramref name="size"/> elements for inputs of <paramref name="inputShapes"/> (kept, not copied).</summary>
    public static void Record(Delegate function, long[][] inputShapes, long size)
    {
        Dictionary<MethodInfo, Entry> table = TableOf(function);
        var entry = new Entry(inputShapes, size);
        lock (table)
        {
            table[function.Method] = entry;
        }
    }

    private static Dictionary<MethodInfo, Entry> TableOf(Delegate function) =>
        function.Target is { } target ? s_byTarget.GetOrCreateValue(target) : s_static;

    private static bool SameShapes(long[][] a, long[][] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (int i = 0; i < a.Length; i++)
        {
            if (!a[i].AsSpan().SequenceEqual(b[i]))
            {
                return false;
            }
        }
        return true;
    }
}
