using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>_str_intern</c> and <c>_tensor_str_with_formatter</c> for dense real tensors: the <c>tensor(</c> prefix,
/// nested rows, summarisation, line wrapping and suffixes.
/// </summary>
/// <remarks>Stateless, thread-safe.</remarks>
internal static class TensorRepr
{
    private const string Prefix = "tensor(";

    /// <summary>The text of <c>repr(t)</c> under <paramref name="options"/>.</summary>
    internal static string Format(Tensor t, ReprOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Precision, "options.Precision");
        ArgumentOutOfRangeException.ThrowIfNegative(options.EdgeItems, "options.EdgeItems");

        ScalarType dtype = t.dtype;
        string dtypeName = DtypeName(dtype);
        Device device = t.device;
        long[] shape = ShapeOf(t);
        long numel = 1;
        foreach (long size in shape)
        {
            numel *= size;
        }

        var suffixes = new List<string>(4);
        // PyTorch prints the device whenever it is not the default device, the CPU.
        if (device.type != DeviceType.CPU)
        {
            suffixes.Add($"device='{device}'");
        }

        var text = new StringBuilder(Prefix);
        if (numel == 0)
        {
            // NumPy's convention: the shape is shown unless it is (0,); and with no element to tell an int64 tensor
            // from a float one, every dtype but the default float32 is shown.
            if (shape.Length != 1)
            {
                suffixes.Add("size=" + ShapeTuple(shape));
            }
            if (dtype != ScalarType.Float32)
            {
                suffixes.Add("dtype=" + dtypeName);
            }
            text.Append("[]");
        }
        else
        {
            if (dtype is not (ScalarType.Float32 or ScalarType.Int64 or ScalarType.Bool))
            {
                suffixes.Add("dtype=" + dtypeName);
            }
            bool summarize = numel > options.Threshold;
            ReprData data = ReprData.Read(t, shape, summarize, options.EdgeItems);
            TensorFormatter formatter = data.Kind switch
            {
                ReprData.ElementKind.Float => TensorFormatter.ForFloats(data.Floats, options),
                ReprData.ElementKind.Integer => TensorFormatter.ForIntegers(data.Integers),
                _ => TensorFormatter.ForBools(data.Bools),
            };
            new Layout(text, data, formatter, options).Write(0, 0, Prefix.Length);
        }

        if (GradFnNameForRepr.GradFnNameOf(t) is { } gradFn)
        {
            suffixes.Add($"grad_fn=<{gradFn}>");
        }
        else if (t.requires_grad)
        {
            suffixes.Add("requires_grad=True");
        }

        AppendSuffixes(text, suffixes, Prefix.Length, options.LineWidth);
        // nn.Parameter's own __repr__ puts a header line above the tensor's text.
        return t is TorchSharp.Modules.Parameter ? "Parameter containing:\n" + text : text.ToString();
    }

    /// <summary>The sizes, one native call each: TorchSharp's <c>shape</c> marshals through a callback, ten times slower.</summary>
    private static long[] ShapeOf(Tensor t)
    {
        long[] shape = new long[t.Dimensions];
        for (int d = 0; d < shape.Length; d++)
        {
            shape[d] = t.size(d);
        }
        return shape;
    }

    /// <summary>PyTorch's <c>str(dtype)</c> for the real dtypes it can print.</summary>
    internal static string DtypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float16 => "torch.float16",
        ScalarType.BFloat16 => "torch.bfloat16",
        ScalarType.Float32 => "torch.float32",
        ScalarType.Float64 => "torch.float64",
        ScalarType.Byte => "torch.uint8",
        ScalarType.Int8 => "torch.int8",
        ScalarType.Int16 => "torch.int16",
        ScalarType.Int32 => "torch.int32",
        ScalarType.Int64 => "torch.int64",
        ScalarType.Bool => "torch.bool",
        _ => throw new NotSupportedException($"Repr prints tensors of real element types; this tensor's element type is {dtype}."),
    };

    /// <summary>Python's <c>str(tuple(shape))</c>: <c>(0, 3)</c>, <c>(0,)</c>.</summary>
    private static string ShapeTuple(long[] shape) => shape.Length == 1
        ? $"({shape[0].ToString(CultureInfo.InvariantCulture)},)"
        : "(" + string.Join(", ", shape.Select(s => s.ToString(CultureInfo.InvariantCulture))) + ")";

    /// <summary>PyTorch's <c>_add_suffixes</c>: a suffix that would pass the line width starts a new line.</summary>
    private static void AppendSuffixes(StringBuilder text, List<string> suffixes, int indent, int lineWidth)
    {
        int lastNewline = -1;
        for (int i = text.Length - 1; i >= 0; i--)
        {
            if (text[i] == '\n')
            {
                lastNewline = i;
                break;
            }
        }
        // PyTorch's own arithmetic, off by two from the visible length; kept because it decides the wrapping.
        int lastLineLength = text.Length - lastNewline + 1;
        foreach (string suffix in suffixes)
        {
            if (lastLineLength + suffix.Length + 2 > lineWidth)
            {
                text.Append(",\n").Append(' ', indent).Append(suffix);
                lastLineLength = indent + suffix.Length;
            }
            else
            {
                text.Append(", ").Append(suffix);
                lastLineLength += suffix.Length + 2;
            }
        }
        text.Append(')');
    }

    /// <summary>Writes the nested brackets of the gathered elements.</summary>
    private readonly struct Layout(StringBuilder text, ReprData data, TensorFormatter formatter, ReprOptions options)
    {
        /// <summary>Writes dimension <paramref name="level"/> from element <paramref name="first"/> at <paramref name="indent"/>.</summary>
        internal void Write(int level, int first, int indent)
        {
            int rank = data.Dims.Length;
            if (rank == 0)
            {
                formatter.Append(text, 0);
                return;
            }
            int count = data.Dims[level];
            int split = data.Splits[level];
            if (level == rank - 1)
            {
                WriteRow(first, count, split, indent);
                return;
            }

            int rowSize = 1;
            for (int d = level + 1; d < rank; d++)
            {
                rowSize *= data.Dims[d];
            }
            int remaining = rank - level;
            text.Append('[');
            for (int i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    AppendSeparator(remaining, indent);
                }
                if (i == split)
                {
                    text.Append("...");
                    AppendSeparator(remaining, indent);
                }
                Write(level + 1, first + i * rowSize, indent + 1);
            }
            text.Append(']');
        }

        private void AppendSeparator(int remaining, int indent) =>
            text.Append(',').Append('\n', remaining - 1).Append(' ', indent + 1);

        /// <summary>PyTorch's <c>_vector_str</c>: as many elements a line as fit the line width, <c>" ..."</c> counting as one.</summary>
        private void WriteRow(int first, int count, int split, int indent)
        {
            int elementLength = formatter.Width + 2;
            int perLine = Math.Max(1, (int)Math.Floor((options.LineWidth - indent) / (double)elementLength));
            text.Append('[');
            int onLine = 0;
            int items = count + (split >= 0 ? 1 : 0);
            int element = first;
            for (int item = 0; item < items; item++)
            {
                if (item > 0)
                {
                    if (onLine == perLine)
                    {
                        text.Append(",\n").Append(' ', indent + 1);
                        onLine = 0;
                    }
                    else
                    {
                        text.Append(", ");
                    }
                }
                if (item == split)
                {
                    text.Append(" ...");
                }
                else
                {
                    formatter.Append(text, element++);
                }
                onLine++;
            }
            text.Append(']');
        }
    }
}
