# Generates foundation.json: the values, states and error texts real PyTorch produces for AutogradKit's
# foundation features (grad-mode scopes, Backward, ZeroGrad, Detach, RequiresGrad, RetainGrad).
# Run with /usr/bin/python3 (PyTorch 1.13) from this directory; the tests only read the JSON.
import json, math, os, torch

torch.manual_seed(0)
data = {"torch": torch.__version__}


def values(t):
    return t.detach().reshape(-1).tolist()


def error(f):
    try:
        f()
    except RuntimeError as e:
        return str(e).splitlines()[0]
    raise AssertionError("no error")


# The tutorial notebook (seed/autograd-tutorial-notebook.txt), with w and b recorded so that C# does not
# depend on the random generator.
x = torch.ones(5)
y = torch.zeros(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
loss.backward()
notebook = {
    "w": values(w), "b": values(b), "loss": loss.item(),
    "w_grad": values(w.grad), "b_grad": values(b.grad),
    "second_backward_error": error(lambda: loss.backward()),
}
inp = torch.eye(5, requires_grad=True)
out = (inp + 1).pow(2)
out.backward(torch.ones_like(inp), retain_graph=True)
notebook["inp_grad_first"] = values(inp.grad)
out.backward(torch.ones_like(inp), retain_graph=True)
notebook["inp_grad_second"] = values(inp.grad)
inp.grad.zero_()
out.backward(torch.ones_like(inp), retain_graph=True)
notebook["inp_grad_after_zero"] = values(inp.grad)
data["notebook"] = notebook

# A few expressions: input values, the gradient passed to backward (None for a scalar) and x.grad.
expressions = []


def expression(name, x_values, f, v=None):
    xt = torch.tensor(x_values, dtype=torch.float64, requires_grad=True)
    out = f(xt)
    vt = None if v is None else torch.tensor(v, dtype=torch.float64)
    out.backward(vt)
    expressions.append({"name": name, "x": x_values, "v": v, "out": values(out), "grad": values(xt.grad)})


expression("cube_sum", [1.0, 2.0, 3.0], lambda t: (t ** 3).sum())
expression("sin_times_exp", [0.5, -1.0, 2.0], lambda t: t.sin() * t.exp(), [1.0, 2.0, -0.5])
expression("mean_of_square_plus_log", [0.25, 1.5, 4.0, 9.0], lambda t: (t * t + t.log()).mean())
expression("sigmoid_scaled", [-2.0, 0.0, 3.0], lambda t: torch.sigmoid(t) * 3.0, [0.1, 0.2, 0.3])
data["expressions"] = expressions

# create_graph: the gradient of x^3 keeps a graph, whose own backward gives 6x.
xc = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
yc = (xc ** 3).sum()
yc.backward(create_graph=True)
first = xc.grad.clone()
first_requires_grad = xc.grad.requires_grad
g = xc.grad
xc.grad = None
g.sum().backward()
data["create_graph"] = {"x": values(xc), "first_grad": values(first), "first_grad_requires_grad": first_requires_grad,
                        "second_grad": values(xc.grad)}
# retain_graph defaults to create_graph: a second backward through the same graph works.
xr = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
yr = (xr ** 2).sum()
yr.backward(create_graph=True)
yr.backward(create_graph=True)
data["create_graph_retains"] = {"x": values(xr), "grad_after_two": values(xr.grad)}

# retain_grad on a non-leaf.
xg = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
mid = xg * 2
mid.retain_grad()
(mid ** 2).sum().backward()
data["retain_grad"] = {"x": values(xg), "mid_grad": values(mid.grad), "x_grad": values(xg.grad)}

# Errors: the first line PyTorch prints.
x3 = torch.ones(3, requires_grad=True)
y3 = x3 * 2
errors = {
    "shape_4_vs_3": error(lambda: y3.backward(torch.ones(4))),
    "shape_1_vs_scalar": error(lambda: (x3.sum()).backward(torch.ones(1))),
    "shape_3x2_vs_2x3": error(lambda: (torch.ones(2, 3, requires_grad=True) * 2).backward(torch.ones(3, 2))),
    "shape_scalar_vs_3": error(lambda: y3.backward(torch.tensor(1.0))),
    "non_scalar": error(lambda: y3.backward()),
    "no_grad_fn": error(lambda: torch.ones(3).sum().backward()),
    "no_grad_fn_non_scalar": error(lambda: torch.ones(3).backward()),
    "requires_grad_non_leaf": error(lambda: y3.requires_grad_(False)),
    "requires_grad_integer": error(lambda: torch.ones(3, dtype=torch.int64).requires_grad_()),
    "retain_grad_no_requires_grad": error(lambda: torch.ones(3).retain_grad()),
    "complex_dtype": error(lambda: y3.backward(torch.ones(3, dtype=torch.complex64))),
    # Not an autograd error: a plain libtorch error, to check that the first line is extracted from real texts.
    # (Not matmul: TorchSharp's THSTensor_matmul has no try/catch, so its errors abort the process.)
    "reshape_invalid": error(lambda: torch.ones(2, 3).reshape(4)),
}


def zero_inference_grad():
    # A gradient made in inference mode cannot be zeroed in place outside it: a libtorch error from zero_().
    a = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        g = torch.ones(2)
    a.grad = g
    zero_inference_grad.grad = a.grad
    a.grad.zero_()


errors["zero_inference_grad"] = error(zero_inference_grad)
# libtorch checks the version counter after the kernel ran: the gradient is zeroed all the same.
data["zero_inference_grad_after_error"] = values(zero_inference_grad.grad)


def freed():
    a = torch.ones(2, requires_grad=True)
    l = (a * a).sum()
    l.backward()
    l.backward()


errors["graph_freed"] = error(freed)


def anomaly_nan():
    with torch.autograd.detect_anomaly():
        a = torch.tensor([-1.0], requires_grad=True)
        a.sqrt().sum().backward()


import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    errors["anomaly_nan"] = error(anomaly_nan)

    def anomaly_no_check():
        with torch.autograd.detect_anomaly(check_nan=False):
            a = torch.tensor([-1.0], requires_grad=True)
            a.sqrt().sum().backward()
            return values(a.grad)
    data["anomaly_no_check_nan_grad_is_nan"] = math.isnan(anomaly_no_check()[0])
data["errors"] = errors

# What libtorch 2.10 says where PyTorch 1.13's Python says something else: the tests expect libtorch 2.10.
data["overrides"] = {
    # PyTorch 1.13 checks the dtype in Python (python_variable_methods.cpp) with
    # "only Tensors of floating point dtype can require gradients"; complex dtypes may require grad since,
    # and libtorch 2.10's own check (AutogradMeta::set_requires_grad) says this:
    "requires_grad_integer": "Only Tensors of floating point and complex dtype can require gradients",
}

# Grad-mode states (is_grad_enabled, is_inference_mode_enabled) inside nested context managers.
def states():
    s = lambda: [torch.is_grad_enabled(), torch.is_inference_mode_enabled()]
    r = {"initial": s()}
    with torch.no_grad():
        r["no_grad"] = s()
        with torch.enable_grad():
            r["no_grad/enable_grad"] = s()
            with torch.set_grad_enabled(False):
                r["no_grad/enable_grad/set_false"] = s()
            r["no_grad/enable_grad after set_false"] = s()
        r["no_grad after enable_grad"] = s()
        with torch.inference_mode(False):
            r["no_grad/inference_false"] = s()
    r["after no_grad"] = s()
    with torch.inference_mode():
        r["inference"] = s()
        with torch.enable_grad():
            r["inference/enable_grad"] = s()
        with torch.inference_mode(False):
            r["inference/inference_false"] = s()
        r["inference after inner"] = s()
    r["after inference"] = s()
    with torch.inference_mode():
        t = torch.ones(2, requires_grad=True) * 2
        r["inference_result_requires_grad"] = t.requires_grad
        r["inference_result_is_inference"] = t.is_inference()
    with torch.no_grad():
        t = torch.ones(2, requires_grad=True) * 2
        r["no_grad_result_requires_grad"] = t.requires_grad
    r["anomaly_initial"] = torch.is_anomaly_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            r["anomaly_inside"] = torch.is_anomaly_enabled()
            with torch.autograd.set_detect_anomaly(False):
                r["anomaly_inside_off"] = torch.is_anomaly_enabled()
            r["anomaly_after_off"] = torch.is_anomaly_enabled()
    r["anomaly_after"] = torch.is_anomaly_enabled()
    return r


data["grad_mode"] = states()

# Detach shares storage and does not require grad.
xd = torch.tensor([1.0, 2.0], requires_grad=True)
d = (xd * 3).detach()
data["detach"] = {"requires_grad": d.requires_grad, "is_leaf": d.is_leaf, "grad_fn_is_none": d.grad_fn is None}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "foundation.json"), "w") as f:
    json.dump(data, f, indent=1)
    f.write("\n")
