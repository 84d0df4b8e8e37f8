"""Expected torch.autograd.graph.saved_tensors_hooks / save_on_cpu results from real PyTorch 1.13, for
tests/AutogradKit.Tests/Graph/SavedTensorsHooksTests.cs.

Run: /usr/bin/python3 generate_saved_tensors.py  (writes saved_tensors.json next to this file).
Each function here has a C# twin of the same name in SavedTensorsData.Function (same operations, same order).
"""
import json
import os
import torch
from torch.autograd.graph import saved_tensors_hooks, save_on_cpu, disable_saved_tensors_hooks

torch.set_default_dtype(torch.float64)

FUNCTIONS = {
    "mul_self": lambda x: (x * x).sum(),
    "pow_mul": lambda x: (x.pow(2) * x).sum(),
    "exp_sin": lambda x: x.exp().sin().sum(),
    "tanh_matmul": lambda x: torch.tanh(x.reshape(3, 1) @ x.reshape(1, 3)).sum(),
    "sum_only": lambda x: (x + 1).sum(),
}
X = [0.5, -1.2, 2.0]

cases = []
for name, f in FUNCTIONS.items():
    x = torch.tensor(X, requires_grad=True)
    packed, unpacked = [], []
    with saved_tensors_hooks(lambda t: packed.append(list(t.shape)) or t, lambda o: unpacked.append(1) or o):
        y = f(x)
    y.backward()
    plain = torch.tensor(X, requires_grad=True)
    f(plain).backward()
    assert torch.equal(plain.grad, x.grad)
    # An unpack that doubles every saved tensor changes the gradient (PyTorch's own test_saved_tensor_hooks idea).
    x2 = torch.tensor(X, requires_grad=True)
    with saved_tensors_hooks(lambda t: t, lambda o: o * 2):
        y2 = f(x2)
    y2.backward()
    cases.append({"function": name, "input": X, "packs": len(packed), "packed_shapes": packed,
                  "unpacks": len(unpacked), "grad": x.grad.tolist(), "grad_doubled_unpack": x2.grad.tolist()})

# Nesting: the inner scope's hooks replace the outer ones for tensors saved inside it.
x = torch.tensor(X, requires_grad=True)
outer, inner = [], []
with saved_tensors_hooks(lambda t: outer.append(1) or t, lambda o: o):
    a = x.exp()
    with saved_tensors_hooks(lambda t: inner.append(1) or t, lambda o: o):
        b = a.sin()
    c = (b * a).sum()
nesting = {"outer_packs": len(outer), "inner_packs": len(inner)}

# retain_graph: unpack runs again in the second pass.
x = torch.tensor(X, requires_grad=True)
unpacks = []
with saved_tensors_hooks(lambda t: t, lambda o: unpacks.append(1) or o):
    y = (x * x).sum()
y.backward(retain_graph=True)
first = len(unpacks)
y.backward()
retain = {"first_pass_unpacks": first, "both_passes_unpacks": len(unpacks), "grad": x.grad.tolist()}

# save_on_cpu, with and without pin_memory (no CUDA: an ordinary copy).
save_on_cpu_cases = {}
for pin in (False, True):
    x = torch.tensor(X, requires_grad=True)
    with save_on_cpu(pin_memory=pin):
        y = x.exp().sin().sum()
    y.backward()
    save_on_cpu_cases[str(pin).lower()] = x.grad.tolist()

messages = {}


def msg(key, call):
    try:
        call()
    except Exception as e:  # noqa: BLE001
        messages[key] = {"type": type(e).__name__, "message": str(e).splitlines()[0]}
    else:
        raise AssertionError(key)


def unpack_none():
    x = torch.tensor(X, requires_grad=True)
    with saved_tensors_hooks(lambda t: t, lambda o: None):
        y = (x * x).sum()
    y.backward()


def hooks_inside_disable():
    with disable_saved_tensors_hooks("hooks are off here"):
        with saved_tensors_hooks(lambda t: t, lambda o: o):
            pass


def disable_inside_hooks():
    with saved_tensors_hooks(lambda t: t, lambda o: o):
        with disable_saved_tensors_hooks("hooks are off here"):
            pass


def pack_in_place():
    x = torch.tensor(X, requires_grad=True)
    with saved_tensors_hooks(lambda t: t.mul_(1), lambda o: o):
        x.exp()


msg("unpack_none", unpack_none)
msg("pack_in_place", pack_in_place)
msg("hooks_inside_disable", hooks_inside_disable)
msg("disable_inside_hooks", disable_inside_hooks)

# Inside disable_saved_tensors_hooks, nothing is packed.
x = torch.tensor(X, requires_grad=True)
packed = []
with disable_saved_tensors_hooks("off"):
    y = (x * x).sum()
disabled_packs = len(packed)

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "saved_tensors.json"), "w") as out:
    json.dump({"torch": torch.__version__, "cases": cases, "nesting": nesting, "retain_graph": retain,
               "save_on_cpu": save_on_cpu_cases, "messages": messages, "disabled_packs": disabled_packs},
              out, indent=1)
