"""Expected values for tests/AutogradKit.Tests/Hooks/RegisterHookTests.cs, from real PyTorch.

Run with /usr/bin/python3 (PyTorch 1.13): python3 generate_hooks.py > hooks.json
Each case mirrors one C# test scenario, with x = [1, 2, 3] (float64, requires_grad) unless said otherwise.
"""
import json

import torch


def leaf():
    return torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)


def values(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


cases = {}

# A hook on a leaf sees d(sum(x*x))/dx and keeps it.
x = leaf(); seen = []
x.register_hook(lambda g: seen.append(values(g)))
(x * x).sum().backward()
cases["leaf_sees_gradient"] = {"seen": seen, "grad": values(x.grad)}

# A hook on a non-leaf y = x*x sees d(sum(3y))/dy.
x = leaf(); seen = []
y = x * x
y.register_hook(lambda g: seen.append(values(g)))
(y * 3).sum().backward()
cases["nonleaf_sees_gradient"] = {"seen": seen, "grad": values(x.grad)}

# Replacing the gradient of a leaf.
x = leaf()
x.register_hook(lambda g: g * 10)
(x * x).sum().backward()
cases["leaf_replacement"] = {"grad": values(x.grad)}

# Replacing the gradient of a non-leaf changes the leaf's grad.
x = leaf()
y = x * x
y.register_hook(lambda g: g * 2)
y.sum().backward()
cases["nonleaf_replacement"] = {"grad": values(x.grad)}

# Returning None keeps the gradient.
x = leaf(); calls = []
x.register_hook(lambda g: calls.append(1))
(x * x).sum().backward()
cases["none_keeps"] = {"calls": len(calls), "grad": values(x.grad)}

# Several hooks run in registration order, each seeing the previous result.
x = leaf(); seen1 = []; seen2 = []
y = x * x
y.register_hook(lambda g: (seen1.append(values(g)), g + 1)[1])
y.register_hook(lambda g: (seen2.append(values(g)), g * 2)[1])
(y * 3).sum().backward()
cases["order"] = {"seen1": seen1, "seen2": seen2, "grad": values(x.grad)}

# Removing the first of two hooks leaves the second.
x = leaf(); calls1 = []; calls2 = []
y = x * x
h1 = y.register_hook(lambda g: (calls1.append(1), g * 2)[1])
h2 = y.register_hook(lambda g: (calls2.append(1), g * 3)[1])
h1.remove()
h1.remove()
y.sum().backward()
cases["remove_first"] = {"calls1": len(calls1), "calls2": len(calls2), "grad": values(x.grad)}

# A tensor used twice: the hook runs once, on the summed gradient.
x = leaf(); seen = []
x.register_hook(lambda g: seen.append(values(g)))
(x * x + x * 3).sum().backward()
cases["leaf_used_twice"] = {"seen": seen, "grad": values(x.grad)}

x = leaf(); seen = []
y = x * 2
y.register_hook(lambda g: seen.append(values(g)))
(y * y + y).sum().backward()
cases["nonleaf_used_twice"] = {"seen": seen, "grad": values(x.grad)}

# create_graph: the hook's replacement g * y is differentiable; x.grad = 2x^3 has a graph, and a second pass
# (after removing the hook) accumulates d(sum(2x^3))/dx = 6x^2 into it.
x = leaf()
y = x * x
h = y.register_hook(lambda g: g * y)
torch.autograd.backward([y.sum()], create_graph=True)
first = values(x.grad)
first_requires_grad = x.grad.requires_grad
gx = x.grad.clone()
h.remove()
gx.sum().backward()
cases["create_graph"] = {"first": first, "first_requires_grad": first_requires_grad, "second": values(x.grad)}

# An output of a multi-output node that the loss does not use has an undefined gradient. PyTorch calls the hook
# with None; AutogradKit's hook is a Func<Tensor, Tensor?> that never receives null, so it is not called at all
# (override below, on purpose): the leaf's gradient is the same either way.
x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
a, b = x.unbind()
calls = []
a.register_hook(lambda g: calls.append(g is None))
(b * 3).backward()
cases["undefined_gradient"] = {"python_calls_with_none": sum(calls), "autogradkit_calls": 0, "grad": values(x.grad)}

# The error texts.
try:
    torch.ones(3).register_hook(lambda g: g)
except RuntimeError as e:
    cases["no_requires_grad_error"] = {"message": str(e)}

x = leaf()
y = x * x
y.register_hook(lambda g: g[:2])
try:
    y.sum().backward()
except RuntimeError as e:
    # Python names the hook ('<lambda>'); libtorch's C++ hooks are named by their index in the list.
    cases["wrong_size_error"] = {"python_message": str(e), "libtorch_message": "hook '0' has changed the size of value"}

print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
