#!/usr/bin/python3
"""Generates repr.json: PyTorch's own repr() of several hundred tensors, each rebuildable in C#.

Run with the PyTorch 1.13 at /usr/bin/python3:  python3 generate_repr.py  (writes repr.json next to this file).

Each case: dtype, shape, how to build the values ("values": flattened row-major, floats as Python repr strings;
or "arange": [start, step] meaning torch.arange(numel, dtype=float64) * step + start, then .to(dtype); or "randn":
{"seed", "shapes", "pick"} meaning torch.manual_seed(seed) then torch.randn of each shape in turn, keeping number
"pick"), an optional "view" applied after building, print options, requires_grad, an optional "grad_fn" operation,
"parameter" (null, or the requires_grad of a torch.nn.Parameter wrapping the result),
the expected repr, and the repr the same tensor has on CUDA ("expected_cuda"): PyTorch's own _add_suffixes applied
to what _str_intern handed it, with device='cuda:0' first, as _str_intern puts it for a non-default device (so it
needs no GPU).

"formats" lists Python's '{:.Nf}' / '{:.Ne}' texts of single doubles, for the number-formatting helpers.
"""
import re
import json
import math
import os
import random

import torch
import torch._tensor_str as ts

DTYPES = {
    "float64": torch.float64, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "int64": torch.int64, "int32": torch.int32, "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8,
    "bool": torch.bool,
}
# Kept apart so that the loops over DTYPES below (and their random streams) are as before complex was added.
ALL_DTYPES = {**DTYPES, "complex64": torch.complex64, "complex128": torch.complex128}
FLOATS = ["float64", "float32", "float16", "bfloat16"]
INTS = ["int64", "int32", "int16", "int8", "uint8"]
COMPLEX = ["complex64", "complex128"]

# Capture what _str_intern hands to _add_suffixes, and what it gives for the tensor on cuda:0, whose device suffix
# _str_intern appends first of all.
_captured = {}
_orig_add_suffixes = ts._add_suffixes


def _recording_add_suffixes(tensor_str, suffixes, indent, force_newline):
    _captured["cuda"] = _orig_add_suffixes(tensor_str, ["device='cuda:0'"] + list(suffixes), indent, force_newline)
    # Where node names cannot be read (AutogradKit off its verified platform) the name prints as <Unknown>.
    unknown = [re.sub(r"^grad_fn=<.*>$", "grad_fn=<Unknown>", x) for x in suffixes]
    _captured["unknown"] = _orig_add_suffixes(tensor_str, unknown, indent, force_newline)
    _captured["unknown_cuda"] = _orig_add_suffixes(tensor_str, ["device='cuda:0'"] + unknown, indent, force_newline)
    return _orig_add_suffixes(tensor_str, suffixes, indent, force_newline)


ts._add_suffixes = _recording_add_suffixes

VIEWS = {
    None: lambda t: t,
    "transpose": lambda t: t.transpose(-1, -2),
    "step2": lambda t: t[::2],
    "narrow1": lambda t: t[1:],
    "expand3": lambda t: t.unsqueeze(0).expand(3, *t.shape),
    "conj": lambda t: t.conj(),
    "conj_imag": lambda t: t.conj().imag,
}

GRAD_FNS = {
    "mul_self": lambda x: x * x,
    "add_self": lambda x: x + x,
    "sum": lambda x: x.sum(),
    "neg": lambda x: -x,
    "add1_pow2": lambda x: (x + 1).pow(2),
    "t": lambda x: x.t(),
    "relu": lambda x: x.relu(),
    "sub_self": lambda x: x - x,
    "div_self": lambda x: x / x,
}


def float_str(v):
    return repr(float(v))


def build(dtype, shape, values=None, arange=None, randn=None):
    dt = ALL_DTYPES[dtype]
    numel = math.prod(shape)
    if randn is not None:
        torch.manual_seed(randn["seed"])
        made = [torch.randn(*s) for s in randn["shapes"]]
        return made[randn["pick"]].to(dt)
    if arange is not None:
        base = torch.arange(numel, dtype=torch.float64) * arange[1] + arange[0]
        if dtype in COMPLEX:
            # Complex aranges: the real part as above, the imaginary part minus half of it.
            base = torch.complex(base, -base / 2)
        return base.reshape(shape).to(dt)
    if dtype in COMPLEX:
        pairs = [complex(float(re), float(im)) for re, im in values]
        return torch.tensor(pairs, dtype=torch.complex128).reshape(shape).to(dt)
    if dtype == "bool":
        return torch.tensor(values, dtype=torch.bool).reshape(shape)
    if dtype in INTS:
        return torch.tensor(values, dtype=torch.int64).reshape(shape).to(dt)
    return torch.tensor([float(v) for v in values], dtype=torch.float64).reshape(shape).to(dt)


def stored_values(t):
    flat = t.reshape(-1)
    if t.dtype == torch.bool:
        return [bool(v) for v in flat.tolist()]
    if t.dtype.is_complex:
        return [[float_str(v.real), float_str(v.imag)] for v in flat.to(torch.complex128).tolist()]
    if not t.dtype.is_floating_point:
        return [int(v) for v in flat.tolist()]
    return [float_str(v) for v in flat.double().tolist()]


cases = []
names = set()


def add(name, dtype, shape, values=None, arange=None, randn=None, view=None, precision=4, threshold=1000,
        edgeitems=3, linewidth=80, sci_mode=None, requires_grad=False, grad_fn=None, parameter=None):
    assert name not in names, name
    names.add(name)
    shape = list(shape)
    base = build(dtype, shape, values, arange, randn)
    entry = {"name": name, "dtype": dtype, "shape": shape}
    if arange is not None:
        entry["arange"] = [float_str(arange[0]), float_str(arange[1])]
    else:
        entry["values"] = stored_values(base)
        if randn is not None:
            entry["randn"] = randn
    t = VIEWS[view](base)
    if requires_grad or grad_fn:
        t = t.detach().requires_grad_(True)
    if grad_fn:
        t = GRAD_FNS[grad_fn](t)
    if parameter is not None:
        t = torch.nn.Parameter(t, requires_grad=parameter)
    entry.update({"view": view, "grad_fn": grad_fn, "requires_grad": requires_grad, "parameter": parameter,
                  "options": {"precision": precision, "threshold": threshold, "edgeitems": edgeitems,
                              "linewidth": linewidth, "sci_mode": sci_mode}})
    torch.set_printoptions(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth,
                           sci_mode=sci_mode)
    try:
        _captured.clear()
        entry["expected"] = repr(t)
        entry["expected_cuda"] = ("Parameter containing:\n" if parameter is not None else "") + _captured["cuda"]
        if entry.get("grad_fn"):
            entry["expected_unknown_grad_fn"] = {"cpu": _captured["unknown"], "cuda:0": _captured["unknown_cuda"]}
    finally:
        torch.set_printoptions(profile="default", sci_mode=None)
    cases.append(entry)


rng = random.Random(1234)
gen = torch.Generator().manual_seed(1234)


def normal_values(n, scale=1.0):
    return (torch.randn(n, generator=gen, dtype=torch.float64) * scale).tolist()


def int_values(dtype, n):
    lo, hi = {"int64": (-10**6, 10**6), "int32": (-10**5, 10**5), "int16": (-3000, 3000), "int8": (-128, 127),
              "uint8": (0, 255)}[dtype]
    return [rng.randint(lo, hi) for _ in range(n)]


def values_for(dtype, n, scale=1.0):
    if dtype == "bool":
        return [rng.random() < 0.5 for _ in range(n)]
    if dtype in INTS:
        return int_values(dtype, n)
    return normal_values(n, scale)


# 1. Every dtype, every rank.
SHAPES = [[], [1], [5], [2, 3], [2, 3, 4], [2, 1, 2, 3], [1, 1], [3, 1]]
for dtype in DTYPES:
    for shape in SHAPES:
        add(f"{dtype}_rank{len(shape)}_{'x'.join(map(str, shape)) or 'scalar'}", dtype, shape,
            values_for(dtype, math.prod(shape)))

# 2. Empty tensors.
for dtype in DTYPES:
    for shape in [[0], [0, 3], [2, 0], [2, 0, 3]]:
        add(f"empty_{dtype}_{'x'.join(map(str, shape))}", dtype, shape, [])
add("empty_float32_0x0", "float32", [0, 0], [])
add("empty_float32_requires_grad", "float32", [0], [], requires_grad=True)
add("empty_float64_requires_grad_2d", "float64", [0, 2], [], requires_grad=True)

# 3. Integral floats.
INTEGRAL = {
    "small": [1, 2, 3], "negative": [-1, 100, 5], "zeros": [0, 0, 0], "ratio1000": [1000, 1],
    "ratio1001": [1001, 1], "max1e8": [1e8, 1], "over1e8": [1e9, 1], "big": [123456789, 2], "with_zero": [0, 4, -2],
    "eye_like": [4, 2, 2, 2], "single": [7], "minus_zero": [-0.0, 3], "large_pow2": [2.0 ** 40, 1],
}
for key, vals in INTEGRAL.items():
    for dtype in ["float32", "float64"]:
        add(f"integral_{key}_{dtype}", dtype, [len(vals)], vals)
add("integral_half", "float16", [4], [1, 2, 2048, -8])
add("integral_bfloat16", "bfloat16", [3], [1, 256, -4])
add("integral_2d", "float32", [2, 3], [1, 2, 3, 40, 50, 600])

# 4. Mixed magnitudes and the sci-mode thresholds.
MIXED = {
    "tiny_and_one": [1e-5, 1.0], "min_1e-4": [1e-4, 0.5], "below_1e-4": [9e-5, 0.5], "ratio_just_over": [0.001, 1.0001],
    "ratio_exact": [0.001, 1.0], "big_fraction": [1e10, 1.5], "mixed": [123456.789, 0.001], "wide": [1e-8, 1e8],
    "huge": [1.5e30, -2.25e-30], "just_fixed": [99999999.5, 1.5], "neg_mixed": [-1e-5, 3.25, -100.5],
    "subnormal_f64": [5e-324, 1.0], "max_f64": [1.7976931348623157e308, 1.0], "tiny_all": [1.5e-7, 2.5e-7],
}
for key, vals in MIXED.items():
    add(f"mixed_{key}_float64", "float64", [len(vals)], vals)
    if all(abs(v) < 3e38 and (v == 0 or abs(v) > 1e-38) for v in vals):
        add(f"mixed_{key}_float32", "float32", [len(vals)], vals)
add("mixed_2d_sci", "float32", [2, 2], [1e-6, 2.5, -3.75e3, 1e5])
add("mixed_half_sci", "float16", [3], [0.0001, 1000.0, 60000.0])
add("mixed_bfloat16_sci", "bfloat16", [3], [1e-6, 1.0, 1e20])

# 5. sci_mode forced.
FORCED = {
    "fraction": [0.5, 1.25, -3.125], "integral": [1, 2, 300], "integral_big": [1, 1e9], "mixed": [1e-5, 1.0],
    "zeros": [0, 0], "nan_only": [math.nan, math.nan], "with_inf": [1.5, math.inf, -2.0], "huge": [1e30, 1.0],
}
for key, vals in FORCED.items():
    for sci in [True, False]:
        add(f"sci_{'on' if sci else 'off'}_{key}", "float64", [len(vals)], vals, sci_mode=sci)
add("sci_on_2d_float32", "float32", [2, 3], [0.1, 0.2, 0.3, 10, 20, 30], sci_mode=True)
add("sci_off_2d_float32_tiny", "float32", [2, 2], [1e-6, 1e-7, 1.0, 2.0], sci_mode=False)
add("sci_on_precision2", "float32", [3], [1.0, 2.5, 3.14159], sci_mode=True, precision=2)
add("sci_off_summarized", "float64", [40], arange=[1e-6, 1e-3], sci_mode=False, threshold=10)

# 6. Precision, including ties that Python rounds half to even.
PREC_VALUES = [0.125, 0.375, 2.5, -0.625, 1.0 / 3.0, 2.675, 0.5, 1.5]
for p in [0, 1, 2, 3, 4, 6, 8, 10]:
    add(f"precision{p}_float64", "float64", [len(PREC_VALUES)], PREC_VALUES, precision=p)
    add(f"precision{p}_float32_random", "float32", [5], normal_values(5), precision=p)
    add(f"precision{p}_sci", "float64", [3], [1e-7, 0.125, 12345.678], precision=p)
add("precision0_integral", "float32", [3], [1, 2, 3], precision=0)
add("precision2_ties_sci", "float64", [3], [1.125e-7, 1.375, 2.5e10], precision=2)

# 7. nan and inf.
NONFINITE = {
    "mixed": [math.nan, 1.5, math.inf, -math.inf], "all_nan": [math.nan, math.nan, math.nan],
    "inf_pair": [math.inf, -math.inf], "int_mode_nan": [math.nan, 1.0, 2.0], "inf_tiny": [math.inf, 1e-5],
    "nan_big": [math.nan, 1e10, 1.0], "single_nan": [math.nan], "neg_inf_int": [-math.inf, -3.0, 100.0],
    "nan_zero": [math.nan, 0.0], "nan_fraction_wide": [math.nan, -123.456, 0.001],
}
for key, vals in NONFINITE.items():
    for dtype in ["float32", "float64", "float16", "bfloat16"]:
        add(f"nonfinite_{key}_{dtype}", dtype, [len(vals)], vals)
add("nonfinite_all_nan_2d", "float32", [2, 2], [math.nan] * 4)
add("nonfinite_scalar_nan", "float32", [], [math.nan])
add("nonfinite_scalar_inf", "float64", [], [math.inf])
add("nonfinite_scalar_neg_inf", "float16", [], [-math.inf])

# 8. Negative numbers and negative zero.
add("negative_zero_alone", "float32", [1], [-0.0])
add("negative_zero_scalar", "float32", [], [-0.0])
add("negative_zero_mixed", "float32", [3], [-0.0, 0.0, 1.0])
add("negative_zero_fraction", "float64", [3], [-0.0, 0.5, -0.25])
add("negative_rounds_to_zero", "float64", [3], [-0.00001, 0.5, 1.0], sci_mode=False)
add("negative_values", "float32", [2, 3], [-1.5, -2.25, -3.0, -0.001, -100.0, -7.5])
add("negative_ints", "int64", [4], [-1, -22, -333, 4444])

# 9. Large integers.
add("int64_extremes", "int64", [3], [2 ** 63 - 1, -2 ** 63, 0])
add("int64_big", "int64", [2, 2], [10 ** 15, -10 ** 12, 7, -8])
add("int32_extremes", "int32", [2], [2 ** 31 - 1, -2 ** 31])
add("int16_extremes", "int16", [2], [2 ** 15 - 1, -2 ** 15])
add("int8_extremes", "int8", [3], [127, -128, 0])
add("uint8_extremes", "uint8", [3], [255, 0, 17])
add("int64_scalar", "int64", [], [-42])
add("uint8_scalar", "uint8", [], [200])
add("float64_big_integral", "float64", [2], [2.0 ** 60, 3.0])

# 10. Summarisation.
add("summary_default_2000", "float32", [2000], arange=[0.0, 0.5])
add("summary_default_1001_int", "int64", [1001], arange=[0.0, 1.0])
add("summary_default_1000_int_not", "int64", [1000], arange=[0.0, 1.0])
add("summary_default_100x100", "float32", [100, 100], arange=[-5000.0, 1.0])
add("summary_default_10x20x30", "float32", [10, 20, 30], arange=[0.0, 0.001])
add("summary_default_1000x1000", "float32", [1000, 1000], arange=[0.0, 1.0])
add("summary_default_bool", "bool", [1200], [i % 3 == 0 for i in range(1200)])
add("summary_2x1000", "float64", [2, 1000], arange=[0.0, 0.25])
for threshold in [0, 5, 10, 100]:
    for edge in [1, 2, 3, 5]:
        add(f"summary_t{threshold}_e{edge}_1d", "float32", [20], arange=[-10.0, 1.0], threshold=threshold,
            edgeitems=edge)
        add(f"summary_t{threshold}_e{edge}_2d", "int64", [7, 8], arange=[0.0, 3.0], threshold=threshold,
            edgeitems=edge)
        add(f"summary_t{threshold}_e{edge}_3d", "float64", [3, 4, 5], arange=[0.0, 0.125], threshold=threshold,
            edgeitems=edge)
add("summary_e0_1d", "float32", [8], arange=[0.0, 1.0], threshold=4, edgeitems=0)
add("summary_scalar_threshold0", "float32", [], [3.5], threshold=0)
add("summary_4d", "float32", [4, 5, 6, 7], arange=[0.0, 1.0], threshold=100, edgeitems=1)
add("summary_10x1x10", "int32", [10, 1, 10], arange=[0.0, 1.0], threshold=10, edgeitems=2)
add("summary_sci_outside_edges", "float64", [30], [1e-9 if 5 <= i < 25 else float(i) for i in range(30)],
    threshold=10, edgeitems=2)
add("summary_nan_outside_edges", "float32", [30], [math.nan if 5 <= i < 25 else i + 0.5 for i in range(30)],
    threshold=10, edgeitems=2)
add("summary_requires_grad", "float32", [3000], arange=[0.0, 0.001], requires_grad=True)
add("summary_float16", "float16", [1500], arange=[0.0, 1.0])
add("summary_bfloat16_2d", "bfloat16", [50, 50], arange=[0.0, 0.5])
add("summary_uint8", "uint8", [1100], [i % 256 for i in range(1100)])

# 11. Line wrapping (rows and suffixes).
for lw in [1, 10, 20, 40, 60, 80, 120, 200]:
    add(f"wrap_lw{lw}_1d", "float32", [30], arange=[0.0, 1.25], linewidth=lw)
    add(f"wrap_lw{lw}_2d", "float64", [3, 20], arange=[-30.0, 1.0], linewidth=lw)
    add(f"wrap_lw{lw}_suffixes", "float64", [6], [1.5, -2.5, 3.5, 4.5, 5.5, 6.5], linewidth=lw, requires_grad=True)
    add(f"wrap_lw{lw}_int16", "int16", [25], arange=[0.0, 7.0], linewidth=lw)
add("wrap_summary_1d", "float32", [2000], arange=[0.0, 1.0], linewidth=30)
add("wrap_long_1d_default", "float32", [100], arange=[0.0, 0.1])
add("wrap_bool_1d", "bool", [40], [i % 2 == 0 for i in range(40)])
add("wrap_suffix_exact", "float16", [11], arange=[0.0, 1.0], requires_grad=True)
add("wrap_empty_suffixes", "int8", [0, 3], [], linewidth=20)

# 12. Bool tensors.
add("bool_scalar_true", "bool", [], [True])
add("bool_scalar_false", "bool", [], [False])
add("bool_all_true", "bool", [3], [True, True, True])
add("bool_2d", "bool", [2, 2], [True, False, False, True])
add("bool_3d", "bool", [2, 2, 2], [True, False] * 4)

# 13. The tutorial notebook's tensors.
add("notebook_x_ones", "float32", [5], [1.0] * 5)
add("notebook_y_zeros", "float32", [3], [0.0] * 3)
eye = torch.eye(5)
add("notebook_first_call", "float32", [5, 5], (2 * (eye + 1)).reshape(-1).tolist())
add("notebook_second_call", "float32", [5, 5], (4 * (eye + 1)).reshape(-1).tolist())
add("notebook_eye_requires_grad", "float32", [5, 5], eye.reshape(-1).tolist(), requires_grad=True)
add("notebook_w", "float32", [5, 3], randn={"seed": 0, "shapes": [[5, 3], [3]], "pick": 0}, requires_grad=True)
add("notebook_b", "float32", [3], randn={"seed": 0, "shapes": [[5, 3], [3]], "pick": 1}, requires_grad=True)
add("randn_seed0_5x3", "float32", [5, 3], randn={"seed": 0, "shapes": [[5, 3]], "pick": 0})
add("randn_seed42_4x4", "float32", [4, 4], randn={"seed": 42, "shapes": [[4, 4]], "pick": 0})
add("randn_seed0_3x4x5", "float32", [3, 4, 5], randn={"seed": 0, "shapes": [[3, 4, 5]], "pick": 0})
add("randn_seed1_float64", "float64", [6], randn={"seed": 1, "shapes": [[6]], "pick": 0})
torch.manual_seed(0)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(torch.ones(5), w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.zeros(3))
loss.backward()
add("notebook_w_grad", "float32", [5, 3], w.grad.reshape(-1).tolist())
add("notebook_b_grad", "float32", [3], b.grad.tolist())
add("notebook_z_values", "float32", [3], z.detach().tolist())

# 14. Non-contiguous views.
add("view_transpose_2d", "float32", [3, 4], arange=[0.0, 0.5], view="transpose")
add("view_transpose_3d", "int64", [2, 3, 4], arange=[0.0, 1.0], view="transpose")
add("view_step2", "float64", [9, 2], arange=[0.0, 1.5], view="step2")
add("view_narrow1", "int32", [4, 3], arange=[0.0, 1.0], view="narrow1")
add("view_expand", "float32", [2, 2], [1.5, 2.5, 3.5, 4.5], view="expand3")
add("view_transpose_summary", "float32", [50, 40], arange=[0.0, 1.0], view="transpose")
add("view_step2_summary", "float64", [60, 30], arange=[0.0, 0.5], view="step2", threshold=100)
add("view_transpose_bool", "bool", [2, 3], [True, False, True, True, False, False], view="transpose")
add("view_narrow_half", "float16", [3, 2], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5], view="narrow1")

# 15. requires_grad leaves.
add("requires_grad_scalar", "float32", [], [2.5], requires_grad=True)
add("requires_grad_1d", "float32", [3], [1.0, 2.0, 3.0], requires_grad=True)
add("requires_grad_2d", "float32", [2, 2], [0.1, 0.2, 0.3, 0.4], requires_grad=True)
add("requires_grad_float64", "float64", [2], [1.0, 2.0], requires_grad=True)
add("requires_grad_float16", "float16", [2], [0.5, 1.0], requires_grad=True)
add("requires_grad_bfloat16_2d", "bfloat16", [2, 3], [0.5, 1.0, 1.5, 2.0, 2.5, 3.0], requires_grad=True)
add("requires_grad_nan", "float32", [2], [math.nan, 1.0], requires_grad=True)

# nn.Parameter: its own __repr__ adds a header line.
add("parameter_1d", "float32", [2], [1.5, 2.0], parameter=True)
add("parameter_empty_float64", "float64", [0, 2], [], parameter=True)
add("parameter_no_grad", "float32", [2], [1.0, 1.0], parameter=False)
add("parameter_2d_int_valued", "float32", [2, 2], [1.0, 2.0, 3.0, 4.0], parameter=True)

# 16. grad_fn (the names come from GradFn, enabled after integration).
GRAD_INPUT = [0.5, -1.5, 2.0, 3.25]
for key in GRAD_FNS:
    shape = [2, 2]
    add(f"grad_fn_{key}", "float32", shape, GRAD_INPUT, grad_fn=key)
add("grad_fn_sum_float64", "float64", [4], GRAD_INPUT, grad_fn="sum")
add("grad_fn_mul_self_wrap", "float64", [12], arange=[0.5, 1.0], grad_fn="mul_self", linewidth=40)

# 17. Random tensors with random options.
for i in range(120):
    dtype = rng.choice(list(DTYPES))
    rank = rng.randint(0, 4)
    shape = [rng.randint(1, 6) for _ in range(rank)]
    n = math.prod(shape)
    if dtype in FLOATS:
        style = rng.choice(["normal", "wide", "integral", "special", "tiny", "big"])
        if style == "normal":
            vals = normal_values(n, 10.0 ** rng.randint(-2, 3))
        elif style == "wide":
            vals = [v * 10.0 ** rng.randint(-6, 6) for v in normal_values(n)]
        elif style == "integral":
            vals = [float(rng.randint(-500, 500)) for _ in range(n)]
        elif style == "special":
            vals = [rng.choice([math.nan, math.inf, -math.inf, 0.0, -0.0, rng.uniform(-5, 5)]) for _ in range(n)]
        elif style == "tiny":
            vals = normal_values(n, 1e-5)
        else:
            vals = normal_values(n, 1e9 if dtype not in ("float16",) else 1e4)
    else:
        vals = values_for(dtype, n)
    options = dict(precision=rng.choice([0, 1, 2, 3, 4, 4, 4, 6, 8]), threshold=rng.choice([1000, 1000, 10, 30]),
                   edgeitems=rng.choice([1, 2, 3, 3]), linewidth=rng.choice([80, 80, 40, 60, 100]),
                   sci_mode=rng.choice([None, None, None, True, False]))
    add(f"random_{i:03d}_{dtype}_{'x'.join(map(str, shape)) or 'scalar'}", dtype, shape, vals,
        requires_grad=dtype in FLOATS and rng.random() < 0.2, **options)

# Python's number formatting of single doubles.
FORMAT_VALUES = [0.0, -0.0, 0.125, 0.375, 2.5, 0.5, 1.5, -0.5, 1e-5, -1e-5, 1e10, 1e22, 1e30, 1e100, 1e-100, 5e-324,
                 1.7976931348623157e308, 2.675, 1.0 / 3.0, 123456789.125, 9.5, 99.5, 0.05, 0.15, 0.25, 1e16, 1e15 + 0.5,
                 math.nan, math.inf, -math.inf, 4.0, -7.0, 1.0e-4, 9.99995, 9.9999500001, 0.00049999999]
FORMAT_VALUES += normal_values(30, 1000.0)
FORMAT_VALUES += [v * 10.0 ** rng.randint(-20, 20) for v in normal_values(30)]
formats = []
for v in FORMAT_VALUES:
    for p in [0, 1, 2, 4, 8, 12]:
        formats.append({"value": float_str(v), "precision": p, "fixed": ("{:.%df}" % p).format(v),
                        "scientific": ("{:.%de}" % p).format(v)})

# 18. Complex tensors (own random streams, so that the sections above keep their values).
crng = random.Random(4321)
cgen = torch.Generator().manual_seed(4321)


def complex_values(n, scale=1.0):
    re = (torch.randn(n, generator=cgen, dtype=torch.float64) * scale).tolist()
    im = (torch.randn(n, generator=cgen, dtype=torch.float64) * scale).tolist()
    return [[r, i] for r, i in zip(re, im)]


NAN, INF = math.nan, math.inf
COMPLEX_SETS = {
    "issue": [[1, 2], [3, -4]], "integral": [[1, 2], [-3, 40], [0, 0]], "fraction": [[0.5, -1.25], [2.75, 3.5]],
    "zero_imag": [[1.5, 0.0], [2.5, 0.0]], "neg_zero_imag": [[1.0, -0.0], [-2.0, -0.0], [0.5, 0.0]],
    "neg_zero_real": [[-0.0, 1.0], [-0.0, -0.0]], "nan_parts": [[NAN, 1.0], [1.0, NAN], [NAN, NAN]],
    "inf_parts": [[INF, -INF], [-INF, INF], [1.5, INF], [INF, 0.0]], "nan_inf": [[NAN, -INF], [INF, NAN]],
    "sci_real": [[1e-6, 1.0], [1e5, 2.0]], "sci_imag": [[1.0, 1e-7], [2.0, 3e9]], "big": [[1.5e30, -2.5e-30]],
    "wide_imag_only": [[1.0, 1e10], [2.0, -1.0]], "tiny": [[1.5e-7, 2.5e-7], [-3.5e-8, 4.5e-9]],
    "mixed_signs": [[-1.5, -2.25], [3.125, -4.0], [-0.001, 100.5]],
}
for key, vals in COMPLEX_SETS.items():
    for dtype in COMPLEX:
        add(f"complex_{key}_{dtype}", dtype, [len(vals)], vals)
for dtype in COMPLEX:
    add(f"complex_scalar_{dtype}", dtype, [], [[1.0, 2.0]])
    add(f"complex_scalar_neg_zero_imag_{dtype}", dtype, [], [[3.5, -0.0]])
    add(f"complex_scalar_nan_{dtype}", dtype, [], [[NAN, -INF]])
    add(f"complex_scalar_sci_{dtype}", dtype, [], [[1e-6, 12345.0]])
    add(f"complex_matrix_{dtype}", dtype, [2, 3], complex_values(6))
    add(f"complex_3d_{dtype}", dtype, [2, 2, 3], complex_values(12, 10.0))
    add(f"complex_empty_{dtype}", dtype, [0], [])
    add(f"complex_empty_2d_{dtype}", dtype, [2, 0], [])
    add(f"complex_requires_grad_{dtype}", dtype, [2], [[1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    add(f"complex_grad_fn_mul_self_{dtype}", dtype, [2, 2], [[0.5, 1.0], [-1.5, 2.0], [2.0, -0.5], [3.25, 0.0]],
        grad_fn="mul_self")
    add(f"complex_grad_fn_sum_{dtype}", dtype, [3], [[0.5, 1.0], [-1.5, 2.0], [2.0, -0.5]], grad_fn="sum")
    add(f"complex_summary_{dtype}", dtype, [2000], arange=[0.0, 0.5])
    add(f"complex_summary_2d_{dtype}", dtype, [50, 40], arange=[-10.0, 0.25])
    add(f"complex_summary_t10_e2_{dtype}", dtype, [4, 5, 6], arange=[0.0, 1.0], threshold=10, edgeitems=2)
    add(f"complex_summary_sci_outside_edges_{dtype}", dtype, [30],
        [[1e-9, 1e9] if 5 <= i < 25 else [float(i), 0.5] for i in range(30)], threshold=10, edgeitems=2)
    add(f"complex_conj_{dtype}", dtype, [3], [[1.0, 2.0], [-3.5, -0.0], [0.0, 4.25]], view="conj")
    add(f"complex_conj_imag_{dtype}", dtype, [3], [[1.0, 2.0], [-3.5, 0.0], [0.5, -0.25]], view="conj_imag")
    add(f"complex_transpose_{dtype}", dtype, [2, 3], complex_values(6), view="transpose")
    add(f"complex_step2_{dtype}", dtype, [9], complex_values(9), view="step2")
    for sci in [True, False]:
        add(f"complex_sci_{'on' if sci else 'off'}_{dtype}", dtype, [3], [[0.5, -1e-5], [12.0, 3.0], [1e6, 0.25]],
            sci_mode=sci)
        add(f"complex_sci_{'on' if sci else 'off'}_integral_{dtype}", dtype, [2], [[1.0, 2.0], [300.0, -4.0]],
            sci_mode=sci)
    for p in [0, 2, 6, 10, 15]:
        add(f"complex_precision{p}_{dtype}", dtype, [3], complex_values(3, 100.0), precision=p)
    for lw in [10, 30, 60]:
        add(f"complex_wrap_lw{lw}_{dtype}", dtype, [12], arange=[0.0, 1.25], linewidth=lw)
for i in range(40):
    dtype = crng.choice(COMPLEX)
    rank = crng.randint(0, 3)
    shape = [crng.randint(1, 5) for _ in range(rank)]
    n = math.prod(shape)
    style = crng.choice(["normal", "wide", "integral", "special"])
    if style == "normal":
        vals = complex_values(n, 10.0 ** crng.randint(-2, 3))
    elif style == "wide":
        vals = [[r * 10.0 ** crng.randint(-6, 6), m * 10.0 ** crng.randint(-6, 6)] for r, m in complex_values(n)]
    elif style == "integral":
        vals = [[float(crng.randint(-500, 500)), float(crng.randint(-500, 500))] for _ in range(n)]
    else:
        pick = lambda: crng.choice([NAN, INF, -INF, 0.0, -0.0, crng.uniform(-5, 5)])
        vals = [[pick(), pick()] for _ in range(n)]
    options = dict(precision=crng.choice([0, 2, 4, 4, 8]), threshold=crng.choice([1000, 10, 30]),
                   edgeitems=crng.choice([1, 2, 3]), linewidth=crng.choice([80, 40, 100]),
                   sci_mode=crng.choice([None, None, True, False]))
    add(f"complex_random_{i:03d}_{dtype}_{'x'.join(map(str, shape)) or 'scalar'}", dtype, shape, vals,
        requires_grad=crng.random() < 0.2, **options)

# 19. High precisions, where the last digit needs the exact binary value (the 9243.450713863105).
HIGH = [9243.450713863105, 9.007199254740993, 9.5, 0.9999999999999999, 123456789.123456789, 2.0 ** 53 + 2]
HIGH += [v * 10.0 ** crng.randint(-30, 30) for v in (torch.rand(40, generator=cgen, dtype=torch.float64) * 9 + 1).tolist()]
HIGH += [v * 10.0 ** crng.randint(-5, 5) for v in (torch.rand(40, generator=cgen, dtype=torch.float64) + 9).tolist()]
for v in HIGH:
    for p in [13, 14, 15, 16, 17, 20]:
        formats.append({"value": float_str(v), "precision": p, "fixed": ("{:.%df}" % p).format(v),
                        "scientific": ("{:.%de}" % p).format(v)})
# The largest precisions anyone needs: every decimal of the smallest double and of 0.1.
for v, p in [(5e-324, 1080), (0.1, 60), (1.7976931348623157e308, 20)]:
    formats.append({"value": float_str(v), "precision": p, "fixed": ("{:.%df}" % p).format(v),
                    "scientific": ("{:.%de}" % p).format(v)})
add("precision15_sci_issue", "float64", [], [9243.450713863105], precision=15, sci_mode=True)
add("precision15_sci_high_mantissas", "float64", [6], [9.007199254740993, 9.5, 9243.450713863105,
    9.999999999999998, 9.123456789012345e-100, -9.87654321098765e200], precision=15, sci_mode=True)
add("precision16_sci", "float64", [3], [9243.450713863105, 1.0 / 3.0, 2.0 ** 60], precision=16, sci_mode=True)
add("precision17_fixed", "float64", [3], [0.1, 1.0 / 3.0, 9.999999999999998], precision=17)
add("precision20_sci", "float64", [2], [0.1, 9.5], precision=20, sci_mode=True)

# 20. Meta tensors: no data, so PyTorch prints "..." and the size.
meta_cases = []
for name, shape, dtype, grad in [("meta_1d", [3], "float32", None), ("meta_2d_float64", [2, 3], "float64", None),
                                 ("meta_scalar_int64", [], "int64", None), ("meta_empty", [0], "float32", None),
                                 ("meta_requires_grad", [3], "float32", "leaf"),
                                 ("meta_grad_fn", [3], "float32", "mul2"), ("meta_complex64", [2], "complex64", None),
                                 ("meta_bool_2d", [2, 2], "bool", None)]:
    t = torch.empty(shape, dtype=ALL_DTYPES[dtype], device="meta")
    if grad:
        t.requires_grad_(True)
    if grad == "mul2":
        t = t * 2
    torch.set_printoptions(profile="default", sci_mode=None)
    meta_cases.append({"name": name, "dtype": dtype, "shape": shape, "grad": grad, "expected": repr(t)})

# 21. A view made in no-grad or inference mode of [0.5, -1.5, 2.0, 3.25] * 1 (w requires grad), its first two
# elements, whose base was then multiplied by 2 in place with grad mode on or off: PyTorch's grad_fn raises (the
# message), and PyTorch 2.1 and later print grad_fn=<Invalid> in its repr (1.13 raises there too; the text is
# composed with 1.13's own _add_suffixes).
invalid_views = []
for mode in ["no_grad", "inference"]:
    for inplace_grad in [True, False]:
        w = torch.tensor([0.5, -1.5, 2.0, 3.25], requires_grad=True)
        b = w * 1
        with (torch.no_grad() if mode == "no_grad" else torch.inference_mode()):
            v = b[0:2]
        with torch.set_grad_enabled(inplace_grad):
            b.mul_(2)
        try:
            v.grad_fn
            raise AssertionError("grad_fn did not raise")
        except RuntimeError as e:
            message = str(e)
        torch.set_printoptions(profile="default", sci_mode=None)
        body = repr(v.detach())[:-1]
        invalid_views.append({"mode": mode, "inplace_grad": inplace_grad, "message": message,
                              "expected": _orig_add_suffixes(body, ["grad_fn=<Invalid>"], 7, False)})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "repr.json")
with open(out, "w") as f:
    json.dump({"generator": "generate_repr.py", "torch": torch.__version__, "cases": cases, "formats": formats,
               "meta": meta_cases, "invalid_views": invalid_views}, f,
              indent=1)
print(f"{len(cases)} cases, {len(formats)} formats, {len(meta_cases)} meta -> {out}")
