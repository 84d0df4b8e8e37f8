using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>_str_intern</c> and <c>_tensor_str_with_formatter</c> for dense real and complex tensors (and meta
/// tensors, which have no elements): the <c>tensor(</c> prefix, nested rows, summarisation, line wrapping and suffixes.
/// </summary>
/// <remarks>Stateless, thread-safe.</remarks>
internal static class TensorRepr
{
    private const string Prefix = "tensor(";

    /// <summary>
    /// What <c>Repr</c> prints in place of a node name it cannot read on this platform (see
    /// <see cref="GradSuffix"/>): the rest of the text stays PyTorch's.
    /// </summary>
    internal const string UnreadableGradFnName = "Unknown";

    /// <summary>The text of <c>repr(t)</c> under <paramref name="options"/>.</summary>
    internal static string Format(Tensor t, ReprOptions options) => Format(t, options, canReadNodes: null);

    /// <summary>
    /// <see cref="Format(Tensor, ReprOptions)"/> as on a platform where node names can (or cannot) be read, so that
    /// tests can take both paths; null asks <see cref="NativeGraph.CanReadNodes"/> (only for a tensor that requires
    /// grad, so printing anything else never runs the layout check); see <see cref="GradSuffix"/>.
    /// </summary>
    internal static string Format(Tensor t, ReprOptions options, bool? canReadNodes)
    {
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
        if (device.type == DeviceType.META)
        {
            // A meta tensor has no elements to print: PyTorch prints "..." and always the size, and the dtype unless
            // it is the default float32.
            suffixes.Add("size=" + ShapeTuple(shape));
            if (dtype != ScalarType.Float32)
            {
                suffixes.Add("dtype=" + dtypeName);
            }
            text.Append("...");
        }
        else if (numel == 0)
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
            // complex64 is the default complex dtype, as float32 is the default float one.
            if (dtype is not (ScalarType.Float32 or ScalarType.Int64 or ScalarType.Bool or ScalarType.ComplexFloat32))
            {
                suffixes.Add("dtype=" + dtypeName);
            }
            bool summarize = numel > options.Threshold;
            if (summarize && options.EdgeItems == 0 && shape.Length > 1)
            {
                // Every dimension is cut (all are non-empty here); PyTorch's stack then gets no rows.
                throw new ArgumentOutOfRangeException(nameof(options), $"EdgeItems 0 cannot summarise a tensor of {shape.Length} dimensions; PyTorch fails on it too (stack expects a non-empty TensorList).");
            }
            ReprData data = ReprData.Read(t, shape, summarize, options.EdgeItems);
            // A complex tensor's real and imaginary parts each get their own formatter, as in PyTorch.
            TensorFormatter formatter = data.Kind switch
            {
                ReprData.ElementKind.Float or ReprData.ElementKind.Complex => TensorFormatter.ForFloats(data.Floats, options),
                ReprData.ElementKind.Integer => TensorFormatter.ForIntegers(data.Integers),
                _ => TensorFormatter.ForBools(data.Bools),
            };
            TensorFormatter? imag = data.Kind == ReprData.ElementKind.Complex ? TensorFormatter.ForFloats(data.Imag, options) : null;
            new Layout(text, data, formatter, imag, options).Write(0, 0, Prefix.Length);
        }

        if (GradSuffix(t, canReadNodes) is { } gradSuffix)
        {
            suffixes.Add(gradSuffix);
        }

        AppendSuffixes(text, suffixes, Prefix.Length, options.LineWidth);
        // nn.Parameter's own __repr__ puts a header line above the tensor's text.
        return t is TorchSharp.Modules.Parameter ? "Parameter containing:\n" + text : text.ToString();
    }

    /// <summary>
    /// PyTorch's last suffix: <c>grad_fn=&lt;Name&gt;</c> for a tensor with a grad_fn, <c>requires_grad=True</c> for
    /// one that requires grad without, none otherwise — and, as PyTorch 2.1 and later print it, <c>grad_fn=&lt;Invalid&gt;</c>
    /// where reading the grad_fn raises (a view made in no-grad or inference mode whose base was then modified in place).
    /// </summary>
    /// <param name="t">The tensor.</param>
    /// <param name="canReadNodes">Whether node names can be read on this platform (null: <see cref="NativeGraph.CanReadNodes"/>;
    /// a parameter so that tests can take the other path). Where they cannot, a tensor with a grad_fn prints
    /// <c>grad_fn=&lt;Unknown&gt;</c>: only a tensor that requires grad and is not a leaf needs the name at all, and
    /// whether it is one is known on every platform.</param>
    internal static string? GradSuffix(Tensor t, bool? canReadNodes)
    {
        if (!t.requires_grad)
        {
            return null;
        }
        bool canRead = canReadNodes ?? NativeGraph.CanReadNodes;
        try
        {
            NativeGraph.CheckGradFnReadable(t, canRead);
        }
        catch (AutogradException)
        {
            return "grad_fn=<Invalid>";
        }
        if (canRead)
        {
            return GradFn.OfReadable(t) is { } fn ? $"grad_fn=<{fn.Name}>" : "requires_grad=True";
        }
        return NativeGraph.IsLeaf(t) ? "requires_grad=True" : $"grad_fn=<{UnreadableGradFnName}>";
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

    /// <summary>PyTorch's <c>str(dtype)</c> for the real and complex dtypes it can print.</summary>
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
        ScalarType.ComplexFloat32 => "torch.complex64",
        ScalarType.ComplexFloat64 => "torch.complex128",
        _ => throw new NotSupportedException($"Repr prints tensors of real and complex (complex64, complex128) element types; this tensor's element type is {dtype}."),
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
    private readonly struct Layout(StringBuilder text, ReprData data, TensorFormatter formatter, TensorFormatter? imag, ReprOptions options)
    {
        /// <summary>Writes dimension <paramref name="level"/> from element <paramref name="first"/> at <paramref name="indent"/>.</summary>
        internal void Write(int level, int first, int indent)
        {
            int rank = data.Dims.Length;
            if (rank == 0)
            {
                AppendElement(0);
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

        /// <summary>One element: the real part padded to its column, then for a complex tensor the imaginary part.</summary>
        private void AppendElement(int index)
        {
            formatter.Append(text, index);
            imag?.AppendImaginary(text, index);
        }

        private void AppendSeparator(int remaining, int indent) =>
            text.Append(',').Append('\n', remaining - 1).Append(' ', indent + 1);

        /// <summary>PyTorch's <c>_vector_str</c>: as many elements a line as fit the line width, <c>" ..."</c> counting as one.</summary>
        private void WriteRow(int first, int count, int split, int indent)
        {
            // A complex element counts its imaginary part's width and the "j" too.
            int elementLength = formatter.Width + 2 + (imag is null ? 0 : imag.Width + 1);
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
                    AppendElement(element++);
                }
                onLine++;
            }
            text.Append(']');
        }
    }
}
