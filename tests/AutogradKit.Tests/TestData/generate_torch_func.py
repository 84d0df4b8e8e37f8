"""Expected torch.func (functorch) results from real PyTorch 1.13 + functorch 1.13, for tests/AutogradKit.Tests/TorchFunc
and the vectorized Jacobians of tests/AutogradKit.Tests/Functional.

Run: /usr/bin/python3 generate_torch_func.py  (writes torch_func.json next to this file).
Each function here has a C# twin of the same name in TorchFuncData.cs.
PyTorch 1.13's functorch has no chunk_size; its message for chunk_size=0 is taken from PyTorch 2.x's vmap.py.
"""
import json
import os
import torch
import torch.nn.functional as F
import functorch
from functorch import vmap, grad, grad_and_value, jacrev, jacfwd, hessian, vjp, jvp
from torch.autograd.functional import jacobian

torch.set_default_dtype(torch.float64)

X4 = torch.tensor([0.5, -1.0, 2.0, 0.25])
W4 = torch.linspace(-1.0, 1.5, 16).reshape(4, 4)
A34 = torch.linspace(-0.8, 0.9, 12).reshape(3, 4)


def t(x):
    return {"shape": list(x.shape), "data": x.detach().reshape(-1).tolist()}


def inplace_intermediate(x):
    y = x * 1
    y.mul_(x)
    return y


# The everyday functions of a 4-vector (issue 11), by name.
EVERYDAY = {
    "x_times_sum": lambda x: x * x.sum(),
    "normalize": lambda x: x / x.norm(),
    "softmax": lambda x: torch.softmax(x, 0),
    "cumsum": lambda x: x.cumsum(0),
    "max_times": lambda x: x.max() * x,
    "square_matvec": lambda x: W4.matmul(x),
    "rect_matvec": lambda x: A34 @ x,
    "tanh_matvec": lambda x: torch.tanh(A34 @ x),
    "outer": lambda x: torch.outer(x, x),
    "stack": lambda x: torch.stack([x, 2 * x]),
    "slice": lambda x: x[1:3],
    "view": lambda x: x.view(2, 2),
    "scalar": lambda x: (x * x).sum(),
    "inplace_intermediate": inplace_intermediate,
    "sin_cos": lambda x: x.sin() * x.cos(),
    "flip": lambda x: x.flip(0),
}

# vmap cases: (name, function, in_dims, out_dims, inputs)
VMAP = [
    ("sin", lambda x: x.sin(), 0, 0, [torch.linspace(-2, 2, 12).reshape(3, 4)]),
    ("sum_in1", lambda x: x.sum(), 1, 0, [torch.linspace(-2, 2, 12).reshape(3, 4)]),
    ("sin_in_neg1_out1", lambda x: x.sin() * 2, -1, 1, [torch.linspace(-2, 2, 24).reshape(2, 3, 4)]),
    ("dot", lambda x, y: torch.dot(x, y), (0, None), 0, [torch.linspace(-1, 1, 12).reshape(3, 4), X4]),
    ("matvec", lambda w, x: w.matmul(x), (None, 0), 0, [W4, torch.linspace(-1, 1, 12).reshape(3, 4)]),
    ("x_times_sum", lambda x: x * x.sum(), 0, 0, [torch.linspace(-1, 1, 12).reshape(3, 4)]),
    ("outer_out1", lambda x, y: torch.outer(x, y), (0, 0), 1, [torch.linspace(-1, 1, 6).reshape(2, 3), torch.linspace(0, 1, 4).reshape(2, 2)]),
    ("both_in1", lambda x, y: x * y, (1, 0), 0, [torch.linspace(-1, 1, 12).reshape(4, 3), torch.linspace(0, 1, 12).reshape(3, 4)]),
    ("constant", lambda x: torch.ones(2), 0, 0, [torch.linspace(-1, 1, 6).reshape(3, 2)]),
    # The batch stays last and out_dims=-1 names it: the result is returned without a movedim.
    ("sin_in_neg1_out_neg1", lambda x: x.sin() * 2, -1, -1, [torch.linspace(-2, 2, 24).reshape(2, 3, 4)]),
]

# Several outputs: vmap(f, in_dims, out_dims=(0, 1))
VMAP2 = [
    ("sin_cos", lambda x, y: (x.sin() + y, x.cos()), (0, None), (0, 1), [torch.linspace(-1, 1, 12).reshape(3, 4), X4]),
]

SCALAR = {
    "sin_sum": lambda x: x.sin().sum(),
    "cube_norm": lambda x: (x ** 3).sum() * x.norm(),
    "logsumexp": lambda x: torch.logsumexp(x, 0),
    "tanh_quad": lambda x: torch.tanh(A34 @ x).pow(2).sum(),
}

PAIR = {
    "mse": lambda w, x, y: ((w @ x) - y).pow(2).sum(),
}


def error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the text is the data
        return str(e).split("\n")[0]
    raise AssertionError("no error")


def main():
    everyday = []
    for name, f in EVERYDAY.items():
        vectorized = jacobian(f, X4, vectorize=True)
        loop = jacobian(f, X4)
        assert torch.allclose(vectorized, loop), name
        assert torch.allclose(jacrev(f)(X4), loop), name
        assert torch.allclose(jacfwd(f)(X4), loop), name
        everyday.append({"name": name, "input": t(X4), "jacobian": t(vectorized)})

    vmap_cases = []
    for name, f, in_dims, out_dims, inputs in VMAP:
        out = vmap(f, in_dims=in_dims, out_dims=out_dims)(*inputs)
        dims = list(in_dims) if isinstance(in_dims, tuple) else [in_dims]
        vmap_cases.append({"name": name, "in_dims": dims, "out_dim": out_dims, "inputs": [t(i) for i in inputs], "output": t(out)})
    vmap2_cases = []
    for name, f, in_dims, out_dims, inputs in VMAP2:
        outs = vmap(f, in_dims=in_dims, out_dims=out_dims)(*inputs)
        vmap2_cases.append({"name": name, "in_dims": list(in_dims), "out_dims": list(out_dims), "inputs": [t(i) for i in inputs], "outputs": [t(o) for o in outs]})

    nested_input = torch.linspace(-1, 1, 24).reshape(2, 3, 4)
    nested = {"input": t(nested_input), "output": t(vmap(vmap(lambda x: x * x.sum()))(nested_input))}

    scalar_cases = []
    for name, f in SCALAR.items():
        g, v = grad_and_value(f)(X4)
        cot = torch.tensor([1.0, -2.0, 0.5])
        tangent = torch.tensor([0.3, -0.1, 0.7, 1.1])
        out, vjp_fn = vjp(lambda x: torch.tanh(A34 @ x) * f(x), X4)
        _, jvp_out = jvp(lambda x: torch.tanh(A34 @ x) * f(x), (X4,), (tangent,))
        scalar_cases.append({
            "name": name, "input": t(X4), "grad": t(g), "value": t(v), "hessian": t(hessian(f)(X4)),
            "cotangent": t(cot), "vjp": t(vjp_fn(cot)[0]), "tangent": t(tangent), "jvp": t(jvp_out), "vjp_output": t(out),
        })

    w = torch.linspace(-1, 1, 12).reshape(3, 4)
    xs = torch.linspace(-2, 2, 20).reshape(5, 4)
    ys = torch.linspace(0, 1, 15).reshape(5, 3)
    per_sample = {"w": t(w), "x": t(xs), "y": t(ys), "grads": t(vmap(grad(PAIR["mse"]), in_dims=(None, 0, 0))(w, xs, ys))}

    # A small tanh MLP through functorch's make_functional: per-sample gradients of cross-entropy.
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    fmodel, params = functorch.make_functional(model)
    mx = torch.randn(5, 6)
    my = torch.tensor([0, 2, 1, 1, 0])

    def loss(p, x, y):
        return F.cross_entropy(fmodel(p, x.unsqueeze(0)), y.unsqueeze(0))

    mgrads = vmap(grad(loss), in_dims=(None, 0, 0))(params, mx, my)
    names = [n for n, _ in model.named_parameters()]
    mlp = {"parameters": {n: t(p) for n, p in zip(names, params)}, "x": t(mx), "y": my.tolist(),
           "grads": {n: t(g) for n, g in zip(names, mgrads)}}

    x34 = torch.ones(3, 4)
    y24 = torch.ones(2, 4)
    scalar3 = torch.ones(3)

    def f(x):
        return x

    messages = {
        "vmap_no_inputs": error(lambda: vmap(f)()),
        "vmap_structure": error(lambda: vmap(lambda a, b: a, in_dims=(0, None))(x34, x34, x34)),
        "vmap_in_dim_range": error(lambda: vmap(f, in_dims=2)(x34)),
        "vmap_nothing_batched": error(lambda: vmap(lambda a, b: a + b, in_dims=(None, None))(x34, x34)),
        "vmap_sizes_differ": error(lambda: vmap(lambda a, b: a, in_dims=(0, 0))(x34, y24)),
        "vmap_out_structure": error(lambda: vmap(lambda a: (a, a), out_dims=(0, 0, 0))(x34)),
        "vmap_out_dim_range": error(lambda: vmap(f, out_dims=5)(x34)),
        "vmap_item": error(lambda: vmap(lambda a: a.item())(scalar3)),
        "vmap_random": error(lambda: vmap(lambda a: a * torch.rand_like(a))(x34)),
        "vmap_inplace_unbatched": error(lambda: vmap(lambda a: torch.ones(4).add_(a))(x34)),
        "vmap_matmul_shapes": error(lambda: vmap(lambda a: a @ torch.ones(3, 3))(x34)),
        "vmap_chunk_size": "vmap: chunk_size should be None or greater than 0. (got 0)",
        "grad_not_scalar": error(lambda: grad(lambda a: a)(x34)),
        "grad_integer": error(lambda: grad(lambda a: a.sum())(torch.ones(3, dtype=torch.long))),
        "grad_argnum": error(lambda: grad(lambda a: (a * 2).sum(), argnums=2)(x34)),
        "jvp_tangent_shape": error(lambda: jvp(torch.sin, (scalar3,), (torch.ones(2),))),
        "vjp_cotangent_shape": error(lambda: vjp(torch.sin, scalar3)[1](torch.ones(2))),
        "inplace_on_input": error(lambda: jacobian(lambda v: v.mul_(2), X4.clone(), vectorize=True)),
    }

    out = {
        "torch": torch.__version__,
        "functorch": functorch.__version__,
        "everyday": everyday,
        "vmap": vmap_cases,
        "vmap_multi": vmap2_cases,
        "vmap_nested": nested,
        "scalar": scalar_cases,
        "per_sample": per_sample,
        "mlp": mlp,
        "messages": messages,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_func.json")
    with open(path, "w") as fp:
        json.dump(out, fp, indent=1)
        fp.write("\n")


if __name__ == "__main__":
    main()
