#!/usr/bin/env bash
# Where the time of one benchmark pair goes: samples AutogradKit, raw TorchSharp and PyTorch doing the same work
# with `perf record` (one process each, nothing else running in it) and prints a table of self time a call by
# component (compute kernels, autograd engine, libtorch's per-op thread-local bookkeeping, allocation, .NET, Python…).
#   tests/AutogradKit.Benchmarks/profile/profile.sh PAIR_ID [PYTORCH_CASE] [SECONDS]
#   e.g. profile.sh Jacobian jacobian_64 8        (pair ids: see Interleaved/InterleavedPairs.cs)
# Needs `perf` (Debian: linux-perf) and kernel.perf_event_paranoid ≤ 2. Output in artifacts/profile/ (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bench="$(cd "$here/.." && pwd)"
root="$(cd "$bench/../.." && pwd)"
id="$1"; case_name="${2:-}"; seconds="${3:-8}"
out="$root/artifacts/profile"; mkdir -p "$out"
PY=${PYTHON:-/usr/bin/python3}
command -v perf >/dev/null || { echo "perf not found (apt-get install linux-perf)" >&2; exit 3; }
dotnet build -c Release "$bench" >/dev/null
dll="$bench/bin/Release/net10.0/AutogradKit.Benchmarks.dll"
# Names for JIT-compiled code: a perf map, and no W^X double mapping (perf cannot read memfd mappings).
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 OMP_NUM_THREADS=1
runs=()
for side in kit raw; do
  perf record -q -F 1999 -g -o "$out/$id-$side.data" dotnet "$dll" --run-one "$id" "$side" "$seconds" | tee "$out/$id-$side.time"
  runs+=("$side=$out/$id-$side")
done
if [ -n "$case_name" ]; then
  (cd "$bench/pytorch" && perf record -q -F 1999 -g -o "$out/$id-pytorch.data" "$PY" run_case.py "$case_name" "$seconds") | tee "$out/$id-pytorch.time"
  runs+=("pytorch=$out/$id-pytorch")
fi
for run in "${runs[@]}"; do
  base="${run#*=}"
  perf report -i "$base.data" --no-children --sort dso,sym -g none --stdio -t ';' 2>/dev/null > "$base.txt"
done
python3 "$here/perf_components.py" "${runs[@]}" | tee "$out/$id-components.md"
