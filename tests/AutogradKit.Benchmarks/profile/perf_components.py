#!/usr/bin/env python3
"""Groups `perf report --no-children --sort dso,sym -t ';'` self time into components, in µs a call.

    perf_components.py LABEL=BASE [LABEL=BASE ...]

BASE.txt is perf's report and BASE.time the run's "… X us/call …" line (what profile.sh writes). Each component's
share of the samples, times the run's time a call, gives its µs a call; a symbol goes to the first component
whose pattern matches "dso symbol". The table is Markdown, one column a run.
"""
import re
import sys
from collections import OrderedDict

COMPONENTS = OrderedDict([
    ("compute kernels (BLAS, vectorised math)",
     r"gemm|gemv|blas|mkl_|vml|[Tt]anh|Vectorized|vectorized|AVX|cpu_kernel|loop2d|sleef|basic_loop|copy_kernel|fill_kernel|reduce|sum_kernel"),
    ("libtorch per-op thread-local state, callbacks, autocast",
     r"ThreadLocalState|RecordFunction|rebuildActiveCallbacks|rebuild_scope|record_function|StepCallbacks|autocast|TLS|tls_|__tls_get_addr|getAccelerator|currentThreadId|dispatch_key_set|ThreadLocalDebugInfo|SafePyObject"),
    ("autograd engine and backward functions",
     r"torch::autograd::|Backward|AccumulateGrad|InputBuffer|GraphTask|collect_next_edges|gradient_edge"),
    ("dispatcher, tensor creation and views",
     r"c10::impl::|c10::Dispatcher|at::_ops|TensorImpl|empty|as_strided|intrusive_ptr|SymInt|SmallVector|TensorIterator|setStrided|meta::|structured|at::native|at::detail|c10::|at::"),
    ("malloc / free / memset",
     r"malloc|free|_int_|operator new|operator delete|unlink_chunk|consolidate|memalign|memset|memmove|memcpy|_ZdlPv|_Znwm"),
    ("threads, locks, shared_ptr",
     r"pthread|mutex|futex|condition_variable|_Sp_counted|shared_ptr|__lll"),
    (".NET runtime, JIT-compiled code, TorchSharp bridge",
     r"libcoreclr|libclrjit|\[JIT\]|perf-\d+\.map|memfd:|System\.|TorchSharp|AutogradKit|libLibTorchSharp|CoreLib|\[OptimizedTier|\[Tier|QuickJitted|Instrumented|libSystem"),
    ("Python interpreter and bindings", r"python3|libtorch_python|_Py|Py[A-Z]"),
    ("kernel", r"\[kernel|kallsyms"),
    ("libtorch, no symbol (stripped builds, e.g. Debian's PyTorch)", r"libtorch\S* 0x[0-9a-f]+$|libc10\S* 0x[0-9a-f]+$"),
])

# "  21.85% ;libtorch_cpu.so   ;[.] mkl_blas_def_sgemm_kernel_0_zen" (';' separates the fields: a dso such as
# "[JIT] tid 7102", perf's name for .NET's JIT-compiled code, has spaces of its own).
LINE = re.compile(r"\s*([\d.]+)%\s*;(.*?)\s*;\[[.k]\]\s+(.*)")


def load(base):
    with open(base + ".time") as f:
        per_call = float(re.search(r"([\d.]+) us/call", f.read()).group(1))
    parts = OrderedDict((name, 0.0) for name in COMPONENTS)
    parts["other"] = 0.0
    with open(base + ".txt") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            share, dso, sym = float(m.group(1)), m.group(2), m.group(3)
            text = f"{dso} {sym}"
            for name, pattern in COMPONENTS.items():
                if re.search(pattern, text):
                    parts[name] += share
                    break
            else:
                parts["other"] += share
    # perf's rounded percentages do not add up to exactly 100: scale the shares to the measured time a call.
    total = sum(parts.values())
    return per_call, OrderedDict((name, share / total * per_call) for name, share in parts.items())


def fmt(us):
    return f"{us / 1000:.3f} ms" if us >= 1000 else f"{us:.2f} µs"


def main():
    runs = [(arg.split("=", 1)[0], load(arg.split("=", 1)[1])) for arg in sys.argv[1:]]
    print("| component (self time a call) | " + " | ".join(label for label, _ in runs) + " |")
    print("|---|" + "---:|" * len(runs))
    for name in list(COMPONENTS) + ["other"]:
        print(f"| {name} | " + " | ".join(fmt(parts[name]) for _, (_, parts) in runs) + " |")
    print("| **total (measured a call while sampled)** | " + " | ".join(f"**{fmt(per_call)}**" for _, (per_call, _) in runs) + " |")


if __name__ == "__main__":
    main()
