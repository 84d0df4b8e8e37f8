using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The elements <c>Repr</c> prints, copied once into managed memory: PyTorch's <c>get_summarized_data</c> when the
/// tensor is summarised, the whole tensor otherwise, as doubles (floating dtypes, as PyTorch's <c>.item()</c> gives
/// them; complex dtypes as two arrays of real and imaginary parts), longs (integer dtypes) or bools, in row-major order.
/// </summary>
/// <remarks>Immutable after <see cref="Read"/>; not shared between calls.</remarks>
internal sealed class ReprData
{
    internal enum ElementKind { Float, Complex, Integer, Bool }

    private ReprData(ElementKind kind, int[] dims, int[] splits)
    {
        Kind = kind;
        Dims = dims;
        Splits = splits;
    }

    internal ElementKind Kind { get; }

    /// <summary>The size of each dimension of the gathered elements (edge items only, where summarised).</summary>
    internal int[] Dims { get; }

    /// <summary>For each dimension, how many leading items come before the <c>...</c>, or -1 when not summarised.</summary>
    internal int[] Splits { get; }

    /// <summary>The floating-point elements, or the real parts of the complex ones.</summary>
    internal double[] Floats { get; private init; } = [];

    /// <summary>The imaginary parts of the complex elements.</summary>
    internal double[] Imag { get; private init; } = [];

    internal long[] Integers { get; private init; } = [];

    internal bool[] Bools { get; private init; } = [];

    /// <summary>Copies the elements of <paramref name="t"/> that <c>Repr</c> prints.</summary>
    internal static ReprData Read(Tensor t, long[] shape, bool summarize, int edgeItems)
    {
        int rank = shape.Length;
        int[] dims = new int[rank];
        int[] splits = new int[rank];
        var keep = new List<int>(rank);
        for (int d = 0; d < rank; d++)
        {
            // PyTorch summarises a dimension only when it has more than twice the edge items.
            bool cut = summarize && shape[d] > 2L * edgeItems;
            // TensorRepr.Format rejects EdgeItems 0 on a summarised tensor of rank > 1 before calling this.
            Debug.Assert(!(cut && edgeItems == 0 && rank > 1), "EdgeItems 0 on a summarised multi-dimensional tensor");
            // With no edge items PyTorch's self[-0:] keeps the whole vector, after the "...".
            bool select = cut && edgeItems > 0;
            splits[d] = cut ? edgeItems : -1;
            long size = select ? 2L * edgeItems : shape[d];
            if (size > int.MaxValue)
            {
                throw new ArgumentException($"Repr cannot print {shape[d]} elements in one dimension without summarising; lower the threshold.", nameof(t));
            }
            dims[d] = (int)size;
            if (select)
            {
                keep.Add(d);
            }
        }

        long gathered = 1;
        foreach (int size in dims)
        {
            gathered *= size;
            if (gathered > Array.MaxLength)
            {
                throw new ArgumentException($"Repr cannot print {string.Join("x", shape)} elements without summarising; lower the threshold.", nameof(t));
            }
        }

        ScalarType dtype = t.dtype;
        bool onCpu = t.device.type == DeviceType.CPU;
        bool complex = dtype is ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64;
        if (onCpu && keep.Count == 0 && !t.is_neg() && !(complex && t.is_conj()) && IsReadable(dtype))
        {
            return Gather(t, dtype, dims, splits);
        }

        // Native work only where needed: select the edge items on the tensor's own device, then one copy to the CPU.
        using DisposeScope scope = NewDisposeScope();
        using IDisposable noGrad = no_grad();
        Tensor source = t;
        if (source.is_neg())
        {
            source = source.resolve_neg();
        }
        if (complex && source.is_conj())
        {
            source = source.resolve_conj();
        }
        foreach (int d in keep)
        {
            long size = shape[d];
            long[] indices = new long[2 * edgeItems];
            for (int i = 0; i < edgeItems; i++)
            {
                indices[i] = i;
                indices[edgeItems + i] = size - edgeItems + i;
            }
            source = source.index_select(d, tensor(indices, device: source.device));
        }
        if (source.device.type != DeviceType.CPU)
        {
            source = source.cpu();
        }
        if (!IsReadable(dtype))
        {
            source = source.to_type(ScalarType.Float64);
            dtype = ScalarType.Float64;
        }
        return Gather(source, dtype, dims, splits);
    }

    private static bool IsReadable(ScalarType dtype) => dtype is ScalarType.Float16 or ScalarType.BFloat16
        or ScalarType.Float32 or ScalarType.Float64 or ScalarType.Byte or ScalarType.Int8 or ScalarType.Int16
        or ScalarType.Int32 or ScalarType.Int64 or ScalarType.Bool or ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64;

    /// <summary>Reads a CPU tensor of shape <paramref name="dims"/> through its strides, converting each element.</summary>
    private static ReprData Gather(Tensor cpu, ScalarType dtype, int[] dims, int[] splits)
    {
        int count = 1;
        foreach (int size in dims)
        {
            count *= size;
        }
        long[]? offsets = ElementOffsets(dims, StridesOf(cpu));
        switch (dtype)
        {
            case ScalarType.Bool:
                return new ReprData(ElementKind.Bool, dims, splits) { Bools = NativeTensorData.ReadBools(cpu, offsets, count) };
            case ScalarType.Byte or ScalarType.Int8 or ScalarType.Int16 or ScalarType.Int32 or ScalarType.Int64:
                return new ReprData(ElementKind.Integer, dims, splits) { Integers = NativeTensorData.ReadIntegers(cpu, offsets, count) };
            case ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64:
                var (real, imag) = NativeTensorData.ReadComplex(cpu, offsets, count);
                return new ReprData(ElementKind.Complex, dims, splits) { Floats = real, Imag = imag };
            default:
                return new ReprData(ElementKind.Float, dims, splits) { Floats = NativeTensorData.ReadFloats(cpu, offsets, count) };
        }
    }

    private static long[] StridesOf(Tensor t)
    {
        long[] strides = new long[t.Dimensions];
        for (int d = 0; d < strides.Length; d++)
        {
            strides[d] = t.stride(d);
        }
        return strides;
    }

    private static long Offset(long[]? offsets, int i) => offsets is null ? i : offsets[i];

    /// <summary>The element offset of each row-major index, or null when the layout is contiguous (offset = index).</summary>
    private static long[]? ElementOffsets(int[] dims, long[] strides)
    {
        int rank = dims.Length;
        long expected = 1;
        bool contiguous = true;
        for (int d = rank - 1; d >= 0; d--)
        {
            if (dims[d] != 1 && strides[d] != expected)
            {
                contiguous = false;
                break;
            }
            expected *= dims[d];
        }
        if (contiguous)
        {
            return null;
        }

        int count = 1;
        foreach (int size in dims)
        {
            count *= size;
        }
        long[] offsets = new long[count];
        int[] index = new int[rank];
        long offset = 0;
        for (int i = 0; i < count; i++)
        {
            offsets[i] = offset;
            // Odometer: step the last index, carrying into earlier dimensions.
            for (int d = rank - 1; d >= 0; d--)
            {
                index[d]++;
                offset += strides[d];
                if (index[d] < dims[d])
                {
                    break;
                }
                offset -= strides[d] * dims[d];
                index[d] = 0;
            }
        }
        return offsets;
    }
}
