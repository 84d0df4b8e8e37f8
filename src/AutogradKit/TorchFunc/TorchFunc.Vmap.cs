using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's <c>torch.func</c> (functorch): function transforms that compose — <see cref="Vmap(Func{Tensor, Tensor}, int, int, Randomness, int?)"/>,
/// <c>Grad</c>, and those built on them — running on libtorch's own functorch machinery
/// (its dynamic layers, batching rules and grad wrappers), as PyTorch's do.
/// </summary>
/// <remarks>
/// <para>Transforms nest: <c>Vmap(Vmap(f))</c>, <c>Vmap(Grad(loss), [null, 0, 0])</c> (per-sample gradients),
/// <c>Jacrev(Jacrev(f))</c>. Inside a transform, f sees one example (or wrapped tensors) and may do anything PyTorch's
/// transforms allow; what they refuse (<c>.item()</c>, data-dependent control flow on a batched value, a random
/// operation under <see cref="Randomness.Error"/>) is an <see cref="AutogradException"/> with PyTorch's message, and
/// the transform's levels are always closed again, also when f throws.</para>
/// <para>Thread-safety: the returned functions may be called from several threads at once; each call's levels belong to
/// its thread (libtorch's layer stack is thread-local), so f must not hand tensors of a running transform to other
/// threads.</para>
/// </remarks>
public static partial class TorchFunc
{
    /// <summary>
    /// <c>torch.func.vmap(f, in_dims, out_dims, randomness, chunk_size)</c> for a function of one tensor: maps
    /// <paramref name="f"/> over dimension <paramref name="inDim"/> of its input, as if it were called on each slice and
    /// the results stacked along <paramref name="outDim"/> — but in one batched call.
    /// </summary>
    /// <param name="f">The function of one example; it sees the input without the mapped dimension.</param>
    /// <param name="inDim">The input's dimension to map over (negative counts from the end).</param>
    /// <param name="outDim">Where the mapped dimension goes in the output (negative counts from the end).</param>
    /// <param name="randomness">What random operations inside <paramref name="f"/> do.</param>
    /// <param name="chunkSize">Map at most this many examples at once (null: all of them).</param>
    /// <returns>The mapped function. Its errors: <see cref="ArgumentException"/> for an input that does not fit
    /// <paramref name="inDim"/> (PyTorch's <c>ValueError</c> text), <see cref="AutogradException"/> for what vmap refuses
    /// inside <paramref name="f"/> or libtorch's errors; an exception of <paramref name="f"/> passes through.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunkSize"/> is not positive, or <paramref name="randomness"/> is not defined.</exception>
    /// <example>
    /// <code>
    /// Func&lt;Tensor, Tensor&gt; rowNorms = TorchFunc.Vmap(row =&gt; row.norm());  // [B, n] → [B]
    /// </code>
    /// </example>
    public static Func<Tensor, Tensor> Vmap(Func<Tensor, Tensor> f, int inDim = 0, int outDim = 0, Randomness randomness = Randomness.Error, int? chunkSize = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        var plan = new VmapPlan(FunctionName(f), [inDim], Repr(inDim), null, outDim, Repr(outDim), randomness, chunkSize);
        return x =>
        {
            ArgumentNullException.ThrowIfNull(x);
            return plan.Run(args => [f(args[0])], [x])[0];
        };
    }

    /// <summary>
    /// <c>torch.func.vmap(f, in_dims, out_dims, …)</c> for a function of several tensors and one result:
    /// <paramref name="inDims"/> gives each input's mapped dimension, or null for an input passed to every example whole.
    /// </summary>
    /// <param name="f">The function of one example.</param>
    /// <param name="inDims">One entry per input: its mapped dimension, or null (not batched).</param>
    /// <param name="outDim">Where the mapped dimension goes in the output.</param>
    /// <param name="randomness">What random operations inside <paramref name="f"/> do.</param>
    /// <param name="chunkSize">Map at most this many examples at once (null: all of them).</param>
    /// <returns>The mapped function (errors as for the one-input overload).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or <paramref name="inDims"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunkSize"/> is not positive, or <paramref name="randomness"/> is not defined.</exception>
    public static Func<Tensor[], Tensor> Vmap(Func<Tensor[], Tensor> f, int?[] inDims, int outDim = 0, Randomness randomness = Randomness.Error, int? chunkSize = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inDims);
        var plan = new VmapPlan(FunctionName(f), (int?[])inDims.Clone(), Repr(inDims), null, outDim, Repr(outDim), randomness, chunkSize);
        return args =>
        {
            ArgumentNullException.ThrowIfNull(args);
            return plan.Run(a => [f(a)], args)[0];
        };
    }

    /// <summary>
    /// <c>torch.func.vmap(f, in_dims, out_dims, …)</c> for a function of several tensors and several results, one
    /// entry of <paramref name="outDims"/> per result.
    /// </summary>
    /// <param name="f">The function of one example.</param>
    /// <param name="inDims">One entry per input: its mapped dimension, or null (not batched).</param>
    /// <param name="outDims">One entry per result: where the mapped dimension goes.</param>
    /// <param name="randomness">What random operations inside <paramref name="f"/> do.</param>
    /// <param name="chunkSize">Map at most this many examples at once (null: all of them).</param>
    /// <returns>The mapped function (errors as for the one-input overload).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/>, <paramref name="inDims"/> or <paramref name="outDims"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunkSize"/> is not positive, or <paramref name="randomness"/> is not defined.</exception>
    public static Func<Tensor[], Tensor[]> Vmap(Func<Tensor[], Tensor[]> f, int?[] inDims, int[] outDims, Randomness randomness = Randomness.Error, int? chunkSize = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inDims);
        ArgumentNullException.ThrowIfNull(outDims);
        var plan = new VmapPlan(FunctionName(f), (int?[])inDims.Clone(), Repr(inDims), (int[])outDims.Clone(), 0, Repr(outDims), randomness, chunkSize);
        return args =>
        {
            ArgumentNullException.ThrowIfNull(args);
            return plan.Run(f, args);
        };
    }

    /// <summary>Python's <c>func.__name__</c> for a delegate: the method's name, or <c>&lt;lambda&gt;</c> for a lambda.</summary>
    internal static string FunctionName(Delegate f)
    {
        string name = f.Method.Name;
        return name.Contains('<', StringComparison.Ordinal) ? "<lambda>" : name;
    }

    private static string Repr(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Repr(int?[] values) =>
        "(" + string.Join(", ", values.Select(v => v is int d ? Repr(d) : "None")) + (values.Length == 1 ? ",)" : ")");

    private static string Repr(int[] values) =>
        "(" + string.Join(", ", values.Select(Repr)) + (values.Length == 1 ? ",)" : ")");

    /// <summary>pytree's text for a flat tuple of <paramref name="count"/> leaves, as PyTorch prints it in vmap's errors.</summary>
    private static string TupleSpec(int count) => "TreeSpec(tuple, None, [" + string.Join(", ", Enumerable.Repeat("*", count)) + "])";

    /// <summary>One vmapped function: its checked options, and the batched call (vmap.py's <c>_flat_vmap</c>).</summary>
    /// <remarks>Immutable; runs on any thread.</remarks>
    private sealed class VmapPlan
    {
        private readonly string _name;
        private readonly int?[] _inDims;
        private readonly string _inDimsText;
        private readonly int[]? _outDims;
        private readonly int _outDim;
        private readonly string _outDimsText;
        private readonly Randomness _randomness;
        private readonly int? _chunkSize;

        public VmapPlan(string name, int?[] inDims, string inDimsText, int[]? outDims, int outDim, string outDimsText, Randomness randomness, int? chunkSize)
        {
            if (!Enum.IsDefined(randomness))
            {
                throw new ArgumentOutOfRangeException(nameof(randomness), randomness, "Only allowed values for randomness are 'error', 'different', or 'same'.");
            }
            if (chunkSize is < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, $"vmap: chunk_size should be None or greater than 0. (got {chunkSize})");
            }
            _name = name;
            _inDims = inDims;
            _inDimsText = inDimsText;
            _outDims = outDims;
            _outDim = outDim;
            _outDimsText = outDimsText;
            _randomness = randomness;
            _chunkSize = chunkSize;
        }

        public Tensor[] Run(Func<Tensor[], Tensor[]> f, Tensor[] args)
        {
            LibTorchLoader.EnsureLoaded();
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] is null)
                {
                    throw new ArgumentNullException(nameof(args), $"Input {i} is null.");
                }
            }
            (long batch, long?[] dims) = BatchOf(args);
            using var scope = torch.NewDisposeScope();
            Tensor[] results;
            if (_chunkSize is int chunk && chunk < batch)
            {
                results = RunChunked(f, args, dims, batch, chunk);
            }
            else
            {
                results = RunFlat(f, args, dims, batch);
            }
            scope.MoveToOuter(results);
            return results;
        }

        /// <summary>vmap.py's <c>_process_batched_inputs</c> and <c>_validate_and_get_batch_size</c>, with its texts.</summary>
        private (long Batch, long?[] Dims) BatchOf(Tensor[] args)
        {
            if (args.Length == 0)
            {
                throw new ArgumentException(
                    $"vmap({_name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying to vmap over a function with no inputs. The latter is unsupported.",
                    nameof(args));
            }
            if (_inDims.Length != args.Length)
            {
                throw new ArgumentException(
                    $"vmap({_name}, in_dims={_inDimsText}, ...)(<inputs>): in_dims is not compatible with the structure of `inputs`. in_dims has structure {TupleSpec(_inDims.Length)} but inputs has structure {TupleSpec(args.Length)}.",
                    nameof(args));
            }
            var dims = new long?[args.Length];
            long batch = -1;
            bool sizesDiffer = false;
            for (int i = 0; i < args.Length; i++)
            {
                if (_inDims[i] is not int inDim)
                {
                    continue;
                }
                long rank = TensorShape.Rank(args[i]);
                if (inDim < -rank || inDim >= rank)
                {
                    throw new ArgumentException(
                        $"vmap({_name}, in_dims={_inDimsText}, ...)(<inputs>): Got in_dim={inDim} for some input, but that input is a Tensor of dimensionality {rank} so expected in_dim to satisfy -{rank} <= in_dim < {rank}.",
                        nameof(args));
                }
                long dim = inDim < 0 ? inDim + rank : inDim;
                dims[i] = dim;
                long size = TensorShape.Size(args[i], dim);
                sizesDiffer |= batch >= 0 && size != batch;
                batch = batch < 0 ? size : batch;
            }
            if (batch < 0)
            {
                throw new ArgumentException("vmap: Expected at least one Tensor to vmap over", nameof(args));
            }
            if (sizesDiffer)
            {
                IEnumerable<long> sizes = Enumerable.Range(0, args.Length)
                    .Where(i => dims[i] is not null)
                    .Select(i => TensorShape.Size(args[i], dims[i]!.Value));
                throw new ArgumentException(
                    $"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes [{string.Join(", ", sizes)}] for the mapped dimension",
                    nameof(args));
            }
            return (batch, dims);
        }

        /// <summary>vmap.py's <c>_chunked_vmap</c>: the batch in slices of at most <paramref name="chunk"/>, the results concatenated.</summary>
        private Tensor[] RunChunked(Func<Tensor[], Tensor[]> f, Tensor[] args, long?[] dims, long batch, int chunk)
        {
            var parts = new List<Tensor[]>();
            for (long start = 0; start < batch; start += chunk)
            {
                long length = Math.Min(chunk, batch - start);
                var slice = new Tensor[args.Length];
                for (int i = 0; i < args.Length; i++)
                {
                    slice[i] = dims[i] is long d ? args[i].narrow(d, start, length) : args[i];
                }
                parts.Add(RunFlat(f, slice, dims, length));
            }
            var results = new Tensor[parts[0].Length];
            for (int j = 0; j < results.Length; j++)
            {
                long rank = parts[0][j].dim();
                int outDim = OutDim(j);
                results[j] = torch.cat(parts.Select(p => p[j]).ToArray(), outDim < 0 ? outDim + rank : outDim);
            }
            return results;
        }

        private int OutDim(int output) => _outDims is null ? _outDim : _outDims[output];

        private Tensor[] RunFlat(Func<Tensor[], Tensor[]> f, Tensor[] args, long?[] dims, long batch)
        {
            int level = NativeFunctorch.PushVmap(batch, _randomness);
            var unwrapped = Array.Empty<(Tensor Value, long Dim)?>();
            Tensor[] outputs;
            try
            {
                var batched = new Tensor[args.Length];
                for (int i = 0; i < args.Length; i++)
                {
                    batched[i] = dims[i] is long d ? NativeFunctorch.AddBatchDim(args[i], d, level) : args[i];
                }
                outputs = f(batched) ?? throw new ArgumentException(
                    $"vmap({_name}, ...): `{_name}` must only return Tensors, got type <class 'NoneType'> as a return.", nameof(f));
                if (_outDims is not null && _outDims.Length != outputs.Length)
                {
                    throw new ArgumentException(
                        $"vmap({_name}, ..., out_dims={_outDimsText})(<inputs>): out_dims is not compatible with the structure of `outputs`. out_dims has structure {TupleSpec(_outDims.Length)} but outputs has structure {TupleSpec(outputs.Length)}.",
                        nameof(f));
                }
                unwrapped = new (Tensor Value, long Dim)?[outputs.Length];
                for (int j = 0; j < outputs.Length; j++)
                {
                    if (outputs[j] is null)
                    {
                        throw new ArgumentException(
                            $"vmap({_name}, ...): `{_name}` must only return Tensors, got type <class 'NoneType'> as a return.", nameof(f));
                    }
                    unwrapped[j] = NativeFunctorch.UnwrapAtLevel(outputs[j], level);
                }
            }
            catch (ExternalException e)
            {
                throw Refusal(Ensure.Translate(e));
            }
            finally
            {
                NativeFunctorch.PopVmap(level);
            }
            // vmap.py's _remove_batch_dim (init.cpp): the batch moved to out_dim, or an unbatched result expanded.
            var results = new Tensor[outputs.Length];
            for (int j = 0; j < outputs.Length; j++)
            {
                results[j] = unwrapped[j] is (Tensor value, long dim)
                    ? MoveBatchDim(value, dim, OutDim(j))
                    : Expand(outputs[j], batch, OutDim(j));
            }
            return results;
        }

        /// <summary>
        /// TorchSharp's <c>item&lt;T&gt;()</c> reads the data pointer, which a BatchedTensor refuses with libtorch's text
        /// for <c>tolist()</c>; what the user did is PyTorch's <c>.item()</c>, so that is the message (the native text stays in
        /// <see cref="AutogradException.NativeMessage"/>).
        /// </summary>
        private static AutogradException Refusal(AutogradException error) =>
            error.Message == "Cannot access data pointer of Tensor that doesn't have storage"
                ? new AutogradException(
                    "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over calling .item() on a Tensor, please try to rewrite what you're doing with other operations. If error is occurring somewhere inside PyTorch internals, please file a bug report.",
                    error.NativeMessage ?? error.Message,
                    error)
                : error;

        /// <summary>
        /// init.cpp's <c>_movedim</c>: the unwrapped value itself when its batch dimension already is
        /// <paramref name="outDim"/> (as PyTorch returns it; a <c>movedim</c> would cost a view a call), else moved there.
        /// </summary>
        private static Tensor MoveBatchDim(Tensor value, long dim, int outDim)
        {
            long rank = TensorShape.Rank(value);
            if (outDim == dim || outDim + rank == dim)
            {
                return value;
            }
            try
            {
                return value.movedim([dim], [(long)outDim]);
            }
            catch (ExternalException e)
            {
                throw Ensure.Translate(e);
            }
        }

        private static Tensor Expand(Tensor output, long batch, int outDim)
        {
            var sizes = TensorShape.Of(output).ToList();
            int at = outDim < 0 ? outDim + sizes.Count + 1 : outDim;
            if (at < 0 || at > sizes.Count)
            {
                throw new AutogradException(
                    $"Dimension out of range (expected to be in range of [{-(sizes.Count + 1)}, {sizes.Count}], but got {outDim})");
            }
            sizes.Insert(at, batch);
            try
            {
                return output.expand([.. sizes]);
            }
            catch (ExternalException e)
            {
                throw Ensure.Translate(e);
            }
        }
    }
}
