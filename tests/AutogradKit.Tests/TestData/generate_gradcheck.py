"""Expected torch.autograd.gradcheck / gradgradcheck results and texts from real PyTorch 1.13, for
tests/AutogradKit.Tests/Functional/AutogradGradCheckFamilyTests.cs.

Run: /usr/bin/python3 generate_gradcheck.py  (writes gradcheck.json next to this file).
Each case's function has the same definition, by name, in the C# test (a switch).
"""
import json
import os
import warnings

import torch
from torch.autograd import gradcheck, gradgradcheck

torch.manual_seed(0)
D = torch.float64


def outcome(call):
    """{"result": bool} or {"error": type name, "message": str}, plus any warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            r = {"result": bool(call())}
        except Exception as e:  # noqa: BLE001
            r = {"error": type(e).__name__, "message": str(e)}
    r["warnings"] = [str(w.message) for w in caught]
    return r


cases = {}
a = torch.tensor([1.0, 2.0], dtype=D, requires_grad=True)
b = torch.tensor([3.0, 4.0], dtype=D, requires_grad=True)
cases["mismatch"] = outcome(lambda: gradcheck(lambda x, y: x * 2 + y.detach() * y, (a, b)))
cases["mismatch_no_raise"] = outcome(lambda: gradcheck(lambda x, y: x * 2 + y.detach() * y, (a, b), raise_exception=False))
f32 = torch.tensor([0.3, -0.7], dtype=torch.float32, requires_grad=True)
cases["float32_linear"] = outcome(lambda: gradcheck(lambda x: x * 2, (f32,), eps=1e-3, atol=1e-2))
half = torch.tensor([0.5, 1.0], dtype=D, requires_grad=True)
cases["shape_change"] = outcome(lambda: gradcheck(lambda x: x[x > 0.5] * 2, (half,)))
cases["integer_output"] = outcome(lambda: gradcheck(lambda x: (x > 0).long(), (a,)))
base = torch.ones(1, dtype=D, requires_grad=True)
cases["stride0"] = outcome(lambda: gradcheck(lambda x: x * 2, (base.expand(3),)))
cases["none_require_grad"] = outcome(lambda: gradcheck(lambda x: x * 2, (torch.ones(2, dtype=D),)))
x3 = torch.tensor([0.3, -0.7, 1.1], dtype=D, requires_grad=True)
y3 = torch.tensor([1.5, 0.2, -0.4], dtype=D, requires_grad=True)
cases["two_outputs"] = outcome(lambda: gradcheck(lambda x, y: (torch.sin(x), x * y), (x3, y3)))
cases["two_outputs_wrong_second"] = outcome(lambda: gradcheck(lambda x, y: (torch.sin(x), x * y.detach() * y), (x3, y3)))
cases["grad_inside"] = outcome(lambda: gradcheck(lambda x: torch.autograd.grad(x.pow(3).sum(), x, create_graph=True)[0], (x3,)))
go = torch.tensor([0.5, -1.0, 2.0], dtype=D, requires_grad=True)
cases["gradgrad_cube"] = outcome(lambda: gradgradcheck(lambda x: x.pow(3), (x3,), (go,)))
cases["gradgrad_generated"] = outcome(lambda: gradgradcheck(lambda x, y: torch.sin(x) * y, (x3, y3)))
cases["gradgrad_detached_backward"] = outcome(lambda: gradgradcheck(lambda x: x * x.detach().exp(), (x3,), (go,)))
cases["gradgrad_detached_backward_no_raise"] = outcome(lambda: gradgradcheck(lambda x: x * x.detach().exp(), (x3,), (go,), raise_exception=False))


class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        r = x.exp()
        ctx.save_for_backward(r)
        return r

    @staticmethod
    def backward(ctx, g):
        r, = ctx.saved_tensors
        return g * r


class WrongExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        r = x.exp()
        ctx.save_for_backward(r)
        return r

    @staticmethod
    def backward(ctx, g):
        r, = ctx.saved_tensors
        return g * r * 2


cases["custom_exp"] = outcome(lambda: gradcheck(Exp.apply, (x3,)))
cases["custom_exp_gradgrad"] = outcome(lambda: gradgradcheck(Exp.apply, (x3,), (go,)))
cases["custom_wrong_exp"] = outcome(lambda: gradcheck(WrongExp.apply, (x3,), raise_exception=False))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gradcheck.json"), "w") as fh:
    json.dump({"torch": torch.__version__, "cases": cases}, fh, indent=1)
