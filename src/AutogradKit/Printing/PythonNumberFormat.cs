using System.Globalization;

namespace AutogradKit;

/// <summary>
/// Python's <c>'{:.Nf}'</c>, <c>'{:.Ne}'</c> and <c>'{}'</c> formatting of numbers, written into spans.
/// </summary>
/// <remarks>
/// Python rounds the exact binary value, ties to even. Most printed values take a fast path: the value is scaled by an
/// exactly representable power of ten and the rounding error of that one operation is recovered exactly with a fused
/// multiply-add, which settles every rounding decision, ties included, exactly. Everything else (very large or tiny
/// magnitudes, many digits) goes to .NET's <c>"F"</c>/<c>"E"</c>: .NET Core 3.0 and later also format the exact value with
/// ties to even, so their digits are Python's and only the spelling differs: the exponent (<c>E+005</c> versus
/// <c>e+05</c>) and the non-finite values (<c>NaN</c> versus <c>nan</c>). Stateless, thread-safe.
/// </remarks>
internal static class PythonNumberFormat
{
    private static readonly string[] FixedFormats = Enumerable.Range(0, 17).Select(p => "F" + p.ToString(CultureInfo.InvariantCulture)).ToArray();
    private static readonly string[] ScientificFormats = Enumerable.Range(0, 17).Select(p => "E" + p.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Room any fixed or scientific text of a double needs: 309 integer digits, sign, point, precision.</summary>
    internal static int MaxLength(int precision) => 320 + precision;

    /// <summary>Python's <c>'{:.{precision}f}'.format(value)</c>.</summary>
    internal static string Fixed(double value, int precision)
    {
        Span<char> buffer = new char[MaxLength(precision)];
        return new string(buffer[..WriteFixed(value, precision, buffer)]);
    }

    /// <summary>Python's <c>'{:.{precision}e}'.format(value)</c>.</summary>
    internal static string Scientific(double value, int precision)
    {
        Span<char> buffer = new char[MaxLength(precision)];
        return new string(buffer[..WriteScientific(value, precision, buffer)]);
    }

    /// <summary>Writes Python's fixed-point text of <paramref name="value"/>; <paramref name="destination"/> holds at least <see cref="MaxLength"/> chars.</summary>
    internal static int WriteFixed(double value, int precision, Span<char> destination)
    {
        if (!double.IsFinite(value))
        {
            return WriteNonFinite(value, destination);
        }
        if (TryRoundScaled(value, precision, out long digits))
        {
            return WriteDigits(double.IsNegative(value), digits, precision, destination);
        }
        return WriteFixedExact(value, precision, destination);
    }

    /// <summary>The slow, general path of <see cref="WriteFixed"/>: .NET's exact formatting.</summary>
    internal static int WriteFixedExact(double value, int precision, Span<char> destination)
    {
        string format = precision < FixedFormats.Length ? FixedFormats[precision] : "F" + precision.ToString(CultureInfo.InvariantCulture);
        if (!value.TryFormat(destination, out int written, format, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"The text of {value:R} with {precision} decimals did not fit {destination.Length} characters.");
        }
        return written;
    }

    /// <summary>Writes Python's exponent text of <paramref name="value"/> (<c>1.0000e-05</c>); <paramref name="destination"/> holds at least <see cref="MaxLength"/> chars.</summary>
    internal static int WriteScientific(double value, int precision, Span<char> destination)
    {
        if (!double.IsFinite(value))
        {
            return WriteNonFinite(value, destination);
        }
        if (TryScientificDigits(value, precision, out long digits, out int exponent))
        {
            int n = WriteDigits(double.IsNegative(value), digits, precision, destination);
            destination[n++] = 'e';
            destination[n++] = exponent < 0 ? '-' : '+';
            int magnitude = Math.Abs(exponent);
            if (magnitude < 10)
            {
                destination[n++] = '0';
            }
            magnitude.TryFormat(destination[n..], out int written, default, CultureInfo.InvariantCulture);
            return n + written;
        }
        return WriteScientificExact(value, precision, destination);
    }

    /// <summary>The slow, general path of <see cref="WriteScientific"/>: .NET's exact formatting, exponent respelt.</summary>
    internal static int WriteScientificExact(double value, int precision, Span<char> destination)
    {
        string format = precision < ScientificFormats.Length ? ScientificFormats[precision] : "E" + precision.ToString(CultureInfo.InvariantCulture);
        if (!value.TryFormat(destination, out int written, format, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"The text of {value:R} with {precision} decimals did not fit {destination.Length} characters.");
        }
        // .NET always writes three exponent digits (E+005); Python writes at least two (e+05).
        int e = destination[..written].IndexOf('E');
        destination[e] = 'e';
        int firstDigit = e + 2;
        int leadingZeros = 0;
        while (leadingZeros < written - firstDigit - 2 && destination[firstDigit + leadingZeros] == '0')
        {
            leadingZeros++;
        }
        if (leadingZeros > 0)
        {
            destination[(firstDigit + leadingZeros)..written].CopyTo(destination[firstDigit..]);
            written -= leadingZeros;
        }
        return written;
    }

    private static readonly double[] PowersOfTen =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

    private static readonly long[] LongPowersOfTen = Enumerable.Range(0, 19).Select(i => (long)Math.Pow(10, i)).ToArray();

    /// <summary>Scaled values below this are integers exactly, and their rounding grid is finer than one half.</summary>
    private const double FastLimit = 4503599627370496.0; // 2^52

    /// <summary>
    /// Rounds <c>|value| * 10^precision</c> to the nearest integer, ties to even, exactly — or says it cannot do so fast.
    /// </summary>
    private static bool TryRoundScaled(double value, int precision, out long digits)
    {
        digits = 0;
        if (precision >= PowersOfTen.Length)
        {
            return false;
        }
        double a = Math.Abs(value);
        double scale = PowersOfTen[precision];
        double product = a * scale;
        if (!(product < FastLimit))
        {
            return false;
        }
        // a * scale = product + error exactly, the error being the exact rounding error of the multiplication.
        double error = Math.FusedMultiplyAdd(a, scale, -product);
        digits = (long)RoundExact(product, error);
        return true;
    }

    /// <summary>
    /// The mantissa digits (<c>precision + 1</c> of them) and decimal exponent of <paramref name="value"/> rounded as
    /// Python's <c>'{:.Ne}'</c> does — or false where the fast exact method does not apply.
    /// </summary>
    private static bool TryScientificDigits(double value, int precision, out long digits, out int exponent)
    {
        digits = 0;
        double a = Math.Abs(value);
        exponent = a == 0 ? 0 : (int)Math.Floor(Math.Log10(a));
        if (precision > 15 || a != 0 && !double.IsNormal(a))
        {
            return false;
        }
        long low = LongPowersOfTen[precision], high = LongPowersOfTen[precision + 1];
        for (int attempt = 0; attempt < 3; attempt++)
        {
            int shift = precision - exponent;
            double rounded;
            if (shift >= 0)
            {
                if (shift >= PowersOfTen.Length)
                {
                    return false;
                }
                double scale = PowersOfTen[shift];
                double product = a * scale;
                if (!(product < FastLimit))
                {
                    // Beyond 2^52 the product's grid is coarser than one half: RoundExact cannot settle the rounding
                    // (at precision 15, mantissas from 9.007 round the wrong way about half the time).
                    return false;
                }
                rounded = RoundExact(product, Math.FusedMultiplyAdd(a, scale, -product));
            }
            else
            {
                if (-shift >= PowersOfTen.Length)
                {
                    return false;
                }
                double divisor = PowersOfTen[-shift];
                double quotient = a / divisor;
                if (!(quotient < FastLimit))
                {
                    return false;
                }
                // a = quotient * divisor + remainder exactly; the remainder's sign is the side the true quotient lies on.
                double remainder = Math.FusedMultiplyAdd(-quotient, divisor, a);
                rounded = RoundExact(quotient, remainder);
            }
            if (a == 0)
            {
                digits = 0;
                return true;
            }
            if (rounded >= high)
            {
                exponent++;
            }
            else if (rounded < low)
            {
                exponent--;
            }
            else
            {
                digits = (long)rounded;
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Rounds <c>approximation + correction</c> (the exact value, <paramref name="correction"/> no larger than half an ulp
    /// of <paramref name="approximation"/>, which is below 2^52) to the nearest integer, ties to even.
    /// </summary>
    private static double RoundExact(double approximation, double correction)
    {
        double nearest = Math.Round(approximation, MidpointRounding.ToEven);
        double offset = approximation - nearest; // exact: both lie on the grid of approximation's ulp
        if (Math.Abs(offset) != 0.5 || correction == 0)
        {
            // Strictly inside a rounding interval, at least one ulp from its edge, or an exact tie that Round settled.
            return nearest;
        }
        // The approximation sits on a half-integer; the exact value lies off it on the correction's side.
        return offset > 0 == correction > 0 ? nearest + Math.Sign(offset) : nearest;
    }

    /// <summary>Writes <c>[-]int.frac</c> from the integer <paramref name="digits"/> with <paramref name="precision"/> decimals.</summary>
    private static int WriteDigits(bool negative, long digits, int precision, Span<char> destination)
    {
        int n = 0;
        if (negative)
        {
            destination[n++] = '-';
        }
        long scale = LongPowersOfTen[Math.Min(precision, 18)];
        long whole = precision <= 18 ? digits / scale : 0;
        whole.TryFormat(destination[n..], out int written, default, CultureInfo.InvariantCulture);
        n += written;
        if (precision > 0)
        {
            destination[n++] = '.';
            long fraction = precision <= 18 ? digits - whole * scale : digits;
            for (int i = n + precision - 1; i >= n; i--)
            {
                destination[i] = (char)('0' + fraction % 10);
                fraction /= 10;
            }
            n += precision;
        }
        return n;
    }

    /// <summary>Writes Python's <c>str(int)</c>.</summary>
    internal static int WriteInteger(long value, Span<char> destination)
    {
        value.TryFormat(destination, out int written, default, CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>Writes <c>nan</c>, <c>inf</c> or <c>-inf</c>: Python prints non-finite values without decimals or exponent.</summary>
    private static int WriteNonFinite(double value, Span<char> destination)
    {
        // Python prints every NaN, whatever its sign bit, as "nan".
        string text = double.IsNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
        text.CopyTo(destination);
        return text.Length;
    }
}
