using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// A tensor's sizes without TorchSharp's <c>Tensor.shape</c>, which marshals a managed delegate as the native side's
/// array allocator and pins an array on every call: it costs more than a 64×64 <c>mv</c>, and the functional API
/// reads shapes several times a call (numbers: tests/AutogradKit.Benchmarks/README.md, "Costs the code relies on").
/// </summary>
/// <remarks>Thread-safety: safe from any thread for a tensor that is not being disposed.</remarks>
internal static class TensorShape
{
    /// <summary>The sizes of <paramref name="t"/>, as <c>t.shape</c> returns them.</summary>
    public static long[] Of(Tensor t)
    {
        IntPtr handle = t.Handle;
        var shape = new long[NativeMethods.THSTensor_ndimension(handle)];
        for (int d = 0; d < shape.Length; d++)
        {
            shape[d] = NativeMethods.THSTensor_size(handle, d);
        }
        GC.KeepAlive(t);
        return shape;
    }

    /// <summary>The number of dimensions of <paramref name="t"/> (<c>t.dim()</c>).</summary>
    public static long Rank(Tensor t)
    {
        long rank = NativeMethods.THSTensor_ndimension(t.Handle);
        GC.KeepAlive(t);
        return rank;
    }

    /// <summary>The size of dimension <paramref name="dim"/> of <paramref name="t"/>, which the caller has checked is in <c>[0, rank)</c>.</summary>
    public static long Size(Tensor t, long dim)
    {
        long size = NativeMethods.THSTensor_size(t.Handle, dim);
        GC.KeepAlive(t);
        return size;
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> have the same sizes, without allocating.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        IntPtr ha = a.Handle;
        IntPtr hb = b.Handle;
        long rank = NativeMethods.THSTensor_ndimension(ha);
        bool same = rank == NativeMethods.THSTensor_ndimension(hb);
        for (long d = 0; same && d < rank; d++)
        {
            same = NativeMethods.THSTensor_size(ha, d) == NativeMethods.THSTensor_size(hb, d);
        }
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        return same;
    }
}
