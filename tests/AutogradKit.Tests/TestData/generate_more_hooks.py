"""Expected values for node hooks, post-accumulate-grad hooks, backward(inputs=), multi-grad hooks and module full
backward hooks (tests/AutogradKit.Tests/Graph/GradFnHooksTests.cs, Hooks/*), from real PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13): python3 generate_more_hooks.py > more_hooks.json
Unless said otherwise x = [1, 2, 3] (float64, requires_grad).

PyTorch 1.13 lacks Tensor.register_post_accumulate_grad_hook (2.1), torch.autograd.graph.register_multi_grad_hook
(2.0; mode="all") and Module.register_full_backward_pre_hook (2.0). Their cases below are NOT run: their expected
values are written by hand from PyTorch 2.x's documentation and tests (test/test_autograd.py
test_post_accumulate_grad_hook_*, test_multi_grad_all_hooks; test/nn/test_module_hooks.py
test_full_backward_pre_hooks), and each such case says so in its "source" field.
"""
import json

import torch
import torch.nn as nn


def leaf(values=(1.0, 2.0, 3.0)):
    return torch.tensor(list(values), dtype=torch.float64, requires_grad=True)


def values(t):
    return None if t is None else [float(v) for v in t.detach().reshape(-1).tolist()]


def error_of(run):
    try:
        run()
    except Exception as e:  # noqa: BLE001 - the message is the expectation
        return str(e).split("\n")[0]
    return None


cases = {}

# --- Node hooks (grad_fn.register_prehook / register_hook) ---------------------------------------------------------

# Order at one node: the tensor hook of its output, then pre-hooks, the node, post-hooks.
x = leaf(); order = []
y = x * 2
y.register_hook(lambda g: order.append("tensor"))
y.grad_fn.register_prehook(lambda go: order.append("pre"))
y.grad_fn.register_hook(lambda gi, go: order.append("post"))
y.sum().backward()
cases["node_order"] = {"order": order, "grad": values(x.grad)}

# A pre-hook on y = x * x under (3 y).sum() sees [3, 3, 3] and doubles it.
x = leaf(); seen = []
y = x * x
y.grad_fn.register_prehook(lambda go: (seen.append([values(g) for g in go]), (go[0] * 2,))[1])
(y * 3).sum().backward()
cases["prehook_replaces"] = {"seen": seen, "grad": values(x.grad)}

# A post-hook on MulBackward0 of x * x sees both grad_inputs and the grad_output; replacing the first only.
x = leaf(); seen = []
y = x * x
y.grad_fn.register_hook(lambda gi, go: (seen.append({"gi": [values(g) for g in gi], "go": [values(g) for g in go]}), (gi[0] * 10, gi[1]))[1])
y.sum().backward()
cases["posthook_replaces"] = {"seen": seen, "grad": values(x.grad)}

# x * 2: MulBackward0's second input (the scalar) needs no gradient: None in grad_inputs.
x = leaf(); seen = []
y = x * 2
y.grad_fn.register_hook(lambda gi, go: seen.append([values(g) for g in gi]))
y.sum().backward()
cases["posthook_none_input"] = {"seen": seen, "grad": values(x.grad)}

# Returning None entries drops the gradients: x.grad stays None.
x = leaf()
y = x * 2
y.grad_fn.register_hook(lambda gi, go: (None, None))
y.sum().backward()
cases["posthook_drops"] = {"grad": values(x.grad)}

# Two pre-hooks chain in registration order; the post-hook sees the chained grad_outputs.
x = leaf(); seen1 = []; seen2 = []; post = []
y = x * x
y.grad_fn.register_prehook(lambda go: (seen1.append(values(go[0])), (go[0] + 1,))[1])
y.grad_fn.register_prehook(lambda go: (seen2.append(values(go[0])), (go[0] * 2,))[1])
y.grad_fn.register_hook(lambda gi, go: post.append(values(go[0])))
y.sum().backward()
cases["prehooks_chain"] = {"seen1": seen1, "seen2": seen2, "post_go": post, "grad": values(x.grad)}

# A removed hook is not called.
x = leaf(); calls = []
y = x * x
h = y.grad_fn.register_prehook(lambda go: calls.append(1))
h.remove()
y.sum().backward()
cases["removed_not_called"] = {"calls": len(calls), "grad": values(x.grad)}

# Hooks on AccumulateGrad (reached through next_functions): pre sees the gradient, post gets no grad_inputs;
# a pre-hook's replacement is what is accumulated.
x = leaf(); seen = []
y = x * 2
acc = y.grad_fn.next_functions[0][0]
acc.register_prehook(lambda go: (seen.append(("pre", [values(g) for g in go])), (go[0] * 5,))[1])
acc.register_hook(lambda gi, go: seen.append(("post", [values(g) for g in gi], [values(g) for g in go])))
y.sum().backward()
cases["accumulate_grad"] = {"name": type(acc).__name__, "pre": seen[0][1], "post_gi": seen[1][1], "post_go": seen[1][2], "grad": values(x.grad)}


def node_error(kind, result):
    x = leaf()
    y = x * 2
    if kind == "post":
        y.grad_fn.register_hook(lambda gi, go: result(gi))
    else:
        y.grad_fn.register_prehook(lambda go: result(go))
    return error_of(lambda: y.sum().backward())


cases["errors"] = {
    "post_count": node_error("post", lambda gi: (gi[0], gi[0], gi[0])),
    "pre_count": node_error("pre", lambda go: (go[0], go[0])),
    "post_none_replaced": node_error("post", lambda gi: (gi[0], torch.ones(3, dtype=torch.float64))),
    "post_size": node_error("post", lambda gi: (torch.ones(2, dtype=torch.float64), None)),
    "pre_size": node_error("pre", lambda go: (torch.ones(2, dtype=torch.float64),)),
    "pre_type": node_error("pre", lambda go: (torch.ones(3, dtype=torch.float32),)),
}


# --- Post-accumulate-grad hooks (PyTorch 2.1+: NOT in 1.13) ---------------------------------------------------------
# Expectations written from PyTorch 2.x's documentation of Tensor.register_post_accumulate_grad_hook (its SGD example:
# v = [0, 0, 0], lr = 0.01, hook p.add_(p.grad, alpha=-lr), v.backward([1, 2, 3]) gives v = [-0.01, -0.02, -0.03]) and
# test_autograd.py's test_post_accumulate_grad_hook_* (fires after .grad is accumulated, receives the tensor, runs
# after the leaf's tensor hooks, never for torch.autograd.grad, errors for non-leaves). The gradients themselves are
# computed here by PyTorch 1.13 without the hook.
x = leaf()
(x * x).sum().backward()
first = values(x.grad)
(x * x).sum().backward()
second = values(x.grad)
v = [0.0, 0.0, 0.0]
lr = 0.01
cases["post_accumulate"] = {
    "source": "PyTorch 2.x docs and tests (1.13 has no post-accumulate-grad hooks)",
    "seen_grads": [first, second],
    "sgd_result": [vi - lr * gi for vi, gi in zip(v, [1.0, 2.0, 3.0])],
    "order": ["tensor", "post_accumulate"],
    "grad_calls": 0,
    "non_leaf_error": "post accumulate grad hooks cannot be registered on non-leaf tensors",
    "no_grad_error": error_of(lambda: torch.ones(3).register_hook(lambda g: g)),
}


# --- backward(inputs=) --------------------------------------------------------------------------------------------
x = leaf(); w = leaf((4.0, 5.0, 6.0))
y = x * w
y.sum().backward(inputs=[x], retain_graph=True)
only_x = {"x": values(x.grad), "w": values(w.grad)}
y.sum().backward(inputs=[y], retain_graph=True)
non_leaf = {"y": values(y.grad), "x": values(x.grad)}
z = leaf()
y.sum().backward(inputs=[z])
cases["backward_inputs"] = {
    "only_x": only_x,
    "non_leaf": non_leaf,
    "unreached_grad": values(z.grad),
    "empty_error": error_of(lambda: (leaf() * 2).sum().backward(inputs=[])),
    "no_grad_error": error_of(lambda: (leaf() * 2).sum().backward(inputs=[torch.ones(3)])),
}


# --- register_multi_grad_hook (PyTorch 2.0+, mode="all": NOT in 1.13) ----------------------------------------------
# Expectations written from PyTorch 2.x's docstring example of torch.autograd.graph.register_multi_grad_hook: over
# (a, b, c, d) with c = a * b, d = a * b, c.sum().backward(retain_graph=True) passes grads for [a, b, c] and None for d;
# c.sum().backward(inputs=(a,), retain_graph=True) passes [a, None, c, None]. The gradient values are computed here by
# PyTorch 1.13 with plain backward passes.
a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64, requires_grad=True)
b = torch.tensor([[0.5, -1.0, 2.0], [3.0, 0.25, -2.0]], dtype=torch.float64, requires_grad=True)
c = a * b
c.retain_grad()
c.sum().backward()
cases["multi_grad"] = {
    "source": "PyTorch 2.x docstring of register_multi_grad_hook (1.13 has no multi-grad hooks)",
    "a": values(a), "b": values(b),
    "full": [values(a.grad), values(b.grad), values(c.grad), None],
    "inputs_a": [values(a.grad), None, values(c.grad), None],
    "no_grad_error": error_of(lambda: torch.ones(3).register_hook(lambda g: g)),
}


# --- Module full backward hooks ----------------------------------------------------------------------------------
# nn.Linear(3, 2) with fixed parameters, x 5x3; loss = (out * k).sum() with k a fixed 5x2 weight.
W = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]
B = [0.01, -0.02]
X = [[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0], [0.0, 1.0, -1.0], [2.0, -2.0, 1.0], [0.5, 0.5, 0.5]]
K = [[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [-2.0, 1.0], [1.0, 1.0]]


def linear():
    m = nn.Linear(3, 2).double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor(W, dtype=torch.float64))
        m.bias.copy_(torch.tensor(B, dtype=torch.float64))
    return m


def shapes(ts):
    return [None if t is None else list(t.shape) for t in ts]


def module_case(input_requires_grad, replace):
    m = linear()
    x = torch.tensor(X, dtype=torch.float64, requires_grad=input_requires_grad)
    seen = {}

    def hook(module, grad_input, grad_output):
        seen["grad_input"] = [values(g) for g in grad_input]
        seen["grad_input_shapes"] = shapes(grad_input)
        seen["grad_output"] = [values(g) for g in grad_output]
        seen["grad_output_shapes"] = shapes(grad_output)
        if replace:
            return tuple(None if g is None else g * 2 for g in grad_input)
        return None

    m.register_full_backward_hook(hook)
    (m(x) * torch.tensor(K, dtype=torch.float64)).sum().backward()
    seen["x_grad"] = values(x.grad)
    seen["weight_grad"] = values(m.weight.grad)
    seen["bias_grad"] = values(m.bias.grad)
    return seen


cases["module_hook"] = {
    "weight": W, "bias": B, "x": X, "k": K,
    "plain": module_case(True, False),
    "replace": module_case(True, True),
    "no_input_grad": module_case(False, False),
}

# Inside a Sequential(Linear(3, 2), ReLU, Linear(2, 1)): the hook on the first layer.
seq = nn.Sequential(linear(), nn.ReLU(), nn.Linear(2, 1).double())
with torch.no_grad():
    seq[2].weight.copy_(torch.tensor([[1.5, -0.5]], dtype=torch.float64))
    seq[2].bias.copy_(torch.tensor([0.25], dtype=torch.float64))
seen = {}
seq[0].register_full_backward_hook(lambda m, gi, go: seen.update(gi=[values(g) for g in gi], go=[values(g) for g in go]))
x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
seq(x).sum().backward()
cases["module_hook"]["sequential"] = {"last_weight": [[1.5, -0.5]], "last_bias": [0.25], "grad_input": seen["gi"], "grad_output": seen["go"], "x_grad": values(x.grad)}

# A hook returning the wrong number of grad_input (PyTorch 1.13's message).
m = linear()
m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
cases["module_hook"]["wrong_count_error"] = error_of(lambda: m(torch.tensor(X, dtype=torch.float64, requires_grad=True)).sum().backward())

# Full backward PRE-hooks (PyTorch 2.0+: NOT in 1.13). Expectations written from PyTorch 2.x's documentation of
# Module.register_full_backward_pre_hook (called with grad_output before the module's gradients are computed; a returned
# tuple replaces grad_output) and test_module_hooks.py: a pre-hook doubling grad_output gives exactly the gradients of
# a plain backward seeded with twice the gradient, which PyTorch 1.13 computes here; the count message is 2.x's
# "Backward pre hook returned an invalid number of grad_output, got 2, but expected 1".
m = linear()
x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
out = m(x)
out.backward(2 * torch.tensor(K, dtype=torch.float64))
cases["module_pre_hook"] = {
    "source": "PyTorch 2.x docs and tests (1.13 has no full backward pre-hooks)",
    "grad_output": [values(torch.tensor(K, dtype=torch.float64))],
    "doubled": {"x_grad": values(x.grad), "weight_grad": values(m.weight.grad), "bias_grad": values(m.bias.grad)},
    "wrong_count_error": "Backward pre hook returned an invalid number of grad_output, got 2, but expected 1",
}

print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
