#!/usr/bin/env bash
# Runs every PyTorch benchmark with one thread; results go to results-pytorch.json next to this script.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
out=${1:-results-pytorch.json}
rm -f "$out"
for s in bench_training_step.py bench_scopes.py bench_gradfn.py bench_repr.py bench_functional.py bench_per_sample.py bench_vmap.py; do
  OMP_NUM_THREADS=1 "$PY" "$s" --json "$out"
done
