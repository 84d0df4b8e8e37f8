"""Expected torch.autograd.functional results from real PyTorch, for tests/AutogradKit.Tests/Functional.

Run: /usr/bin/python3 generate_functional.py  (writes functional.json next to this file).
Each function has the same definition, by name, in FunctionalTests.cs (a C# switch).
"""
import json
import os
import torch
from torch.autograd import functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)

W1 = torch.linspace(-1.0, 1.0, 12).reshape(4, 3)
B1 = torch.linspace(-0.5, 0.5, 4)


def fn(name):
    return {
        "cube_sum": lambda x: (x ** 3).sum(),
        "sin_exp": lambda x: torch.sin(x) * torch.exp(x),
        "square": lambda x: x * x,
        "linear_tanh": lambda x: torch.tanh(W1 @ x + B1),
        "matrix_power": lambda x: x @ x,
        "log_softmax": lambda x: torch.log_softmax(x, 0),
        "norm": lambda x: (x * x).sum().sqrt(),
        "quartic": lambda x: (x ** 4).sum() + (x[0] * x[1]),
        "linear": lambda x: 3 * x,
        "sigmoid": lambda x: torch.sigmoid(x),
    }[name]


def fn2(name):
    return {
        "mul_sum": lambda x, y: (x * y).sum(),
        "bilinear": lambda x, y: torch.tanh(x @ y),
        "xy2": lambda x, y: (x * y * y).sum(),
    }[name]


def t(x):
    return {"shape": list(x.shape), "data": [float(v) for v in x.detach().reshape(-1).tolist()]}


inputs = {
    "v3": torch.tensor([0.5, -1.2, 2.0]),
    "v2": torch.tensor([0.3, 0.7]),
    "m2": torch.tensor([[1.0, 2.0], [-0.5, 0.25]]),
    "s": torch.tensor(0.7),
}

cases = []


def add(kind, name, x, v=None, create_graph=False, multi=False):
    case = {"kind": kind, "function": name, "create_graph": create_graph, "multi": multi}
    if multi:
        case["inputs"] = [t(a) for a in x]
        f = fn2(name)
        xx = tuple(a.clone().requires_grad_(create_graph) for a in x)
    else:
        case["inputs"] = [t(x)]
        f = fn(name)
        xx = x.clone().requires_grad_(create_graph)
    if v is not None:
        case["v"] = [t(a) for a in v] if isinstance(v, tuple) else [t(v)]
    if kind == "jacobian":
        r = F.jacobian(f, xx, create_graph=create_graph)
    elif kind == "hessian":
        r = F.hessian(f, xx, create_graph=create_graph)
    elif kind == "vjp":
        out, r = F.vjp(f, xx, v, create_graph=create_graph)
        case["output"] = t(out)
    elif kind == "jvp":
        out, r = F.jvp(f, xx, v, create_graph=create_graph)
        case["output"] = t(out)
    elif kind == "hvp":
        out, r = F.hvp(f, xx, v, create_graph=create_graph)
        case["output"] = t(out)
    elif kind == "vhp":
        out, r = F.vhp(f, xx, v, create_graph=create_graph)
        case["output"] = t(out)
    if isinstance(r, tuple):
        flat = []
        for el in r:
            if isinstance(el, tuple):
                flat.extend(el)
            else:
                flat.append(el)
        case["expected"] = [t(a) for a in flat]
    else:
        case["expected"] = [t(r)]
    if create_graph:
        # The node each result (and the output) hangs from: what Autograd.Functional must hand back under create_graph.
        results = flat if isinstance(r, tuple) else [r]
        case["grad_fn"] = [type(a.grad_fn).__name__ if a.grad_fn is not None else None for a in results]
        if "output" in case:
            case["output_grad_fn"] = type(out.grad_fn).__name__ if out.grad_fn is not None else None
        # Second derivative through the result: d/dx of sum(result) (sum of all results' sums).
        total = sum(a.sum() for a in (flat if isinstance(r, tuple) else [r]))
        if total.requires_grad:
            g = torch.autograd.grad(total, xx if isinstance(xx, tuple) else (xx,), allow_unused=True)
            case["second"] = [t(a) if a is not None else None for a in g]
    cases.append(case)


for name, x in [("sin_exp", inputs["v3"]), ("square", inputs["m2"]), ("linear_tanh", inputs["v3"]),
                ("matrix_power", inputs["m2"]), ("log_softmax", inputs["v3"]), ("cube_sum", inputs["v3"]),
                ("linear", inputs["v2"]), ("sin_exp", inputs["s"])]:
    add("jacobian", name, x)
add("jacobian", "sin_exp", inputs["v3"], create_graph=True)
add("jacobian", "linear_tanh", inputs["v3"], create_graph=True)
for name, x in [("cube_sum", inputs["v3"]), ("norm", inputs["v3"]), ("quartic", inputs["v2"]), ("norm", inputs["m2"])]:
    add("hessian", name, x)
add("hessian", "cube_sum", inputs["v3"], create_graph=True)
add("vjp", "linear_tanh", inputs["v3"], v=torch.tensor([1.0, -2.0, 0.5, 3.0]))
add("vjp", "norm", inputs["v3"])
add("vjp", "sin_exp", inputs["v3"], v=torch.tensor([0.1, 0.2, 0.3]), create_graph=True)
add("jvp", "linear_tanh", inputs["v3"], v=torch.tensor([1.0, -2.0, 0.5]))
add("jvp", "matrix_power", inputs["m2"], v=torch.tensor([[1.0, 0.0], [0.5, -1.0]]))
add("jvp", "sin_exp", inputs["s"])
add("jvp", "sin_exp", inputs["v3"], v=torch.tensor([0.1, 0.2, 0.3]), create_graph=True)
add("hvp", "quartic", inputs["v2"], v=torch.tensor([1.0, -1.0]))
add("hvp", "norm", inputs["v3"], v=torch.tensor([0.5, 0.5, 1.0]), create_graph=True)
add("vhp", "quartic", inputs["v2"], v=torch.tensor([1.0, -1.0]))
add("vhp", "cube_sum", inputs["v3"], v=torch.tensor([0.5, 0.5, 1.0]), create_graph=True)
# Several inputs.
xa, ya = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.5, 0.25, -0.75])
add("jacobian", "mul_sum", (xa, ya), multi=True)
add("jacobian", "bilinear", (inputs["m2"], torch.tensor([[0.2, -0.3], [0.4, 0.1]])), multi=True)
add("hessian", "xy2", (xa, ya), multi=True)
add("vjp", "xy2", (xa, ya), multi=True)
add("jvp", "xy2", (xa, ya), v=(torch.ones(3), torch.tensor([1.0, 2.0, 3.0])), multi=True)
add("hvp", "xy2", (xa, ya), v=(torch.ones(3), torch.tensor([1.0, 2.0, 3.0])), multi=True)
add("vhp", "xy2", (xa, ya), v=(torch.ones(3), torch.tensor([1.0, 2.0, 3.0])), multi=True)



def graph_names(t, limit=40):
    """The graph under t.grad_fn, breadth first, each node once (by identity), as type names."""
    # The nodes are kept alive in `kept`: PyTorch hands out one Python object per live node, and a freed wrapper's
    # id could be reused by the next one.
    seen, kept, order, queue = set(), [], [], [t.grad_fn]
    while queue and len(order) < limit:
        node = queue.pop(0)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        kept.append(node)
        order.append(type(node).__name__)
        queue.extend(fn for fn, _ in node.next_functions)
    return order


# torch.autograd.grad(f(x).sum(), x, create_graph=True): the graph of the gradient, as PyTorch builds it.
grad_graphs = []
for name, x in [("sin_exp", inputs["v3"]), ("cube_sum", inputs["v3"]), ("square", inputs["m2"]),
                ("linear_tanh", inputs["v3"]), ("norm", inputs["v3"]), ("matrix_power", inputs["m2"]),
                ("sigmoid", inputs["v3"])]:
    xx = x.clone().requires_grad_(True)
    g, = torch.autograd.grad(fn(name)(xx).sum(), xx, create_graph=True)
    grad_graphs.append({"function": name, "input": t(x), "expected": t(g), "names": graph_names(g)})

# is_grads_batched: one vector-Jacobian product per row of each grad_output.
grad_batched = []
for name, x, go in [("square", inputs["v3"], torch.eye(3)),
                    ("linear_tanh", inputs["v3"], torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.0, 1.0, 0.0, -1.0]])),
                    ("matrix_power", inputs["m2"], torch.arange(12.0).reshape(3, 2, 2) / 4)]:
    xx = x.clone().requires_grad_(True)
    g, = torch.autograd.grad([fn(name)(xx)], [xx], [go], is_grads_batched=True)
    grad_batched.append({"function": name, "input": t(x), "grad_outputs": [t(go)], "expected": t(g)})
# Two outputs, each with its own batch of seeds, and an unused input (allow_unused).
xx = inputs["v3"].clone().requires_grad_(True)
unused = torch.tensor([1.0, 2.0], requires_grad=True)
gos = (torch.tensor([[1.0, 0.0, 2.0], [0.5, 0.5, 0.5]]), torch.tensor([3.0, -1.0]))
g = torch.autograd.grad([fn("sin_exp")(xx), fn("cube_sum")(xx)], [xx, unused], gos, is_grads_batched=True, allow_unused=True)
grad_batched.append({"function": "sin_exp+cube_sum", "input": t(inputs["v3"]), "grad_outputs": [t(a) for a in gos],
                     "expected": t(g[0]), "unused_is_none": g[1] is None})

# materialize_grads (PyTorch 2.x; this PyTorch 1.13 lacks it): torch/autograd/__init__.py of 2.x runs the engine
# with allow_unused and then replaces each None by torch.zeros_like(input, requires_grad=True). Done the same here.
xx = inputs["v3"].clone().requires_grad_(True)
unused = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
g = torch.autograd.grad([fn("sin_exp")(xx).sum()], [xx, unused], allow_unused=True)
g = tuple(a if a is not None else torch.zeros_like(i, requires_grad=True) for a, i in zip(g, (xx, unused)))
grad_materialized = {"function": "sin_exp", "input": t(inputs["v3"]), "unused": t(unused),
                     "expected": [t(a) for a in g], "requires_grad": [a.requires_grad for a in g]}

# Messages, exactly as PyTorch raises them.
messages = {}


def msg(key, call):
    try:
        call()
    except Exception as e:  # noqa: BLE001
        messages[key] = str(e)
    else:
        raise AssertionError(key)


xg = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
msg("grad_shape", lambda: torch.autograd.grad([xg * 2], [xg], [torch.ones(4)]))
msg("grad_nonscalar", lambda: torch.autograd.grad([xg * 2], [xg]))
msg("grad_no_grad_fn", lambda: torch.autograd.grad([torch.ones(3)], [xg], [torch.ones(3)]))
msg("grad_input_no_grad", lambda: torch.autograd.grad([(xg * 2).sum()], [torch.ones(3)]))
msg("grad_unused", lambda: torch.autograd.grad([(xg * 2).sum()], [xg, torch.ones(2, requires_grad=True)]))
yg = (xg * xg).sum()
torch.autograd.grad([yg], [xg])
msg("grad_freed", lambda: torch.autograd.grad([yg], [xg]))
yb = xg * xg
msg("grad_batched_shape", lambda: torch.autograd.grad([yb], [xg], [torch.ones(2, 4)], retain_graph=True, is_grads_batched=True))
msg("grad_batched_sizes", lambda: torch.autograd.grad([yb, yb], [xg], [torch.ones(2, 3), torch.ones(3, 3)], retain_graph=True, is_grads_batched=True))
msg("grad_batched_scalar", lambda: torch.autograd.grad([yb.sum()], [xg], retain_graph=True, is_grads_batched=True))
msg("grad_batched_empty", lambda: torch.autograd.grad([yb], [xg], [torch.ones(0, 3)], retain_graph=True, is_grads_batched=True))
msg("grad_batched_0dim", lambda: torch.autograd.grad([yb.sum()], [xg], [torch.tensor(1.0)], retain_graph=True, is_grads_batched=True))
msg("vjp_v_none", lambda: F.vjp(fn("square"), inputs["v3"]))
msg("vjp_v_size", lambda: F.vjp(fn("square"), inputs["v3"], torch.ones(4)))
msg("jvp_v_none", lambda: F.jvp(fn("square"), inputs["v3"]))
msg("jvp_v_size_multi", lambda: F.jvp(fn2("xy2"), (xa, ya), (torch.ones(3), torch.ones(2))))
msg("jvp_v_len_multi", lambda: F.jvp(fn2("xy2"), (xa, ya), (torch.ones(3),)))
msg("hvp_not_single", lambda: F.hvp(fn("square"), inputs["v3"], torch.ones(3)))
msg("hessian_not_single", lambda: F.hessian(fn("square"), inputs["v3"]))
msg("strict_independent", lambda: F.jacobian(lambda x: torch.ones(2), inputs["v3"], strict=True))
msg("strict_vectorize", lambda: F.jacobian(fn("square"), inputs["v3"], strict=True, vectorize=True))
msg("strict_vjp_independent", lambda: F.vjp(lambda x, y: (x * 2).sum(), (xa, ya), strict=True))
msg("strict_jacobian_unused_input", lambda: F.jacobian(lambda x, y: x * 2, (xa, ya), strict=True))
msg("strict_hessian_linear", lambda: F.hessian(lambda x: (3 * x).sum(), inputs["v3"], strict=True))

# Tuple outputs (f returns several tensors): Jacobian blocks [output][input], vjp/jvp per output.
def fn_tuple(name):
    return {
        "pair": lambda x, y: (torch.sin(x) * y.sum(), x.sum() * y * y),
        "pair_partial": lambda x, y: (x * 2, y.exp()),
    }[name]


tuple_cases = []
for name in ("pair", "pair_partial"):
    for create_graph in (False, True):
        x0 = inputs["v3"].clone().requires_grad_(create_graph)
        y0 = inputs["v2"].clone().requires_grad_(create_graph)
        f = fn_tuple(name)
        jac = F.jacobian(f, (x0, y0), create_graph=create_graph)
        vv = (torch.tensor([0.2, -0.4, 1.5]), torch.tensor([-0.7, 0.9]))
        out_vjp, vjp = F.vjp(f, (x0, y0), vv, create_graph=create_graph)
        tv = (torch.tensor([1.0, 0.5, -2.0]), torch.tensor([0.25, 3.0]))
        out_jvp, jvp = F.jvp(f, (x0, y0), tv, create_graph=create_graph)
        tuple_cases.append({
            "function": name, "create_graph": create_graph, "inputs": [t(x0), t(y0)],
            "jacobian": [[t(b) for b in row] for row in jac],
            "jacobian_requires_grad": [[b.requires_grad for b in row] for row in jac],
            "vjp_v": [t(a) for a in vv], "vjp_output": [t(a) for a in out_vjp], "vjp": [t(a) for a in vjp],
            "jvp_v": [t(a) for a in tv], "jvp_output": [t(a) for a in out_jvp], "jvp": [t(a) for a in jvp],
        })
msg("tuple_strict_independent", lambda: F.jacobian(fn_tuple("pair_partial"), (inputs["v3"], inputs["v2"]), strict=True))
msg("tuple_vjp_v_len", lambda: F.vjp(fn_tuple("pair"), (inputs["v3"], inputs["v2"]), (torch.ones(3),)))
msg("tuple_vjp_v_size", lambda: F.vjp(fn_tuple("pair"), (inputs["v3"], inputs["v2"]), (torch.ones(3), torch.ones(3))))
msg("tuple_vjp_v_none", lambda: F.vjp(fn_tuple("pair"), (inputs["v3"], inputs["v2"])))
msg("forward_create_graph", lambda: F.jacobian(fn("square"), inputs["v3"], create_graph=True, strategy="forward-mode"))
msg("forward_strict", lambda: F.jacobian(fn("square"), inputs["v3"], strict=True, strategy="forward-mode"))
msg("forward_no_vectorize", lambda: F.jacobian(fn("square"), inputs["v3"], strategy="forward-mode"))
msg("hessian_forward_no_vectorize", lambda: F.hessian(fn("cube_sum"), inputs["v3"], outer_jacobian_strategy="forward-mode"))

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "functional.json"), "w") as fh:
    json.dump({"torch": torch.__version__, "cases": cases, "grad_graphs": grad_graphs, "grad_batched": grad_batched,
               "grad_materialized": grad_materialized, "tuple_cases": tuple_cases, "messages": messages}, fh, indent=1)
