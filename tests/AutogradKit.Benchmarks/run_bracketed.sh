#!/usr/bin/env bash
# The measurement behind README's table. This machine is a shared virtual machine whose speed drifts by up to
# 1.7x over minutes, so each area is bracketed: PyTorch's script, then the matching .NET benchmark class, then
# PyTorch's script again. compare.py puts the two PyTorch runs side by side, so drift shows.
#   tests/AutogradKit.Benchmarks/run_bracketed.sh [out-dir]      (default artifacts/bench, git-ignored)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/artifacts/bench}"
only="${ONLY:-}"   # e.g. ONLY=ScopeBenchmarks to run one area
PY=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"
rm -f "$out"/pytorch-pre.json "$out"/pytorch-post.json
rm -rf "$root/BenchmarkDotNet.Artifacts/results"
dotnet build -c Release "$here" >/dev/null
areas=(
  "TrainingStepBenchmarks bench_training_step.py"
  "ScopeBenchmarks bench_scopes.py"
  "GradFnBenchmarks bench_gradfn.py"
  "ReprBenchmarks bench_repr.py"
  "FunctionalBenchmarks bench_functional.py"
)
for area in "${areas[@]}"; do
  read -r cls script <<<"$area"
  if [ -n "$only" ] && [ "$only" != "$cls" ]; then continue; fi
  echo "== $cls / $script  $(date +%T)  $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd "$here/pytorch" && OMP_NUM_THREADS=1 "$PY" "$script" --json "$out/pytorch-pre.json")
  (cd "$root" && dotnet run -c Release --no-build --project "$here" -- --filter "*.$cls.*" > "$out/$cls.log" 2>&1)
  grep -E '^\| [A-Z]' "$out/$cls.log" || true
  (cd "$here/pytorch" && OMP_NUM_THREADS=1 "$PY" "$script" --json "$out/pytorch-post.json")
done
python3 "$here/compare.py" "$root/BenchmarkDotNet.Artifacts/results" "$out/pytorch-pre.json" "$out/pytorch-post.json" | tee "$out/table.md"
