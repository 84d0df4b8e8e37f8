#!/usr/bin/env python3
"""PyTorch side of the interleaved mode (``dotnet run ... -- --interleaved``): a timing server on stdin/stdout.

Started by the .NET runner as a child process (``/usr/bin/python3 serve.py``, ``OMP_NUM_THREADS=1``, working
directory ``pytorch/``), so that a PyTorch block can run milliseconds after the AutogradKit and raw TorchSharp
blocks of the same round. It builds every ``bench_*.py`` module's ``cases()`` once (each after
``_timing.setup_torch()``, as the module's own ``run`` does), then prints one JSON line::

    {"ready": true, "cases": [...], "errors": {"bench_x": "..."}, "torch": "1.13.0a0", "python": "3.11.2"}

and answers one request a line:

    CASE SECONDS   runs the case ``CASE`` in one timed block of about SECONDS and answers
                   {"name": CASE, "per_call_us": ..., "loops": ...}
                   (on error: {"name": CASE, "error": "..."}). The loop count is calibrated at the first
                   request for a case (after a warm-up) and reused, so every block of a case runs the same
                   count; a later request with another SECONDS recalibrates.
    quit           exits (so does end of input).

Each block is timed as ``timeit`` does (garbage collector off inside the block) after a ``gc.collect()``
before it, matching the .NET side, which collects between blocks, never inside.
"""
import gc
import glob
import importlib
import json
import os
import platform
import sys
import timeit
from contextlib import redirect_stdout

import torch

from _timing import setup_torch


def load_cases():
    cases, errors = {}, {}
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "bench_*.py"))):
        module_name = os.path.splitext(os.path.basename(path))[0]
        try:
            setup_torch()
            with redirect_stdout(sys.stderr):  # stdout carries only the protocol's JSON lines
                module = importlib.import_module(module_name)
                cases.update(dict(module.cases()))
        except Exception as e:  # one broken module must not take the others down
            errors[module_name] = f"{type(e).__name__}: {e}"
    return cases, errors


def calibrate(timer, seconds):
    """The loop count for which one block takes about `seconds` (at least 1), after about two blocks of warm-up."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= seconds / 4:
            break
        number *= 2
    number = max(1, round(number * seconds / elapsed))
    elapsed = timer.timeit(number)  # a full block, warm, to correct the estimate
    return max(1, round(number * seconds / elapsed))


def main():
    setup_torch()
    cases, errors = load_cases()
    reply({"ready": True, "cases": sorted(cases), "errors": errors,
           "torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads()})
    loops = {}  # name -> (seconds, loop count)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        name = parts[0]
        try:
            seconds = float(parts[1])
            fn = cases.get(name)
            if fn is None:
                raise KeyError(f"no PyTorch case {name!r} (cases: {', '.join(sorted(cases))})")
            timer = timeit.Timer(fn)
            if name not in loops or loops[name][0] != seconds:
                loops[name] = (seconds, calibrate(timer, seconds))
            number = loops[name][1]
            gc.collect()
            timer.timeit(max(1, number // 8))  # untimed, as the .NET side: the first calls after the other process's block run cold
            elapsed = timer.timeit(number)
            reply({"name": name, "per_call_us": elapsed / number * 1e6, "loops": number})
        except Exception as e:
            reply({"name": name, "error": f"{type(e).__name__}: {e}"})


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
