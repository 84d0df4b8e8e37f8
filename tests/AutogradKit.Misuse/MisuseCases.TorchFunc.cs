using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Misuse;

/// <summary>
/// Wrong uses of the torch.func transforms, whose dynamic layers are pushed and popped by direct (non-catching) libtorch
/// calls: every refusal must be a documented exception, and the next transform must work (no layer left behind).
/// </summary>
internal static partial class MisuseCases
{
    private static void AddTorchFuncCases(Action<string, Action<Random>> add)
    {
        add("Vmap with in_dims that do not fit the inputs", r =>
        {
            Tensor x = torch.ones(3, 4);
            switch (r.Next(5))
            {
                case 0: Expect<ArgumentException>(() => TorchFunc.Vmap(v => v, inDim: 2 + r.Next(3))(x)); break;
                case 1: Expect<ArgumentException>(() => TorchFunc.Vmap(a => a[0], [0, 0])([x, torch.ones(2, 4)])); break;
                case 2: Expect<ArgumentException>(() => TorchFunc.Vmap(a => a[0], [null, null])([x, x])); break;
                case 3: Expect<ArgumentException>(() => TorchFunc.Vmap(a => a[0], [0])([x, x, x])); break;
                default: Expect<ArgumentException>(() => TorchFunc.Vmap(a => a[0], [0])([])); break;
            }
            RequireTransformsWork();
        });
        add("Vmap over a function PyTorch's vmap refuses (item, random under Error, batched into unbatched, throws)", r =>
        {
            Tensor x = torch.ones(3, 4, dtype: ScalarType.Float64);
            int depth = 1 + r.Next(2);
            Func<Tensor, Tensor> f = (r.Next(5)) switch
            {
                0 => v => v.sum().item<double>() > 0 ? v : -v,
                1 => r.Next(2) == 0 ? v => v * torch.rand_like(v) : v => v + torch.randn(4, dtype: ScalarType.Float64),
                2 => v => torch.ones(4, dtype: ScalarType.Float64).add_(v),
                3 => v => torch.ones(3, 3, dtype: ScalarType.Float64).mm(v.unsqueeze(1)), // mm catches; TorchSharp's matmul does not (see docs/interop.md)
                _ => v => throw new InvalidOperationException("user code failed"),
            };
            Func<Tensor, Tensor> mapped = depth == 1 ? TorchFunc.Vmap(f) : TorchFunc.Vmap(TorchFunc.Vmap(f), inDim: 1);
            Expect<InvalidOperationException>(() => mapped(depth == 1 ? x : torch.ones(2, 3, 4, dtype: ScalarType.Float64)));
            RequireTransformsWork();
        });
        add("Vmap of a per-example matmul that batched copies used to abort on (A@x, tanh(A@x))", r =>
        {
            Tensor a = torch.ones(3, 4);
            Tensor x = torch.ones(5, 4);
            Tensor y = TorchFunc.Vmap(v => r.Next(2) == 0 ? a.matmul(v) : torch.tanh(a.matmul(v)))(x);
            Require(y.shape.SequenceEqual([5L, 3L]), "vmap(A@x) has the wrong shape");
            Tensor j = Autograd.Functional.Jacobian(v => a.matmul(v), torch.ones(4), vectorize: true);
            Require(j.allclose(a), "vectorized Jacobian of A@x is not A");
        });
        add("Grad, Jacrev, Jvp or Vjp used wrongly (non-scalar, integer input, null output, argnum, shapes)", r =>
        {
            Tensor x = torch.ones(3, dtype: ScalarType.Float64);
            switch (r.Next(6))
            {
                case 0: Expect<InvalidOperationException>(() => TorchFunc.Grad(v => v * 2)(x)); break;
                case 1: Expect<InvalidOperationException>(() => TorchFunc.Grad(v => v.sum())(torch.ones(3, dtype: ScalarType.Int64))); break;
                case 2: Expect<InvalidOperationException>(() => TorchFunc.Jacrev(_ => null!)(x)); break;
                case 3: Expect<ArgumentException>(() => TorchFunc.Grad(a => a[0].sum(), 1 + r.Next(3))([x])); break;
                case 4: Expect<ArgumentException>(() => TorchFunc.Jvp(v => v.sin(), x, torch.ones(2))); break;
                default: Expect<InvalidOperationException>(() => TorchFunc.Vjp(v => v.sin(), x).VjpFn(torch.ones(2))); break;
            }
            RequireTransformsWork();
        });
        add("Vmap(Grad) over a loss that throws for some example", r =>
        {
            Tensor w = torch.ones(4, dtype: ScalarType.Float64);
            Tensor xs = torch.ones(6, 4, dtype: ScalarType.Float64);
            int bad = r.Next(3);
            Func<Tensor[], Tensor> loss = a => bad switch
            {
                0 => throw new InvalidOperationException("user code failed"),
                1 => a[0] * a[1],
                _ => (a[0] * a[1]).sum().item<double>() > 0 ? a[0].sum() : a[1].sum(),
            };
            Expect<InvalidOperationException>(() => TorchFunc.Vmap(TorchFunc.Grad(loss), [null, 0])([w, xs]));
            RequireTransformsWork();
        });
    }

    /// <summary>A vmap and a grad right after a refusal: no layer of the failed transform is left on the stack.</summary>
    private static void RequireTransformsWork()
    {
        Tensor x = torch.linspace(-1, 1, 6, dtype: ScalarType.Float64).reshape(2, 3);
        Require(TorchFunc.Vmap(v => v * 2)(x).allclose(x * 2), "a vmap after a refused transform is wrong");
        Require(TorchFunc.Grad(v => v.sin().sum())(x[0]).allclose(x[0].cos()), "a grad after a refused transform is wrong");
    }
}
