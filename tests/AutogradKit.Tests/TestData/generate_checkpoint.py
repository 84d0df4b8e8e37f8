"""Expected torch.utils.checkpoint results from real PyTorch 1.13, for tests/AutogradKit.Tests/Checkpointing.

Run: /usr/bin/python3 generate_checkpoint.py  (writes checkpoint.json next to this file).
The network is a Sequential of Linear(3, 4), Tanh, Linear(4, 4), Tanh, Linear(4, 2) whose weights are written here;
CheckpointData.Network builds the same one in C#. Non-reentrant checkpointing is PyTorch 2.x's default and its
algorithm (torch/utils/checkpoint.py); its gradients equal the plain run's in every version, which is what is checked.
"""
import io
import json
import os
import warnings
from contextlib import redirect_stderr

import torch
from torch.utils.checkpoint import checkpoint, checkpoint_sequential

torch.set_default_dtype(torch.float64)
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
x0 = torch.tensor([[0.5, -1.2, 2.0], [1.5, 0.25, -0.75]])


def grads_of(run):
    net.zero_grad()
    x = x0.clone().requires_grad_(True)
    out = run(x)
    out.pow(2).sum().backward()
    return {"output": out.detach().reshape(-1).tolist(), "x": x.grad.reshape(-1).tolist(),
            "params": [p.grad.reshape(-1).tolist() for p in net.parameters()]}


def sequential_2x(functions, segments, x, use_reentrant):
    """PyTorch 2.x's checkpoint_sequential (1.13's has no use_reentrant and is always reentrant)."""
    functions = list(functions.children())

    def run_function(start, end):
        def forward(inp):
            for j in range(start, end + 1):
                inp = functions[j](inp)
            return inp
        return forward

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        x = checkpoint(run_function(start, end), x, use_reentrant=use_reentrant)
    return run_function(end + 1, len(functions) - 1)(x)


plain = grads_of(net)
results = {"plain": plain}
for reentrant in (False, True):
    key = "reentrant" if reentrant else "non_reentrant"
    results["checkpoint_" + key] = grads_of(lambda x: checkpoint(net, x, use_reentrant=reentrant))
    for segments in (1, 2, 3):
        results[f"sequential_{segments}_{key}"] = grads_of(lambda x: sequential_2x(net, segments, x, reentrant))
        if reentrant:
            assert results[f"sequential_{segments}_{key}"] == grads_of(lambda x: checkpoint_sequential(net, segments, x))
for name, value in results.items():
    for a, b in zip(value["params"] + [value["x"]], plain["params"] + [plain["x"]]):
        assert max(abs(p - q) for p, q in zip(a, b)) < 1e-12, name

messages = {}
x = x0.clone().requires_grad_(True)
try:
    torch.autograd.grad(checkpoint(net, x, use_reentrant=True).sum(), [x])
except RuntimeError as e:
    messages["reentrant_grad"] = str(e).splitlines()[0]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    checkpoint(net, x0.clone(), use_reentrant=True)
    messages["reentrant_no_input_requires_grad"] = str(caught[0].message)

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoint.json"), "w") as out:
    json.dump({"torch": torch.__version__, "input": x0.reshape(-1).tolist(), "input_shape": list(x0.shape),
               "weights": [{"shape": list(p.shape), "data": p.detach().reshape(-1).tolist()} for p in net.parameters()],
               "results": results, "messages": messages}, out, indent=1)
