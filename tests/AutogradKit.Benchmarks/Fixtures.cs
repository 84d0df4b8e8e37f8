using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks;

/// <summary>Setup shared by every benchmark class: one intra-op thread, a fixed seed.</summary>
public static class Fixtures
{
    /// <summary>One thread, as the PyTorch scripts use, so that the two measure the same work.</summary>
    public static void OneThread()
    {
        torch.set_num_threads(1);
        torch.manual_seed(0);
    }

    /// <summary>
    /// The 64→64 two-layer tanh network <c>tanh(W2 @ tanh(W1 @ x + b1) + b2)</c>, written as
    /// <c>x @ W1ᵀ</c> so that it also accepts a batch of rows (what <c>vectorize</c> needs). Same
    /// construction as <c>pytorch/bench_functional.py</c> (scaled normal weights).
    /// </summary>
    public sealed class TanhNetwork : IDisposable
    {
        /// <summary>Width of the input, hidden and output layers.</summary>
        public const int N = 64;

        private readonly Tensor w1t;
        private readonly Tensor b1;
        private readonly Tensor w2t;
        private readonly Tensor b2;

        /// <summary>Creates the network's weights and an input point.</summary>
        public TanhNetwork()
        {
            using var generator = new Generator(0);
            using Tensor w1 = torch.randn([N, N], generator: generator) / Math.Sqrt(N);
            b1 = torch.randn([N], generator: generator);
            using Tensor w2 = torch.randn([N, N], generator: generator) / Math.Sqrt(N);
            b2 = torch.randn([N], generator: generator);
            X = torch.randn([N], generator: generator);
            w1t = w1.t().contiguous();
            w2t = w2.t().contiguous();
            Eye = torch.eye(N);
            EyeRows = Enumerable.Range(0, N).Select(i => Eye[i].clone()).ToArray();
        }

        /// <summary>The point at which Jacobians and Hessians are taken.</summary>
        public Tensor X { get; }

        /// <summary>The N×N identity: the grad outputs of a batched backward.</summary>
        public Tensor Eye { get; }

        /// <summary>The rows of <see cref="Eye"/>, one grad output per backward of a loop.</summary>
        public Tensor[] EyeRows { get; }

        /// <summary>f(x) = tanh(tanh(x W1ᵀ + b1) W2ᵀ + b2).</summary>
        public Tensor F(Tensor x)
        {
            using Tensor a = x.matmul(w1t);
            using Tensor p = a + b1;
            using Tensor h = torch.tanh(p);
            using Tensor q = h.matmul(w2t);
            using Tensor o = q + b2;
            return torch.tanh(o);
        }

        /// <summary>sum(f(x)): the scalar function whose Hessian is measured.</summary>
        public Tensor FSum(Tensor x)
        {
            using Tensor y = F(x);
            return y.sum();
        }

        /// <inheritdoc />
        public void Dispose()
        {
            foreach (Tensor t in (Tensor[])[w1t, b1, w2t, b2, X, Eye, .. EyeRows])
            {
                t.Dispose();
            }
        }
    }
}
