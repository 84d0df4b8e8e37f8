"""Expected torch.autograd.Function results from real PyTorch 1.13, for tests/AutogradKit.Tests/CustomFunctions.

Run: /usr/bin/python3 generate_custom_functions.py  (writes custom_functions.json next to this file).
Each Function here has a C# twin of the same name in CustomFunctionsData.cs (same forward, backward and jvp).
"""
import json
import os
import torch
import torch.autograd.forward_ad as fwAD
from torch.autograd import Function
from torch.autograd.function import once_differentiable

torch.set_default_dtype(torch.float64)


def t(x):
    return x.detach().tolist()


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        result = x.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, g):
        (result,) = ctx.saved_tensors
        return g * result


class MulAdd(Function):
    """Two inputs, two outputs: (a * b, a + b)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b, a + b

    @staticmethod
    def backward(ctx, g1, g2):
        a, b = ctx.saved_tensors
        return g1 * b + g2, g1 * a + g2


class AddOneInPlace(Function):
    @staticmethod
    def forward(ctx, x):
        x.add_(1)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g


class SortValues(Function):
    """Sorted values and the (non-differentiable) indices."""

    @staticmethod
    def forward(ctx, x):
        values, indices = x.sort()
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        return values, indices

    @staticmethod
    def backward(ctx, g, g_indices):
        (indices,) = ctx.saved_tensors
        return torch.zeros_like(g).scatter(0, indices, g)


seen = {}


class TwoScales(Function):
    """(2x, 3x), gradients not materialised: records which gradient arrived as None."""

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        seen["two_scales"] = [g1 is None, g2 is None]
        total = torch.zeros_like(g1 if g1 is not None else g2)
        if g1 is not None:
            total = total + g1 * 2
        if g2 is not None:
            total = total + g2 * 3
        return total


class NeedsGrad(Function):
    """a * b, recording ctx.needs_input_grad in forward and backward."""

    @staticmethod
    def forward(ctx, a, b):
        seen["needs_forward"] = list(ctx.needs_input_grad)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        seen["needs_backward"] = list(ctx.needs_input_grad)
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None), (g * a if ctx.needs_input_grad[1] else None)


class OnceExp(Function):
    @staticmethod
    def forward(ctx, x):
        result = x.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        (result,) = ctx.saved_tensors
        return g * result


class Cube(Function):
    """x ** 3 with a backward that is itself differentiable (double backward)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2


class WrongExp(Function):
    """A wrong backward (twice the gradient): gradcheck must fail."""

    @staticmethod
    def forward(ctx, x):
        result = x.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, g):
        (result,) = ctx.saved_tensors
        return 2 * g * result


class TooManyGrads(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2, g


class ExpJvp(Function):
    @staticmethod
    def forward(ctx, x):
        result = x.exp()
        ctx.save_for_backward(result)
        ctx.save_for_forward(result)
        return result

    @staticmethod
    def backward(ctx, g):
        (result,) = ctx.saved_tensors
        return g * result

    @staticmethod
    def jvp(ctx, t):
        (result,) = ctx.saved_tensors
        return t * result


class MulAddJvp(Function):
    """MulAdd with a jvp: tangents (ta * b + a * tb, ta + tb)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_forward(a, b)
        return a * b, a + b

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        return ta * b + a * tb, ta + tb


class NoJvp(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


class NoBackward(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2


def message(call):
    try:
        call()
    except Exception as e:  # noqa: BLE001
        return str(e).splitlines()[0]
    raise AssertionError("no error")


def float32_repr(make):
    """repr with float32 as the default dtype, as in TorchSharp."""
    torch.set_default_dtype(torch.float32)
    try:
        return repr(make())
    finally:
        torch.set_default_dtype(torch.float64)


out = {}
x0 = torch.tensor([0.5, -1.0, 2.0])

# Exp: values, name, grad, double backward.
x = x0.clone().requires_grad_()
y = Exp.apply(x)
y.sum().backward()
(g,) = torch.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
(gg,) = torch.autograd.grad(g.sum(), x)
out["exp"] = {"x": t(x0), "y": t(y), "name": type(y.grad_fn).__name__, "grad": t(x.grad), "grad_grad": t(gg),
              "next": [type(e[0]).__name__ for e in y.grad_fn.next_functions],
              "repr": float32_repr(lambda: Exp.apply(x0.float().requires_grad_()))}

# MulAdd: loss = (o1 * o2).sum().
a0, b0 = torch.tensor([1.0, 2.0, -3.0]), torch.tensor([0.5, -1.5, 4.0])
a, b = a0.clone().requires_grad_(), b0.clone().requires_grad_()
o1, o2 = MulAdd.apply(a, b)
(o1 * o2).sum().backward()
out["mul_add"] = {"a": t(a0), "b": t(b0), "o1": t(o1), "o2": t(o2), "name": type(o1.grad_fn).__name__,
                  "same_node": o1.grad_fn is o2.grad_fn, "output_nr": [o1.output_nr, o2.output_nr],
                  "grad_a": t(a.grad), "grad_b": t(b.grad)}

# AddOneInPlace on a non-leaf: the input itself becomes the output.
leaf = x0.clone().requires_grad_()
z = leaf * 1
version = z._version
w = AddOneInPlace.apply(z)
(w * w).sum().backward()
out["add_one_in_place"] = {"x": t(x0), "y": t(w), "name": type(w.grad_fn).__name__, "same_tensor": w is z,
                           "version_bump": z._version - version, "grad": t(leaf.grad),
                           "leaf_error": message(lambda: AddOneInPlace.apply(x0.clone().requires_grad_()))}

# SortValues: the indices do not require grad.
s0 = torch.tensor([3.0, -1.0, 2.0, 0.5])
s = s0.clone().requires_grad_()
values, indices = SortValues.apply(s)
(values * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
out["sort_values"] = {"x": t(s0), "values": t(values), "indices": indices.tolist(),
                      "indices_requires_grad": indices.requires_grad, "values_requires_grad": values.requires_grad,
                      "name": type(values.grad_fn).__name__, "grad": t(s.grad)}

# TwoScales: only the first output is used; the second gradient arrives as None.
x = x0.clone().requires_grad_()
p, q = TwoScales.apply(x)
p.sum().backward()
out["two_scales"] = {"grad": t(x.grad), "none": seen["two_scales"]}

# NeedsGrad: b does not require grad.
a, b = a0.clone().requires_grad_(), b0.clone()
NeedsGrad.apply(a, b).sum().backward()
out["needs_grad"] = {"forward": seen["needs_forward"], "backward": seen["needs_backward"], "grad_a": t(a.grad),
                     "b_grad_is_none": b.grad is None}

# OnceExp: first backward fine, double backward raises (the incoming gradient 2y requires grad).
x = x0.clone().requires_grad_()
(g,) = torch.autograd.grad((OnceExp.apply(x) ** 2).sum(), x, create_graph=True)
out["once_exp"] = {"grad": t(g), "grad_requires_grad": g.requires_grad, "grad_fn": type(g.grad_fn).__name__,
                   "error": message(lambda: g.sum().backward())}

# Cube: double backward (6x) and third order through create_graph.
x = x0.clone().requires_grad_()
(g,) = torch.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
(gg,) = torch.autograd.grad(g.sum(), x, create_graph=True)
(ggg,) = torch.autograd.grad(gg.sum(), x)
out["cube"] = {"grad": t(g), "grad_grad": t(gg), "grad_grad_grad": t(ggg)}

# Saved tensors freed, and modified in place.
x = x0.clone().requires_grad_()
y = Exp.apply(x)
y.sum().backward()
freed = message(lambda: y.sum().backward())
x = x0.clone().requires_grad_()
y = Exp.apply(x)
y.mul_(2)
modified = message(lambda: y.sum().backward())
out["errors"] = {"freed": freed, "modified": modified,
                 "too_many": message(lambda: TooManyGrads.apply(x0.clone().requires_grad_()).sum().backward()),
                 "no_backward": message(lambda: NoBackward.apply(x0.clone().requires_grad_()).sum().backward())}

# gradcheck / gradgradcheck of custom functions.
xc = torch.tensor([0.3, -0.7, 1.1], requires_grad=True)
out["gradcheck"] = {"x": t(xc), "exp": torch.autograd.gradcheck(Exp.apply, (xc,)),
                    "cube": torch.autograd.gradcheck(Cube.apply, (xc,)),
                    "cube_gradgrad": torch.autograd.gradgradcheck(Cube.apply, (xc,)),
                    "wrong": torch.autograd.gradcheck(WrongExp.apply, (xc,), raise_exception=False)}

# Forward mode.
v0 = torch.tensor([1.0, 0.5, -2.0])
with fwAD.dual_level():
    y = ExpJvp.apply(fwAD.make_dual(x0, v0))
    primal, tangent = fwAD.unpack_dual(y)
    exp_jvp = {"x": t(x0), "v": t(v0), "y": t(primal), "tangent": t(tangent)}
    ta, tb = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.5, 1.0, -1.0])
    o1, o2 = MulAddJvp.apply(fwAD.make_dual(a0, ta), fwAD.make_dual(b0, tb))
    mul_add_jvp = {"ta": t(ta), "tb": t(tb), "o1": t(fwAD.unpack_dual(o1)[0]), "t1": t(fwAD.unpack_dual(o1)[1]),
                   "o2": t(fwAD.unpack_dual(o2)[0]), "t2": t(fwAD.unpack_dual(o2)[1])}
    no_jvp = message(lambda: NoJvp.apply(fwAD.make_dual(x0, v0)))
    plain = NoJvp.apply(x0)  # no tangent: no jvp needed
    no_jvp_plain = t(plain)
out["forward_mode"] = {"exp": exp_jvp, "mul_add": mul_add_jvp, "no_jvp": no_jvp, "no_jvp_plain": no_jvp_plain}

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "custom_functions.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(json.dumps(out, indent=1))
