#!/usr/bin/env python3
"""Builds README's comparison table from a BenchmarkDotNet run and one or two PyTorch runs.

    python3 compare.py [BDN results dir] [pytorch results json [second pytorch results json]]

With two PyTorch files (run_bracketed.sh's before and after each .NET class), the PyTorch column is their
mean and a column shows both, so that drift of the machine during the .NET run is visible.

Defaults: ../../BenchmarkDotNet.Artifacts/results (what `dotnet run` at the repository root writes) and
pytorch/results-pytorch.json (what pytorch/run_all.sh writes). Every number is a median of the run's
iterations (BenchmarkDotNet) or repeats (timeit); ratios are of medians. Nothing here is typed in by hand.

    python3 compare.py --interleaved [PATH]

prints the table of an interleaved run instead (`dotnet run ... -- --interleaved`; default PATH
../../BenchmarkDotNet.Artifacts/interleaved/interleaved.json): median per-call times, and the median and
interquartile range of the per-round ratios, with the targets recorded in the file.
"""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def fmt(us):
    if us is None:
        return "—"
    if us < 1:
        return f"{us * 1000:.1f} ns"
    if us < 1000:
        return f"{us:.2f} µs"
    return f"{us / 1000:.3f} ms"


def interleaved_table(path):
    """The table of an interleaved run (schema autogradkit-interleaved/1), as the .NET runner prints it."""
    with open(path) as f:
        run = json.load(f)
    if run.get("schema") != "autogradkit-interleaved/1":
        sys.exit(f"{path}: not an interleaved result (schema {run.get('schema')!r})")
    m = run["machine"]
    print(f"Interleaved run {run['started_utc'][:16].replace('T', ' ')}–{run['finished_utc'][11:16]} UTC on {m['host']} "
          f"({m['cpu'] or '?'}, {m['processor_count']} cpus; {m['dotnet']}; TorchSharp {m['torchsharp']}; "
          f"{m['pytorch'] or 'no PyTorch'}): {run['settings']['rounds']} rounds of ~{run['settings']['block_ms']} ms blocks; "
          "ratios are medians of per-round ratios [25th–75th percentile]")
    if run.get("pytorch_error"):
        print(f"PyTorch: {run['pytorch_error']}")
    print()

    def ratio(stats, digits):
        if not stats:
            return "—"
        return f"{stats['median']:.{digits}f}× [{stats['q25']:.{digits}f}–{stats['q75']:.{digits}f}]"

    print("| Benchmark | AutogradKit | raw TorchSharp | PyTorch | Kit ÷ raw median [IQR] | Kit ÷ PyTorch median [IQR] | Target | Met |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for p in run["pairs"]:
        targets, met, spans = [], [], False
        for limit, stats, against in ((p["target_kit_raw"], p["kit_raw"], "raw"), (p["target_kit_pytorch"], p["kit_pytorch"], "PyTorch")):
            if limit is None:
                continue
            targets.append(f"≤ {limit:.2f}× {against}")
            if stats:
                met.append(stats["median"] <= limit)
                spans |= stats["q25"] <= limit <= stats["q75"]
        pytorch_missing = p["target_kit_pytorch"] is not None and not p["kit_pytorch"]
        cell = "—" if not met else ("yes" if all(met) else "NO") + (" (IQR spans target)" if spans else "") + (" (no PyTorch)" if pytorch_missing else "")
        t = p["median_us"]
        print(f"| {p['name']} | {fmt(t['kit'])} | {fmt(t['raw'])}{'' if p['raw_is_equivalent'] else ' (scale)'} | {fmt(t['pytorch'])} | "
              f"{ratio(p['kit_raw'], 2)} | {ratio(p['kit_pytorch'], 3)} | {', '.join(targets) or '—'} | {cell} |")
    for p in run["pairs"]:
        if p.get("pytorch_error"):
            print(f"\n{p['name'].strip()}: PyTorch column —: {p['pytorch_error']}")


if len(sys.argv) > 1 and sys.argv[1] == "--interleaved":
    interleaved_table(sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "BenchmarkDotNet.Artifacts", "interleaved", "interleaved.json"))
    sys.exit(0)

bdn_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "BenchmarkDotNet.Artifacts", "results")
py_paths = sys.argv[2:] if len(sys.argv) > 2 else [os.path.join(HERE, "pytorch", "results-pytorch.json")]

net = {}
alloc = {}
for path in glob.glob(os.path.join(bdn_dir, "*-report-full*.json")):
    with open(path) as f:
        for b in json.load(f)["Benchmarks"]:
            key = f'{b["Type"]}.{b["Method"]}'
            stats = b.get("Statistics")
            if stats:
                net[key] = stats["Median"] / 1000.0  # ns -> us
            mem = b.get("Memory") or {}
            if "BytesAllocatedPerOperation" in mem:
                alloc[key] = mem["BytesAllocatedPerOperation"]
py_runs = []
for py_path in py_paths:
    with open(py_path) as f:
        py_runs.append({r["name"]: r["median_us"] for r in json.load(f)})
py = {k: sum(run[k] for run in py_runs) / len(py_runs) for k in py_runs[0] if all(k in run for run in py_runs)}

# (row, AutogradKit, raw TorchSharp, raw is a true equivalent, PyTorch, max kit/raw, max kit/pytorch)
ROWS = [
    ("Training step (tutorial)", "TrainingStepBenchmarks.AutogradKit", "TrainingStepBenchmarks.RawTorchSharp", True, "training_step", 1.03, 1.00),
    ("  ↳ forward + Backward", "TrainingStepBenchmarks.ForwardBackward_AutogradKit", "TrainingStepBenchmarks.ForwardBackward_Raw", True, None, 1.03, None),
    ("  ↳ ZeroGrad ×2 vs grad.zero_() ×2", "TrainingStepBenchmarks.ZeroGrad_AutogradKit", "TrainingStepBenchmarks.ZeroGrad_Raw", True, None, 1.00, None),
    ("NoGrad scope enter+exit", "ScopeBenchmarks.NoGrad_AutogradKit", "ScopeBenchmarks.NoGrad_Raw", True, "no_grad_scope", 1.03, None),
    ("EnableGrad scope enter+exit", "ScopeBenchmarks.EnableGrad_AutogradKit", "ScopeBenchmarks.EnableGrad_Raw", True, "enable_grad_scope", 1.03, None),
    ("InferenceMode scope enter+exit", "ScopeBenchmarks.InferenceMode_AutogradKit", "ScopeBenchmarks.InferenceMode_Raw", True, "inference_mode_scope", 1.03, None),
    ("IsGradEnabled", "ScopeBenchmarks.IsGradEnabled_AutogradKit", "ScopeBenchmarks.IsGradEnabled_Raw", True, None, 1.03, None),
    ("GradFn of a tensor", "GradFnBenchmarks.GradFn_AutogradKit", "GradFnBenchmarks.RequiresGradRead_Raw", False, "grad_fn_read", None, None),
    ("GradFn.Name", "GradFnBenchmarks.GradFnName_AutogradKit", "GradFnBenchmarks.RequiresGradRead_Raw", False, "grad_fn_name", None, None),
    ("Graph walk (6 nodes)", "GradFnBenchmarks.GraphWalk_AutogradKit", "GradFnBenchmarks.RequiresGradRead_Raw", False, "graph_walk", None, None),
    ("Repr 30×30 float32", "ReprBenchmarks.Small_AutogradKit", "ReprBenchmarks.Small_RawToString", False, "repr_30x30", None, 0.10),
    ("Repr 1000×1000 float32", "ReprBenchmarks.Large_AutogradKit", "ReprBenchmarks.Large_RawToString", False, "repr_1000x1000", None, None),
    ("Jacobian 64→64 (loop)", "FunctionalBenchmarks.Jacobian_AutogradKit", "FunctionalBenchmarks.JacobianBackwardLoop_Raw", True, "jacobian_64", 1.03, 0.90),
    ("  ↳ TorchSharp functional.jacobian", "FunctionalBenchmarks.JacobianFunctional_TorchSharp", "FunctionalBenchmarks.JacobianBackwardLoop_Raw", True, "jacobian_64", None, None),
    ("Jacobian 64→64 vectorize", "FunctionalBenchmarks.JacobianVectorized_AutogradKit", "FunctionalBenchmarks.JacobianBatched_Raw", True, "jacobian_64_vectorize", 1.03, 0.50),
    ("Hessian of sum∘f, 64 (loop)", "FunctionalBenchmarks.Hessian_AutogradKit", "FunctionalBenchmarks.HessianBackwardLoop_Raw", True, "hessian_64", 1.03, None),
]

# Breakdown rows: raw TorchSharp pieces that explain a gap (no target).
BREAKDOWN = [
    ("vectorize: the raw batched backward building its identity seed in the call", "FunctionalBenchmarks.JacobianBatchedOwnIdentity_Raw"),
    ("Hessian raw loop, gradient taken w.r.t. a view of x", "FunctionalBenchmarks.HessianViewInput_Raw"),
    ("Hessian raw loop with functional.py's nesting (view input, stack/view/alias)", "FunctionalBenchmarks.HessianNested_Raw"),
    ("one P/Invoke (torch.is_grad_enabled)", "ScopeBenchmarks.IsGradEnabled_Raw"),
    ("a scope's thread-affinity bookkeeping, modelled without native calls", "ScopeBenchmarks.ScopeBookkeeping_Model"),
]


def ratio(a, b):
    return None if a is None or b is None else a / b


two = len(py_runs) == 2
print("| Benchmark | AutogradKit | raw TorchSharp | PyTorch 1.13 |" + (" PyTorch before / after |" if two else "") + " Kit ÷ raw | Kit ÷ PyTorch | Kit alloc | Target | Met |")
print("|---|---:|---:|---:|" + ("---:|" if two else "") + "---:|---:|---:|---|---|")
for name, kit_key, raw_key, equivalent, py_key, max_raw, max_py in ROWS:
    kit = net.get(kit_key)
    raw = net.get(raw_key)
    pyt = py.get(py_key) if py_key else None
    r_raw = ratio(kit, raw)
    r_py = ratio(kit, pyt)
    targets = []
    met = []
    if max_raw is not None:
        targets.append(f"≤ {max_raw:.2f}× raw")
        met.append(r_raw is not None and r_raw <= max_raw)
    if max_py is not None:
        targets.append(f"≤ {max_py:.2f}× PyTorch")
        met.append(r_py is not None and r_py <= max_py)
    raw_cell = fmt(raw) + ("" if equivalent else " (scale)")
    a = alloc.get(kit_key)
    drift = ""
    if two:
        drift = "— |" if not py_key else f"{fmt(py_runs[0].get(py_key))} / {fmt(py_runs[1].get(py_key))} |"
    print(f"| {name} | {fmt(kit)} | {raw_cell} | {fmt(pyt)} |{' ' + drift if two else ''} "
          f"{'—' if r_raw is None else f'{r_raw:.2f}×'} | {'—' if r_py is None else f'{r_py:.3f}×'} | "
          f"{'—' if a is None else f'{a} B'} | {', '.join(targets) or '—'} | "
          f"{'—' if not met or kit is None else ('yes' if all(met) else 'NO')} |")

print()
print("| Breakdown (raw TorchSharp) | median | allocated |")
print("|---|---:|---:|")
for name, key in BREAKDOWN:
    a = alloc.get(key)
    print(f"| {name} | {fmt(net.get(key))} | {'—' if a is None else f'{a} B'} |")
