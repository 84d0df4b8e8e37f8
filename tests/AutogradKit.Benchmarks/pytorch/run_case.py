#!/usr/bin/env python3
"""Runs one bench_*.py case in a plain loop for about SECONDS and prints its time a call, for a profiler.

    OMP_NUM_THREADS=1 /usr/bin/python3 run_case.py CASE SECONDS

The PyTorch side of ``profile/profile.sh``; the cases are the ones ``serve.py`` serves.
"""
import sys
import time

from serve import load_cases


def main():
    name, seconds = sys.argv[1], float(sys.argv[2])
    cases, errors = load_cases()
    if name not in cases:
        sys.exit(f"no case {name!r}; cases: {', '.join(sorted(cases))}; load errors: {errors}")
    fn = cases[name]
    start = time.perf_counter()
    while time.perf_counter() - start < min(1.0, seconds / 4):
        fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    print(f"{name} pytorch: {(time.perf_counter() - start) / calls * 1e6:.3f} us/call over {calls} calls")


if __name__ == "__main__":
    main()
