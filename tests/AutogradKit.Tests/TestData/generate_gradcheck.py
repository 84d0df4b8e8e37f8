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
    """exp, saving its result; the other custom functions here take its forward and change the backward."""
    @staticmethod
    def forward(ctx, x):
        r = x.exp()
        ctx.save_for_backward(r)
        return r

    @staticmethod
    def backward(ctx, g):
        r, = ctx.saved_tensors
        return g * r


class WrongExp(Exp):
    """Exp's forward; a backward twice too large."""

    @staticmethod
    def backward(ctx, g):
        r, = ctx.saved_tensors
        return g * r * 2


cases["custom_exp"] = outcome(lambda: gradcheck(Exp.apply, (x3,)))
cases["custom_exp_gradgrad"] = outcome(lambda: gradgradcheck(Exp.apply, (x3,), (go,)))
cases["custom_wrong_exp"] = outcome(lambda: gradcheck(WrongExp.apply, (x3,), raise_exception=False))

# --- fast_mode: PyTorch's random u, v come from a fresh torch.Generator(), so the C# side draws the same vectors
# and the texts (which print vᵀJu) are comparable whole.
cases["fast_two_outputs"] = outcome(lambda: gradcheck(lambda x, y: (torch.sin(x), x * y), (x3, y3), fast_mode=True))
cases["fast_mismatch"] = outcome(lambda: gradcheck(lambda x, y: x * 2 + y.detach() * y, (a, b), fast_mode=True))
cases["fast_mismatch_no_raise"] = outcome(lambda: gradcheck(lambda x, y: x * 2 + y.detach() * y, (a, b), fast_mode=True, raise_exception=False))
cases["fast_two_outputs_wrong_second"] = outcome(lambda: gradcheck(lambda x, y: (torch.sin(x), x * y.detach() * y), (x3, y3), fast_mode=True))
cases["fast_custom_exp"] = outcome(lambda: gradcheck(Exp.apply, (x3,), fast_mode=True))
cases["fast_custom_wrong_exp"] = outcome(lambda: gradcheck(WrongExp.apply, (x3,), fast_mode=True))
cases["fast_float32_linear"] = outcome(lambda: gradcheck(lambda x: x * 2, (f32,), eps=1e-3, atol=1e-2, fast_mode=True))
cases["fast_float32_wrong"] = outcome(lambda: gradcheck(lambda x: x * x.detach(), (f32,), eps=1e-3, atol=1e-2, fast_mode=True))
cases["fast_integer_output"] = outcome(lambda: gradcheck(lambda x: (x > 0).long(), (a,), fast_mode=True))
cases["fast_shape_change"] = outcome(lambda: gradcheck(lambda x: x[x > 0.5] * 2, (half,), fast_mode=True))
cases["fast_gradgrad_cube"] = outcome(lambda: gradgradcheck(lambda x: x.pow(3), (x3,), (go,), fast_mode=True))
cases["fast_gradgrad_detached_backward"] = outcome(lambda: gradgradcheck(lambda x: x * x.detach().exp(), (x3,), (go,), fast_mode=True))
cases["integer_output_jumps"] = outcome(lambda: gradcheck(lambda x: (x * 1e7).long(), (a,)))
cases["fast_integer_output_jumps"] = outcome(lambda: gradcheck(lambda x: (x * 1e7).long(), (a,), fast_mode=True))
# A coarse eps fails fast mode, while its slow-mode re-run (eps 1e-3 in PyTorch 1.13) agrees: the "might've passed" hint.
cases["fast_coarse_eps_slow_ok"] = outcome(lambda: gradcheck(lambda x: x.pow(3), (x3,), eps=0.5, fast_mode=True))
m4 = torch.tensor([[0.5, -1.2], [2.0, 0.7]], dtype=D, requires_grad=True)
cases["fast_matmul_wrong"] = outcome(lambda: gradcheck(lambda m, x: m @ x.detach() * x[:2], (m4, x3[:2].detach().clone().requires_grad_()), fast_mode=True))


# --- check_batched_grad: vmap(vjp) against a loop of vjps.
class ItemExp(Exp):
    """Exp's forward; backward calls .item(), which vmap cannot batch."""

    @staticmethod
    def backward(ctx, g):
        r, = ctx.saved_tensors
        return g * r * (1 + 0 * g.sum().item())


class NinthCallDoubles(Exp):
    """Backward doubles its result on its 9th call: slow gradcheck of a 3-element output makes 6 backward calls
    (the Jacobian twice), the batched check 2 more (the loop), so the 9th is the vmapped one: a mismatch that the
    reentrancy check cannot see."""
    calls = 0

    @staticmethod
    def backward(ctx, g):
        NinthCallDoubles.calls += 1
        r, = ctx.saved_tensors
        return g * r * (2.0 if NinthCallDoubles.calls == 9 else 1.0)


def split_message(case, separator):
    """The text before `separator` (inclusive) and after the libtorch detail, where the detail is libtorch's own."""
    if "message" in case:
        m = case.pop("message")
        head, tail = m.split(separator, 1)
        case["message_prefix"] = head + separator
        case["message_suffix"] = tail[tail.index("\n\n"):] if separator.endswith("got: ") else ""
        case["pytorch_detail"] = m
    return case


cases["batched_two_inputs"] = outcome(lambda: gradcheck(lambda x, y: torch.sin(x) * y, (x3, y3), check_batched_grad=True))
cases["batched_two_outputs"] = outcome(lambda: gradcheck(lambda x, y: (torch.sin(x), x * y), (x3, y3), check_batched_grad=True))
cases["batched_custom_exp"] = outcome(lambda: gradcheck(Exp.apply, (x3,), check_batched_grad=True))
cases["batched_fast_custom_exp"] = outcome(lambda: gradcheck(Exp.apply, (x3,), check_batched_grad=True, fast_mode=True))
cases["batched_gradgrad"] = outcome(lambda: gradgradcheck(lambda x: x.pow(3), (x3,), (go,), check_batched_grad=True))
cases["batched_item"] = split_message(outcome(lambda: gradcheck(ItemExp.apply, (x3,), check_batched_grad=True)), "While computing batched gradients, got: ")
cases["batched_item_no_raise"] = outcome(lambda: gradcheck(ItemExp.apply, (x3,), check_batched_grad=True, raise_exception=False))
cases["batched_mismatch"] = split_message(outcome(lambda: gradcheck(NinthCallDoubles.apply, (x3,), check_batched_grad=True)), "\n\nGot:\n")

# --- complex inputs/outputs (Wirtinger calculus: imaginary parts of complex outputs first, then real parts).
z2 = torch.complex(torch.tensor([0.3, -0.7], dtype=D), torch.tensor([1.1, 0.4], dtype=D)).requires_grad_()
w2 = torch.complex(torch.tensor([-0.2, 0.9], dtype=D), torch.tensor([0.5, -1.3], dtype=D)).requires_grad_()
r2 = torch.tensor([0.6, -1.4], dtype=D, requires_grad=True)
for fast in (False, True):
    p = "fast_" if fast else ""
    cases[p + "complex_to_real"] = outcome(lambda: gradcheck(lambda z: z.abs(), (z2,), fast_mode=fast))
    cases[p + "complex_to_complex"] = outcome(lambda: gradcheck(lambda z, w: z * w.exp(), (z2, w2), fast_mode=fast))
    cases[p + "real_to_complex"] = outcome(lambda: gradcheck(lambda x: torch.complex(x * x, x.sin()), (r2,), fast_mode=fast))
    cases[p + "complex_mixed_outputs"] = outcome(lambda: gradcheck(lambda z, x: (z.abs() * x, z * x), (z2, r2), fast_mode=fast))
    cases[p + "complex_wrong"] = outcome(lambda: gradcheck(lambda z: z * z.detach(), (z2,), fast_mode=fast))
    cases[p + "complex_wrong_second_output"] = outcome(lambda: gradcheck(lambda z, x: (z.abs() * x, z * x.detach() * x), (z2, r2), fast_mode=fast))
    cases[p + "complex_to_real_wrong"] = outcome(lambda: gradcheck(lambda z: (z * z.detach()).real, (z2,), fast_mode=fast))
cases["complex_gradgrad"] = outcome(lambda: gradgradcheck(lambda z: z * z * z, (z2,), (w2.detach().requires_grad_(),)))
cases["complex_gradgrad_generated"] = outcome(lambda: gradgradcheck(lambda z: z * z * z, (z2,)))
cases["complex_gradgrad_generated_fast"] = outcome(lambda: gradgradcheck(lambda z: z * z * z, (z2,), fast_mode=True, gen_non_contig_grad_outputs=True))
cases["complex_batched"] = outcome(lambda: gradcheck(lambda z: z * z, (z2,), check_batched_grad=True))

# Python's repr of the floats gradcheck's texts print (f-strings of 0-dim tensors format their item()).
float_reprs = [[v, repr(v)] for v in [4.000000000000895, 0.0, -0.0, 1e-06, 1e-3, 1.0, -2.5, 0.0001, 0.00012345, 1e-05,
                                      123456789.0, 1e15, 1e16, 1.5e16, 2.220446049250313e-16, 0.30000001192092896,
                                      -1234.5678, 1e300, 5e-324]]

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gradcheck.json"), "w") as fh:
    json.dump({"torch": torch.__version__, "cases": cases, "float_reprs": float_reprs}, fh, indent=1)
