"""Shared timing for the bench_*.py scripts: timeit, one thread, median of repeats.

Each measurement picks a loop count the way ``timeit.Timer.autorange`` does (so that one repeat takes at
least ``min_time`` seconds), runs ``repeat`` repeats, and reports the median time of one call. Results are
printed as a table and, with ``--json PATH``, appended to a JSON file that README tables are built from.
"""
import argparse
import json
import platform
import statistics
import sys
import timeit

import torch


def setup_torch():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def measure(name, fn, min_time=0.2, repeat=15):
    timer = timeit.Timer(fn)
    number = 1
    while True:
        if timer.timeit(number) >= min_time:
            break
        number *= 2 if number < 10 else 5
    times = timer.repeat(repeat=repeat, number=number)
    per_call = [t / number for t in times]
    return {
        "name": name,
        "median_us": statistics.median(per_call) * 1e6,
        "min_us": min(per_call) * 1e6,
        "repeats": repeat,
        "loops": number,
    }


def run(title, cases):
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--json", help="append results to this JSON file")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--min-time", type=float, default=0.2)
    args = parser.parse_args()
    setup_torch()
    results = []
    print(f"# {title} — PyTorch {torch.__version__}, Python {platform.python_version()}, threads={torch.get_num_threads()}")
    for name, fn in cases():
        r = measure(name, fn, min_time=args.min_time, repeat=args.repeat)
        results.append(r)
        print(f"{name:<40} median {r['median_us']:12.3f} us   min {r['min_us']:12.3f} us   ({r['repeats']}x{r['loops']})")
        sys.stdout.flush()
    if args.json:
        try:
            with open(args.json) as f:
                existing = json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            existing = []
        existing.extend(results)
        with open(args.json, "w") as f:
            json.dump(existing, f, indent=2)
    return results
