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
    private sealed class Entry(long[] signature, long size)
    {
        public long[] Signature { get; } = signature;

        public long Size { get; } = size;
    }

    private static readonly ConditionalWeakTable<object, Dictionary<MethodInfo, Entry>> s_byTarget = new();
    private static readonly Dictionary<MethodInfo, Entry> s_static = [];

    /// <summary>The output size last recorded for <paramref name="function"/> on inputs shaped like <paramref name="inputs"/>.</summary>
    public static bool TryGet(Delegate function, TorchSharp.torch.Tensor[] inputs, out long size)
    {
        Dictionary<MethodInfo, Entry> table = TableOf(function);
        Entry? entry;
        lock (table)
        {
            table.TryGetValue(function.Method, out entry);
        }
        if (entry is not null && Matches(entry.Signature, inputs))
        {
            size = entry.Size;
            return true;
        }
        size = 0;
        return false;
    }

    /// <summary>Records that <paramref name="function"/> returned <paramref name="size"/> elements for these inputs.</summary>
    public static void Record(Delegate function, TorchSharp.torch.Tensor[] inputs, long size)
    {
        Dictionary<MethodInfo, Entry> table = TableOf(function);
        var entry = new Entry(Signature(inputs), size);
        lock (table)
        {
            table[function.Method] = entry;
        }
    }

    private static Dictionary<MethodInfo, Entry> TableOf(Delegate function) =>
        function.Target is { } target ? s_byTarget.GetOrCreateValue(target) : s_static;

    // Each input's rank followed by its sizes: [2, 3, 4, 1, 5] for shapes (3, 4) and (5).
    private static long[] Signature(TorchSharp.torch.Tensor[] inputs)
    {
        var signature = new List<long>();
        foreach (TorchSharp.torch.Tensor input in inputs)
        {
            long[] shape = TensorShape.Of(input);
            signature.Add(shape.Length);
            signature.AddRange(shape);
        }
        return [.. signature];
    }

    private static bool Matches(long[] signature, TorchSharp.torch.Tensor[] inputs)
    {
        int at = 0;
        foreach (TorchSharp.torch.Tensor input in inputs)
        {
            long[] shape = TensorShape.Of(input);
            if (at + 1 + shape.Length > signature.Length || signature[at] != shape.Length
                || !shape.AsSpan().SequenceEqual(signature.AsSpan(at + 1, shape.Length)))
            {
                return false;
            }
            at += 1 + shape.Length;
        }
        return at == signature.Length;
    }
}
