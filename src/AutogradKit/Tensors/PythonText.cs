using System.Text;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>How Python prints the small values that appear in PyTorch's error texts.</summary>
/// <remarks>Stateless; safe to use from any thread.</remarks>
internal static class PythonText
{
    /// <summary><c>str(torch.Size(shape))</c>: <c>torch.Size([2, 3])</c>, <c>torch.Size([])</c> for a scalar.</summary>
    internal static string Size(ReadOnlySpan<long> shape)
    {
        var text = new StringBuilder("torch.Size([");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                text.Append(", ");
            }
            text.Append(shape[i]);
        }
        return text.Append("])").ToString();
    }

    /// <summary>
    /// Python's <c>repr(float)</c>: the shortest round-trip digits, positional for decimal exponents −4 to 15
    /// (<c>4.0</c>, <c>0.0001</c>), scientific otherwise (<c>1e-06</c>, <c>1.5e+16</c>); <c>nan</c>, <c>inf</c>.
    /// </summary>
    internal static string Float(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }
        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }
        // "E16" gives 17 significant digits; "R" the shortest that round-trip: take its digits, compute the exponent.
        string shortest = Math.Abs(value).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        int exponent;
        string mantissa;
        int e = shortest.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            mantissa = shortest[..e];
            exponent = int.Parse(shortest[(e + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            mantissa = shortest;
            exponent = 0;
        }
        int dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        string intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        string digits = (intPart + (dot >= 0 ? mantissa[(dot + 1)..] : "")).TrimStart('0');
        int leadingZeros = (intPart + (dot >= 0 ? mantissa[(dot + 1)..] : "")).Length - digits.Length;
        // Decimal exponent of the first significant digit.
        int exp10 = value == 0 ? 0 : exponent + intPart.Length - 1 - leadingZeros;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }
        string sign = value < 0 || (value == 0 && double.IsNegative(value)) ? "-" : "";
        if (exp10 is < -4 or >= 16)
        {
            string m = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return $"{sign}{m}e{(exp10 < 0 ? "-" : "+")}{Math.Abs(exp10):00}";
        }
        if (exp10 < 0)
        {
            return sign + "0." + new string('0', -exp10 - 1) + digits;
        }
        string whole = digits.Length > exp10 + 1 ? digits[..(exp10 + 1)] : digits.PadRight(exp10 + 1, '0');
        string fraction = digits.Length > exp10 + 1 ? digits[(exp10 + 1)..] : "0";
        return $"{sign}{whole}.{fraction}";
    }

    /// <summary>
    /// Python's <c>t.type()</c>, the legacy type name PyTorch's hook checks print: <c>torch.FloatTensor</c>,
    /// <c>torch.cuda.DoubleTensor</c>, …
    /// </summary>
    internal static string LegacyTypeName(Tensor t)
    {
        string name = t.dtype switch
        {
            ScalarType.Byte => "ByteTensor",
            ScalarType.Int8 => "CharTensor",
            ScalarType.Int16 => "ShortTensor",
            ScalarType.Int32 => "IntTensor",
            ScalarType.Int64 => "LongTensor",
            ScalarType.Float16 => "HalfTensor",
            ScalarType.BFloat16 => "BFloat16Tensor",
            ScalarType.Float32 => "FloatTensor",
            ScalarType.Float64 => "DoubleTensor",
            ScalarType.ComplexFloat32 => "ComplexFloatTensor",
            ScalarType.ComplexFloat64 => "ComplexDoubleTensor",
            ScalarType.Bool => "BoolTensor",
            _ => t.dtype + "Tensor",
        };
        return t.device_type == TorchSharp.DeviceType.CPU ? "torch." + name : $"torch.{t.device_type.ToString().ToLowerInvariant()}.{name}";
    }

    /// <summary><c>str(dtype)</c>: <c>torch.float32</c>, <c>torch.complex64</c>, …</summary>
    internal static string DType(ScalarType dtype) => dtype switch
    {
        ScalarType.Byte => "torch.uint8",
        ScalarType.Int8 => "torch.int8",
        ScalarType.Int16 => "torch.int16",
        ScalarType.Int32 => "torch.int32",
        ScalarType.Int64 => "torch.int64",
        ScalarType.Float16 => "torch.float16",
        ScalarType.Float32 => "torch.float32",
        ScalarType.Float64 => "torch.float64",
        ScalarType.ComplexFloat32 => "torch.complex64",
        ScalarType.ComplexFloat64 => "torch.complex128",
        ScalarType.Bool => "torch.bool",
        ScalarType.QInt8 => "torch.qint8",
        ScalarType.QUInt8 => "torch.quint8",
        ScalarType.QInt32 => "torch.qint32",
        ScalarType.BFloat16 => "torch.bfloat16",
        _ => "torch." + dtype.ToString().ToLowerInvariant(),
    };
}
