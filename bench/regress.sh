#!/bin/sh
# Regression guard: compare bench/results.json (written by `make bench`) with the committed
# baseline for this machine kind; prints every figure and exits 1 when one dropped by more than 20%.
# Timings on a shared machine are noisy: rerun before believing a drop. Not run in CI.
#   usage: bench/regress.sh [RESULTS] [BASELINE]
cd "$(dirname "$0")/.." || exit 2
# the baseline of this machine kind, as `make bench` chooses it
base=bench/baseline.json
grep -qs AuthenticAMD /proc/cpuinfo && grep -qs avx512f /proc/cpuinfo && base=bench/baseline-amd-zen4.json
exec .build/release/bptt bench --results "${1:-bench/results.json}" --compare "${2:-$base}"
