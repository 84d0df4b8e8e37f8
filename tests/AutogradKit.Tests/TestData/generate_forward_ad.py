"""Expected torch.autograd.forward_ad results from real PyTorch, for tests/AutogradKit.Tests/ForwardAD.

Run: /usr/bin/python3 generate_forward_ad.py  (writes forward_ad.json next to this file).
The functions are generate_functional.py's fn(), defined by name in FunctionalData.Function on the C# side.
"""
import json
import os
import torch
import torch.autograd.forward_ad as fwAD

from generate_functional import fn, t  # noqa: E402  (also sets float64 as the default dtype)

cases = []


def add(name, x, v):
    with fwAD.dual_level():
        out = fn(name)(fwAD.make_dual(x, v))
        primal, tangent = fwAD.unpack_dual(out)
        cases.append({"function": name, "input": t(x), "v": t(v), "output": t(primal), "tangent": t(tangent)})


add("sin_exp", torch.tensor([0.5, -1.2, 2.0]), torch.tensor([0.1, 0.2, 0.3]))
add("linear_tanh", torch.tensor([0.5, -1.2, 2.0]), torch.tensor([1.0, -2.0, 0.5]))
add("matrix_power", torch.tensor([[1.0, 2.0], [-0.5, 0.25]]), torch.tensor([[1.0, 0.0], [0.5, -1.0]]))
add("log_softmax", torch.tensor([0.5, -1.2, 2.0]), torch.tensor([1.0, 1.0, -1.0]))
add("norm", torch.tensor([0.5, -1.2, 2.0]), torch.tensor([0.5, 0.5, 1.0]))
add("cube_sum", torch.tensor(0.7), torch.tensor(1.0))

messages = {}


def msg(key, call):
    try:
        call()
    except Exception as e:  # noqa: BLE001
        messages[key] = str(e).splitlines()[0]
    else:
        raise AssertionError(key)


x = torch.tensor([0.5, -1.2, 2.0])
msg("no_level", lambda: fwAD.make_dual(x, torch.ones(3)))
with fwAD.dual_level():
    msg("nested", lambda: fwAD.dual_level().__enter__())
    msg("size", lambda: fwAD.make_dual(x, torch.ones(4)))
    msg("primal_dtype", lambda: fwAD.make_dual(torch.ones(3, dtype=torch.int64), x))
    msg("tangent_dtype", lambda: fwAD.make_dual(x, torch.ones(3, dtype=torch.int64)))
    msg("already_dual", lambda: fwAD.make_dual(fwAD.make_dual(x, torch.ones(3)), torch.ones(3)))
    # An op without a forward derivative (libtorch 2.10 still has none for ormqr).
    msg("no_forward_derivative", lambda: torch.ormqr(torch.eye(3), torch.ones(3), fwAD.make_dual(torch.eye(3), torch.ones(3, 3))))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "forward_ad.json"), "w") as fh:
    json.dump({"torch": torch.__version__, "cases": cases, "messages": messages}, fh, indent=1)
