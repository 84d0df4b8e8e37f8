"""Expected autograd graphs (grad_fn walks) from real PyTorch, for tests/AutogradKit.Tests/Graph/GraphCasesTests.cs.

Run with /usr/bin/python3 (PyTorch 1.13): python3 generate_graphs.py  ->  graphs.json

Each case is an expression over tensor operands; the C# test rebuilds the same expression by name
(GraphCases.Build) and walks its grad_fn breadth first, like walk() below. For each node in BFS order
(each node once) we record its type name and its next_functions as (name or None, input_nr).

Operands are tensors throughout the shared cases: Python turns a Python number operand (x * 2) into a
wrapped 0-dim tensor and calls the Tensor overload (MulBackward0), while TorchSharp calls libtorch's
Scalar overload (MulBackward1). The "scalar overload" cases call that same Scalar overload explicitly
through torch.ops.aten, so their expectations also come from PyTorch itself.
"""
import json
import re

import torch
import torch.nn.functional as F

# Where PyTorch 1.13 names a node differently from libtorch 2.10 (the library the C# tests run on),
# the expectation is libtorch 2.10's, recorded here with the reason: {case: {old_name: new_name}}.
#
# SqueezeBackward3 -> SqueezeBackward4: matmul of a 1-D and a 2-D tensor ends in the in-place
#   squeeze_(0) (aten::squeeze_.dim). PyTorch 2.0 added the squeeze.dims / squeeze_.dims overloads to
#   derivatives.yaml, which renumbered the generated nodes: squeeze_.dim went from SqueezeBackward3 to
#   SqueezeBackward4.
# ReshapeAliasBackward0 -> ViewBackward0: PyTorch 1.13's reshape of a viewable tensor called
#   aten::_reshape_alias; PyTorch 2.x's reshape calls view() instead, so the node is ViewBackward0.
_SQUEEZE_RENUMBERED = {"SqueezeBackward3": "SqueezeBackward4"}
OVERRIDES = {
    "matmul_1d_2d": _SQUEEZE_RENUMBERED,
    "notebook_z": _SQUEEZE_RENUMBERED,
    "dot:notebook_loss": _SQUEEZE_RENUMBERED,
    "dot:notebook_z_unnamed": _SQUEEZE_RENUMBERED,
    "dot:notebook_z_root_named": _SQUEEZE_RENUMBERED,
    "notebook_loss": _SQUEEZE_RENUMBERED,
    "reshape": {"ReshapeAliasBackward0": "ViewBackward0"},
}


def operands():
    g = torch.Generator().manual_seed(0)

    def r(*shape, grad=True):
        return (torch.rand(*shape, generator=g) + 0.5).requires_grad_(grad)

    return {
        "x": r(2, 3), "y": r(2, 3), "w": r(3, 4), "b": r(4), "v": r(3),
        "t": r(2, 3, grad=False),
    }


def notebook():
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    return x, y, w, b, z


aten = torch.ops.aten

# name -> (python expression shown to the reader, builder). The C# switch uses the same names.
CASES = {
    "add": ("x + y", lambda o: o["x"] + o["y"]),
    "add_no_grad_operand": ("x + t", lambda o: o["x"] + o["t"]),
    "sub": ("x - y", lambda o: o["x"] - o["y"]),
    "mul": ("x * y", lambda o: o["x"] * o["y"]),
    "mul_self": ("x * x", lambda o: o["x"] * o["x"]),
    "div": ("x / y", lambda o: o["x"] / o["y"]),
    "neg": ("-x", lambda o: -o["x"]),
    "matmul_2d": ("torch.matmul(x, w)", lambda o: torch.matmul(o["x"], o["w"])),
    "matmul_1d_2d": ("torch.matmul(v, w)", lambda o: torch.matmul(o["v"], o["w"])),
    "mm": ("torch.mm(x, w)", lambda o: torch.mm(o["x"], o["w"])),
    "pow_tensor_exponent": ("torch.pow(x, y)", lambda o: torch.pow(o["x"], o["y"])),
    "pow_scalar_exponent": ("torch.pow(x, 2.0)", lambda o: torch.pow(o["x"], 2.0)),
    "exp": ("torch.exp(x)", lambda o: torch.exp(o["x"])),
    "log": ("torch.log(x)", lambda o: torch.log(o["x"])),
    "sin": ("torch.sin(x)", lambda o: torch.sin(o["x"])),
    "cos": ("torch.cos(x)", lambda o: torch.cos(o["x"])),
    "sqrt": ("torch.sqrt(x)", lambda o: torch.sqrt(o["x"])),
    "abs": ("torch.abs(x)", lambda o: torch.abs(o["x"])),
    "tanh": ("torch.tanh(x)", lambda o: torch.tanh(o["x"])),
    "sigmoid": ("torch.sigmoid(x)", lambda o: torch.sigmoid(o["x"])),
    "relu": ("torch.relu(x)", lambda o: torch.relu(o["x"])),
    "sum": ("x.sum()", lambda o: o["x"].sum()),
    "sum_dim": ("x.sum(1)", lambda o: o["x"].sum(1)),
    "mean": ("x.mean()", lambda o: o["x"].mean()),
    "view": ("x.view(3, 2)", lambda o: o["x"].view(3, 2)),
    "reshape": ("x.reshape(6)", lambda o: o["x"].reshape(6)),
    "transpose": ("x.transpose(0, 1)", lambda o: o["x"].transpose(0, 1)),
    "t": ("x.t()", lambda o: o["x"].t()),
    "unsqueeze": ("x.unsqueeze(0)", lambda o: o["x"].unsqueeze(0)),
    "index_int": ("x[0]", lambda o: o["x"][0]),
    "index_slice": ("x[1:]", lambda o: o["x"][1:]),
    # x[:, 1:] through C++ tensor indexing (TorchSharp's indexer): C++ indexing skips the full ':' slice
    # (disable_slice_optimization=false, see the NOTE in ATen/TensorIndexing.h) where Python's getitem
    # records it as a second SliceBackward0; so the expectation is the one slice C++ dispatches.
    "index_colon_slice": ("x[:, 1:] (C++ indexing: aten.slice.Tensor(x, 1, 1))",
                          lambda o: aten.slice.Tensor(o["x"], 1, 1)),
    "cat": ("torch.cat([x, y])", lambda o: torch.cat([o["x"], o["y"]])),
    "stack": ("torch.stack([x, y])", lambda o: torch.stack([o["x"], o["y"]])),
    "bce_with_logits": ("F.binary_cross_entropy_with_logits(x, t)",
                        lambda o: F.binary_cross_entropy_with_logits(o["x"], o["t"])),
    "mse_loss": ("F.mse_loss(x, y)", lambda o: F.mse_loss(o["x"], o["y"])),
    "linear": ("F.linear(x, w.t(), b)", lambda o: F.linear(o["x"], o["w"].t(), o["b"])),
    "softmax": ("F.softmax(x, 1)", lambda o: F.softmax(o["x"], 1)),
    "log_softmax": ("F.log_softmax(x, 1)", lambda o: F.log_softmax(o["x"], 1)),
    "clone": ("x.clone()", lambda o: o["x"].clone()),
    "chain_mul_sum": ("(x * y).sum()", lambda o: (o["x"] * o["y"]).sum()),
    "chain_mixed": ("torch.exp(x).sum() + torch.tanh(y).mean()",
                    lambda o: torch.exp(o["x"]).sum() + torch.tanh(o["y"]).mean()),
    "mlp": ("torch.relu(torch.matmul(x, w) + b).sum()",
            lambda o: torch.relu(torch.matmul(o["x"], o["w"]) + o["b"]).sum()),
    "notebook_z": ("z = torch.matmul(x, w) + b", lambda o: notebook()[4]),
    "notebook_loss": ("F.binary_cross_entropy_with_logits(z, y)",
                      lambda o: (lambda n: F.binary_cross_entropy_with_logits(n[4], n[1]))(notebook())),
    # Scalar overloads: what TorchSharp's x + 2, x - 2, x * 2, x / 2 and x.pow(2) call in libtorch.
    "scalar_add": ("aten.add.Scalar(x, 2.0)", lambda o: aten.add.Scalar(o["x"], 2.0)),
    "scalar_sub": ("aten.sub.Scalar(x, 2.0)", lambda o: aten.sub.Scalar(o["x"], 2.0)),
    "scalar_mul": ("aten.mul.Scalar(x, 2.0)", lambda o: aten.mul.Scalar(o["x"], 2.0)),
    "scalar_div": ("aten.div.Scalar(x, 2.0)", lambda o: aten.div.Scalar(o["x"], 2.0)),
    "scalar_pow": ("aten.pow.Tensor_Scalar(x, 2.0)", lambda o: aten.pow.Tensor_Scalar(o["x"], 2.0)),
}


def walk(root):
    """Breadth first from root.grad_fn, each node once: [(name, [(name or None, input_nr), ...]), ...]."""
    nodes = []
    queue = [root.grad_fn]
    seen = {root.grad_fn}
    while queue:
        fn = queue.pop(0)
        edges = []
        for nxt, nr in fn.next_functions:
            edges.append([None if nxt is None else type(nxt).__name__, nr])
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
        nodes.append({"name": type(fn).__name__, "next": edges})
    return nodes


def apply_overrides(case, nodes):
    renames = OVERRIDES.get(case, {})
    for node in nodes:
        node["name"] = renames.get(node["name"], node["name"])
        for edge in node["next"]:
            if edge[0] is not None:
                edge[0] = renames.get(edge[0], edge[0])
    return nodes


# torchviz's make_dot (torchviz 0.0.2, MIT), transcribed with a stand-in for python-graphviz's Digraph so
# that no package beyond torch is needed; the emitted text follows python-graphviz's source format
# (tab-indented lines, attributes sorted, IDs quoted only when they must be). One deliberate difference:
# torchviz's label line break is a raw newline inside the quoted label; we write DOT's \n escape, which
# Graphviz draws the same way, so every DOT statement stays on one line. Node ids are id() values, so the
# data keeps them normalised to n0, n1, ... in order of first appearance (the C# test does the same).
class _Digraph:
    _ID = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?))$")

    def __init__(self):
        self.body = []
        self.size = None

    @classmethod
    def quote(cls, s):
        if not cls._ID.match(s) or s.lower() in ("node", "edge", "graph", "digraph", "subgraph", "strict"):
            return '"%s"' % s.replace('"', '\\"')
        return s

    def node(self, name, label, **attrs):
        extra = "".join(" %s=%s" % (k, self.quote(v)) for k, v in sorted(attrs.items()))
        self.body.append("\t%s [label=%s%s]" % (name, self.quote(label.replace("\n", "\\n")), extra))

    def edge(self, tail, head, **attrs):
        extra = "".join(" %s=%s" % (k, self.quote(v)) for k, v in sorted(attrs.items()))
        self.body.append("\t%s -> %s%s" % (tail, head, " [%s]" % extra.strip() if extra else ""))

    def source(self):
        return ("digraph {\n\tgraph [size=%s]\n" % self.quote(self.size)
                + "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n"
                + "".join(line + "\n" for line in self.body) + "}\n")


def make_dot(var, params=None):
    param_map = {id(v): k for k, v in params.items()} if params is not None else {}
    dot = _Digraph()
    seen = set()

    def size_to_str(size):
        return "(" + (", ").join(["%d" % v for v in size]) + ")"

    def get_var_name(var, name=None):
        if not name:
            name = param_map[id(var)] if id(var) in param_map else ""
        return "%s\n %s" % (name, size_to_str(var.size()))

    def add_nodes(fn):
        if fn in seen:
            return
        seen.add(fn)
        dot.node(str(id(fn)), str(type(fn).__name__))
        if hasattr(fn, "variable"):
            var = fn.variable
            seen.add(var)
            dot.node(str(id(var)), get_var_name(var), fillcolor="lightblue")
            dot.edge(str(id(var)), str(id(fn)))
        if hasattr(fn, "next_functions"):
            for u in fn.next_functions:
                if u[0] is not None:
                    dot.edge(str(id(u[0])), str(id(fn)))
                    add_nodes(u[0])

    def add_base_tensor(var, color="darkolivegreen1"):
        if var in seen:
            return
        seen.add(var)
        dot.node(str(id(var)), get_var_name(var), fillcolor=color)
        if var.grad_fn:
            add_nodes(var.grad_fn)
            dot.edge(str(id(var.grad_fn)), str(id(var)))

    add_base_tensor(var)
    # resize_graph(dot): size_per_element=0.15, min_size=12
    size = max(12, len(dot.body) * 0.15)
    dot.size = str(size) + "," + str(size)
    return dot.source()


def normalise_ids(text):
    ids = {}
    return re.sub(r"(?m)(?<=\t)\d+|(?<=-> )\d+", lambda m: ids.setdefault(m.group(0), "n%d" % len(ids)), text)


def dot_cases():
    x, y, w, b, z = notebook()
    loss = F.binary_cross_entropy_with_logits(z, y)
    o = operands()
    chain = o["x"]
    for _ in range(100):
        chain = chain * o["y"]
    def case(name, names, root, params):
        text = normalise_ids(make_dot(root, params))
        for old, new in OVERRIDES.get("dot:" + name, {}).items():
            text = text.replace("[label=%s]" % old, "[label=%s]" % new)
        return {"name": name, "names": names, "dot": text}

    return [
        case("notebook_loss", ["w", "b"], loss, {"w": w, "b": b}),
        case("notebook_z_unnamed", [], z, None),
        case("notebook_z_root_named", ["z", "w"], z, {"z": z, "w": w}),
        case("chain_100_mul", ["x", "y"], chain, {"x": o["x"], "y": o["y"]}),
    ]


def main():
    cases = []
    for name, (expression, build) in CASES.items():
        root = build(operands())
        cases.append({"name": name, "python": expression, "root_shape": list(root.shape),
                      "nodes": apply_overrides(name, walk(root))})
    data = {"generator": "generate_graphs.py", "torch": torch.__version__,
            "overrides": OVERRIDES, "cases": cases, "dot_cases": dot_cases()}
    with open("graphs.json", "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
