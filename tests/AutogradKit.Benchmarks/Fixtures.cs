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

        private readonly Tensor _w1t;
        private readonly Tensor _b1;
        private readonly Tensor _w2t;
        private readonly Tensor _b2;

        /// <summary>Creates the network's weights and an input point.</summary>
        public TanhNetwork()
        {
            using var generator = new Generator(0);
            using Tensor w1 = torch.randn([N, N], generator: generator) / Math.Sqrt(N);
            _b1 = torch.randn([N], generator: generator);
            using Tensor w2 = torch.randn([N, N], generator: generator) / Math.Sqrt(N);
            _b2 = torch.randn([N], generator: generator);
            X = torch.randn([N], generator: generator);
            _w1t = w1.t().contiguous();
            _w2t = w2.t().contiguous();
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
            using Tensor a = x.matmul(_w1t);
            using Tensor p = a + _b1;
            using Tensor h = torch.tanh(p);
            using Tensor q = h.matmul(_w2t);
            using Tensor o = q + _b2;
            return torch.tanh(o);
        }

        /// <summary>sum(f(x)): the scalar function whose Hessian is measured.</summary>
        public Tensor FSum(Tensor x)
        {
            using Tensor y = F(x);
            return y.sum();
        }

        /// <summary>
        /// The rows of the Jacobian of <paramref name="output"/> (N values) with respect to
        /// <paramref name="input"/>, stacked: one <c>torch.autograd.backward</c> a row with <c>retain_graph</c>
        /// and a row of the identity as grad output, each gradient read from <c>input.grad</c> and cleared
        /// (never <c>torch.autograd.grad</c>, which aborts the process on a libtorch error). Temporaries and
        /// the result land in the caller's dispose scope.
        /// </summary>
        public Tensor RowsByBackwardLoop(Tensor output, Tensor input)
        {
            var rows = new Tensor[N];
            for (int i = 0; i < rows.Length; i++)
            {
                torch.autograd.backward([output], [EyeRows[i]], retain_graph: true, inputs: [input]);
                rows[i] = input.grad!;
                input.grad = null;
            }
            return torch.stack(rows);
        }

        /// <summary>
        /// The gradient of the scalar <paramref name="output"/> with respect to <paramref name="input"/>, with
        /// its own graph (<c>create_graph</c>) so that it can be differentiated again; <c>input.grad</c> is
        /// cleared afterwards. In the caller's dispose scope.
        /// </summary>
        public static Tensor GradWithGraph(Tensor output, Tensor input)
        {
            torch.autograd.backward([output], create_graph: true, inputs: [input]);
            Tensor g = input.grad!;
            input.grad = null;
            return g;
        }

        /// <inheritdoc />
        public void Dispose()
        {
            foreach (Tensor t in (Tensor[])[_w1t, _b1, _w2t, _b2, X, Eye, .. EyeRows])
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// The autograd tutorial's tensors: x = ones(5), y = zeros(3), w = randn(5, 3) and b = randn(3) requiring
    /// grad (drawn in that order from the global generator, so call <see cref="OneThread"/> first). Same as
    /// <c>pytorch/bench_training_step.py</c> and <c>pytorch/bench_gradfn.py</c>. Not thread-safe.
    /// </summary>
    public sealed class TutorialTensors : IDisposable
    {
        /// <summary>Creates the four tensors.</summary>
        public TutorialTensors()
        {
            X = torch.ones(5);
            Y = torch.zeros(3);
            W = torch.randn(5, 3, requires_grad: true);
            B = torch.randn(3, requires_grad: true);
        }

        /// <summary>The input, ones(5).</summary>
        public Tensor X { get; }

        /// <summary>The target, zeros(3).</summary>
        public Tensor Y { get; }

        /// <summary>The weights, randn(5, 3), requiring grad.</summary>
        public Tensor W { get; }

        /// <summary>The bias, randn(3), requiring grad.</summary>
        public Tensor B { get; }

        /// <summary>
        /// The tutorial's forward: <c>binary_cross_entropy_with_logits(x @ w + b, y)</c>. Its temporaries land
        /// in the caller's dispose scope.
        /// </summary>
        public Tensor Loss()
        {
            Tensor z = torch.matmul(X, W) + B;
            return nn.functional.binary_cross_entropy_with_logits(z, Y);
        }

        /// <inheritdoc />
        public void Dispose()
        {
            foreach (Tensor t in (Tensor[])[X, Y, W, B])
            {
                t.Dispose();
            }
        }
    }
}
