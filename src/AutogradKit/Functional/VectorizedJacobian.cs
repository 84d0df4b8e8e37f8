using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// PyTorch's vectorized backward passes: <c>torch.autograd.grad(..., is_grads_batched=True)</c> as a vmap of one
/// backward pass over the batch of seeds, and <c>torch.autograd.functional.jacobian(..., vectorize=True)</c> built on
/// it (f runs once, unbatched; the standard basis of its outputs is the batch of seeds) — right for every f, unlike
/// running f on a batch of copies.
/// </summary>
/// <remarks>Stateless; thread-safe as <see cref="TorchFunc.Vmap(Func{Tensor, Tensor}, int, int, Randomness, int?)"/> is.</remarks>
internal static class VectorizedJacobian
{
    /// <summary>
    /// <c>autograd.grad(outputs, inputs, seeds, is_grads_batched=True)</c>: the vector-Jacobian products of every seed
    /// entry along the seeds' first dimension, in one vmapped backward pass; null for an input no output reaches.
    /// </summary>
    /// <remarks>The caller has checked the arguments (live tensors, seeds shaped like the outputs after their batch dimension).</remarks>
    public static Tensor?[] BatchedGrad(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> seeds, bool retainGraph, bool createGraph)
    {
        var unused = new bool[inputs.Count];
        Tensor[] stacked = TorchFunc.Vmap(
            batchSeeds =>
            {
                Tensor?[] grads = Autograd.GradCore(outputs, inputs, batchSeeds, retainGraph, createGraph);
                var filled = new Tensor[grads.Length];
                for (int k = 0; k < grads.Length; k++)
                {
                    // The graph is the same for every entry: unused in one, unused in all.
                    unused[k] = grads[k] is null;
                    filled[k] = grads[k] ?? torch.zeros_like(inputs[k]);
                }
                return filled;
            },
            seeds.Select(_ => (int?)0).ToArray(),
            new int[inputs.Count])(seeds.ToArray());
        var result = new Tensor?[stacked.Length];
        for (int k = 0; k < stacked.Length; k++)
        {
            if (unused[k])
            {
                stacked[k].Dispose();
            }
            else
            {
                result[k] = stacked[k];
            }
        }
        return result;
    }

    /// <summary>
    /// functional.py's vectorized jacobian, from f's <paramref name="outputs"/> at the preprocessed inputs
    /// <paramref name="xs"/>: one vmapped backward pass seeded with the standard basis of all outputs, split per
    /// output and reshaped to output's shape then input's; zeros where an output does not reach an input.
    /// </summary>
    /// <returns>[output][input] Jacobians (not yet post-processed).</returns>
    public static Tensor[][] Jacobian(Tensor[] outputs, Tensor[] xs, bool createGraph)
    {
        long[] numels = outputs.Select(o => o.numel()).ToArray();
        long total = numels.Sum();
        var result = new Tensor[outputs.Length][];
        for (int i = 0; i < outputs.Length; i++)
        {
            result[i] = new Tensor[xs.Length];
        }
        int[] reached = Enumerable.Range(0, outputs.Length).Where(i => outputs[i].requires_grad && numels[i] > 0).ToArray();
        Tensor?[] grads = new Tensor?[xs.Length];
        if (reached.Length > 0)
        {
            Tensor basis = torch.eye(total, dtype: outputs[reached[0]].dtype, device: outputs[reached[0]].device);
            long[] offsets = new long[outputs.Length];
            for (int i = 1; i < outputs.Length; i++)
            {
                offsets[i] = offsets[i - 1] + numels[i - 1];
            }
            Tensor[] flat = reached.Select(i => outputs[i].reshape(-1)).ToArray();
            Tensor[] seeds = reached.Select(i => basis.narrow(1, offsets[i], numels[i]).to(outputs[i].dtype)).ToArray();
            grads = BatchedGrad(flat, xs, seeds, retainGraph: createGraph, createGraph);
        }
        for (int k = 0; k < xs.Length; k++)
        {
            Tensor[] parts = grads[k] is { } g ? g.split(numels, 0) : [];
            for (int i = 0; i < outputs.Length; i++)
            {
                long[] shape = [.. outputs[i].shape, .. xs[k].shape];
                result[i][k] = grads[k] is null
                    ? torch.zeros(shape, dtype: xs[k].dtype, device: xs[k].device)
                    : parts[i].view(shape);
            }
        }
        return result;
    }
}
