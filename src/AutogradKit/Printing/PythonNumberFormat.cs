using System.Globalization;

namespace AutogradKit;

/// <summary>
/// Python's <c>'{:.Nf}'</c>, <c>'{:.Ne}'</c> and <c>'{}'</c> formatting of numbers, written into spans.
/// </summary>
/// <remarks>
/// .NET Core 3.0 and later format doubles from their exact binary value and round ties to even, as CPython does,
/// so the digits of <c>"F"</c>/<c>"E"</c> are Python's; only the spelling differs: the exponent (<c>E+005</c> versus
/// <c>e+05</c>) and the non-finite values (<c>NaN</c>, <c>Infinity</c> versus <c>nan</c>, <c>inf</c>). Stateless, thread-safe.
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
