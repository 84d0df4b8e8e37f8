using System.Text;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>_Formatter</c>: decides from the printed elements whether floats print as integers (<c>4.</c>),
/// fixed-point or scientific, and the column width every element is padded to.
/// </summary>
/// <remarks>
/// Each element is formatted once, into one shared char buffer; the width comes from those texts whenever the
/// notation PyTorch measures with is the one it prints with (always, unless <see cref="ReprOptions.SciMode"/>
/// overrides it). Not thread-safe: one instance serves one <c>Repr</c> call.
/// </remarks>
internal sealed class TensorFormatter
{
    private enum Notation { IntegralFloat, Fixed, Scientific }

    private char[] _text;
    private int _used;
    private readonly int[] _start;
    private readonly int[] _length;

    /// <summary>The width every element is padded to on the left (PyTorch's <c>max_width</c>).</summary>
    internal int Width { get; private set; } = 1;

    private TensorFormatter(int count, int precision)
    {
        _start = new int[count];
        _length = new int[count];
        _text = new char[Math.Max(PythonNumberFormat.MaxLength(precision) + 1, count * (precision + 8))];
    }

    /// <summary>A formatter for the gathered (summarised) elements of a floating-point tensor, as doubles.</summary>
    internal static TensorFormatter ForFloats(ReadOnlySpan<double> values, ReprOptions options)
    {
        int precision = options.Precision;
        bool intMode = true;
        bool any = false;
        double min = double.PositiveInfinity, max = 0;
        foreach (double v in values)
        {
            if (v == 0 || !double.IsFinite(v))
            {
                continue;
            }
            any = true;
            double a = Math.Abs(v);
            min = Math.Min(min, a);
            max = Math.Max(max, a);
            intMode &= v == Math.Ceiling(v);
        }

        // PyTorch returns before looking at sci_mode when no element is a nonzero finite number.
        Notation measured = Notation.IntegralFloat;
        Notation printed = Notation.IntegralFloat;
        if (any)
        {
            bool sci = max / min > 1000.0 || max > 1.0e8 || (!intMode && min < 1.0e-4);
            measured = sci ? Notation.Scientific : intMode ? Notation.IntegralFloat : Notation.Fixed;
            bool printSci = options.SciMode ?? sci;
            printed = printSci ? Notation.Scientific : intMode ? Notation.IntegralFloat : Notation.Fixed;
        }

        var formatter = new TensorFormatter(values.Length, precision);
        int printedWidth = 1;
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            int n = Write(v, printed, precision, formatter.Reserve(PythonNumberFormat.MaxLength(precision) + 1));
            formatter.Commit(i, n);
            if (v != 0 && double.IsFinite(v))
            {
                printedWidth = Math.Max(printedWidth, n);
            }
        }
        if (measured == printed)
        {
            formatter.Width = printedWidth;
            return formatter;
        }

        // The width is measured in the notation PyTorch chose, the text printed in the one the options force.
        Span<char> scratch = new char[PythonNumberFormat.MaxLength(precision) + 1];
        int width = 1;
        foreach (double v in values)
        {
            if (v != 0 && double.IsFinite(v))
            {
                width = Math.Max(width, Write(v, measured, precision, scratch));
            }
        }
        formatter.Width = width;
        return formatter;
    }

    /// <summary>A formatter for the gathered elements of an integer tensor: <c>'{}'.format(value)</c>, widest of all.</summary>
    internal static TensorFormatter ForIntegers(ReadOnlySpan<long> values)
    {
        var formatter = new TensorFormatter(values.Length, 0);
        int width = 1;
        for (int i = 0; i < values.Length; i++)
        {
            int n = PythonNumberFormat.WriteInteger(values[i], formatter.Reserve(20));
            formatter.Commit(i, n);
            width = Math.Max(width, n);
        }
        formatter.Width = width;
        return formatter;
    }

    /// <summary>A formatter for the gathered elements of a bool tensor: <c>True</c> / <c>False</c>.</summary>
    internal static TensorFormatter ForBools(ReadOnlySpan<bool> values)
    {
        var formatter = new TensorFormatter(values.Length, 0);
        int width = 1;
        for (int i = 0; i < values.Length; i++)
        {
            string text = values[i] ? "True" : "False";
            text.CopyTo(formatter.Reserve(5));
            formatter.Commit(i, text.Length);
            width = Math.Max(width, text.Length);
        }
        formatter.Width = width;
        return formatter;
    }

    /// <summary>
    /// Appends element <paramref name="index"/> as the imaginary part of a complex number, as PyTorch's
    /// <c>_val_formatter</c> does: unpadded, with a <c>+</c> unless its text starts with a sign, then <c>j</c>
    /// (<c>+2.j</c>, <c>-0.j</c>, <c>+nanj</c>).
    /// </summary>
    internal void AppendImaginary(StringBuilder builder, int index)
    {
        char first = _text[_start[index]];
        if (first is not ('+' or '-'))
        {
            builder.Append('+');
        }
        builder.Append(_text, _start[index], _length[index]).Append('j');
    }

    /// <summary>Appends element <paramref name="index"/>, padded on the left to <see cref="Width"/>.</summary>
    internal void Append(StringBuilder builder, int index)
    {
        int length = _length[index];
        if (length < Width)
        {
            builder.Append(' ', Width - length);
        }
        builder.Append(_text, _start[index], length);
    }

    private static int Write(double value, Notation notation, int precision, Span<char> destination)
    {
        switch (notation)
        {
            case Notation.Scientific:
                return PythonNumberFormat.WriteScientific(value, precision, destination);
            case Notation.IntegralFloat:
                int n = PythonNumberFormat.WriteFixed(value, 0, destination);
                if (double.IsFinite(value))
                {
                    // A trailing point says the integral values are floats.
                    destination[n++] = '.';
                }
                return n;
            default:
                return PythonNumberFormat.WriteFixed(value, precision, destination);
        }
    }

    private Span<char> Reserve(int length)
    {
        if (_text.Length - _used < length)
        {
            Array.Resize(ref _text, Math.Max(_text.Length * 2, _used + length));
        }
        return _text.AsSpan(_used);
    }

    private void Commit(int index, int length)
    {
        _start[index] = _used;
        _length[index] = length;
        _used += length;
    }
}
