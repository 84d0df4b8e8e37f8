using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// Copies elements of a CPU tensor out of its native storage into managed arrays, for <c>Repr</c>: one read of
/// <c>data_ptr()</c> (TorchSharp's <c>THSTensor_data</c>, which TorchSharp itself does not expose for every dtype),
/// then a copy of exactly the elements asked for, converted to <see cref="double"/>, <see cref="long"/> or
/// <see cref="bool"/>.
/// </summary>
/// <remarks>
/// The caller passes element offsets computed from the tensor's own sizes and strides (or null for a contiguous
/// run), so every read stays inside the tensor's elements. Thread-safe: reads only; the tensor is kept alive and must
/// not be resized meanwhile.
/// </remarks>
internal static unsafe class NativeTensorData
{
    /// <summary>The floating-point elements (float16, bfloat16, float32, float64) at <paramref name="offsets"/>, as doubles.</summary>
    internal static double[] ReadFloats(Tensor cpu, long[]? offsets, int count)
    {
        byte* data = Data(cpu);
        var values = new double[count];
        switch (cpu.dtype)
        {
            case ScalarType.Float32:
                for (int i = 0; i < count; i++)
                {
                    values[i] = ((float*)data)[At(offsets, i)];
                }
                break;
            case ScalarType.Float64:
                for (int i = 0; i < count; i++)
                {
                    values[i] = ((double*)data)[At(offsets, i)];
                }
                break;
            case ScalarType.Float16:
                for (int i = 0; i < count; i++)
                {
                    values[i] = (double)((Half*)data)[At(offsets, i)];
                }
                break;
            case ScalarType.BFloat16:
                // bfloat16 is the upper half of a float32.
                for (int i = 0; i < count; i++)
                {
                    values[i] = BitConverter.Int32BitsToSingle(((ushort*)data)[At(offsets, i)] << 16);
                }
                break;
            default:
                throw new ArgumentException($"ReadFloats reads floating-point tensors, not {cpu.dtype}.", nameof(cpu));
        }
        GC.KeepAlive(cpu);
        return values;
    }

    /// <summary>
    /// The complex elements (complex64, complex128) at <paramref name="offsets"/> (in complex elements), as real and
    /// imaginary parts. The tensor's conjugate and negative bits must have been resolved.
    /// </summary>
    internal static (double[] Real, double[] Imag) ReadComplex(Tensor cpu, long[]? offsets, int count)
    {
        byte* data = Data(cpu);
        var real = new double[count];
        var imag = new double[count];
        switch (cpu.dtype)
        {
            case ScalarType.ComplexFloat32:
                for (int i = 0; i < count; i++)
                {
                    float* element = (float*)data + 2 * At(offsets, i);
                    real[i] = element[0];
                    imag[i] = element[1];
                }
                break;
            case ScalarType.ComplexFloat64:
                for (int i = 0; i < count; i++)
                {
                    double* element = (double*)data + 2 * At(offsets, i);
                    real[i] = element[0];
                    imag[i] = element[1];
                }
                break;
            default:
                throw new ArgumentException($"ReadComplex reads complex64 and complex128 tensors, not {cpu.dtype}.", nameof(cpu));
        }
        GC.KeepAlive(cpu);
        return (real, imag);
    }

    /// <summary>The integer elements (uint8, int8, int16, int32, int64) at <paramref name="offsets"/>, as longs.</summary>
    internal static long[] ReadIntegers(Tensor cpu, long[]? offsets, int count)
    {
        byte* data = Data(cpu);
        ScalarType dtype = cpu.dtype;
        var values = new long[count];
        for (int i = 0; i < count; i++)
        {
            long at = At(offsets, i);
            values[i] = dtype switch
            {
                ScalarType.Byte => data[at],
                ScalarType.Int8 => ((sbyte*)data)[at],
                ScalarType.Int16 => ((short*)data)[at],
                ScalarType.Int32 => ((int*)data)[at],
                ScalarType.Int64 => ((long*)data)[at],
                _ => throw new ArgumentException($"ReadIntegers reads integer tensors, not {dtype}.", nameof(cpu)),
            };
        }
        GC.KeepAlive(cpu);
        return values;
    }

    /// <summary>The bool elements at <paramref name="offsets"/>.</summary>
    internal static bool[] ReadBools(Tensor cpu, long[]? offsets, int count)
    {
        if (cpu.dtype != ScalarType.Bool)
        {
            throw new ArgumentException($"ReadBools reads bool tensors, not {cpu.dtype}.", nameof(cpu));
        }
        byte* data = Data(cpu);
        var values = new bool[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = data[At(offsets, i)] != 0;
        }
        GC.KeepAlive(cpu);
        return values;
    }

    private static long At(long[]? offsets, int i) => offsets is null ? i : offsets[i];

    /// <summary><c>tensor.data_ptr()</c>: the address of the first element (storage offset included); CPU tensors only.</summary>
    private static byte* Data(Tensor cpu)
    {
        ObjectDisposedException.ThrowIf(cpu.IsInvalid, cpu);
        if (cpu.device_type != DeviceType.CPU)
        {
            throw new ArgumentException($"Only a CPU tensor's elements can be read, not a {cpu.device_type} one's.", nameof(cpu));
        }
        byte* data = (byte*)NativeMethods.DataPointer(cpu);
        return data != null ? data : throw new InvalidOperationException("The tensor has no storage to read elements from.");
    }
}
