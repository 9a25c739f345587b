#!/bin/bash
# One benchmark window: bptt and its peers, alternated, so that both sides see the same machine.
#
#   bench/window.sh [ROUNDS] [OUTDIR]        (defaults: 3 rounds, bench/window-<date>)
#
# Each round runs, in turn: `bptt bench --model lstm|rnn|gru --steps 400`, `bench/peers.py --steps 200`,
# `bptt bench --mlp`, `bench/peers_mlp.py`, `bptt train --task text --steps 40 --threads 2` and
# `bench/charlm_peer.py --steps 40 --threads 2`. The raw outputs go to OUTDIR; then
# `bench/window_table.py OUTDIR` prints the best of each side and their ratio for every workload.
# BPTT (default .build/release/bptt) is the binary to time; PYTHON (default python3) must have PyTorch
# (and JAX, for its palindrome figures) for the peers; a peer that is not installed is skipped.
# Run it on a quiet machine: a second job on the cores slows PyTorch far more than bptt.
set -u
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
OUT=${2:-bench/window-$(date +%Y%m%d-%H%M%S)}
BPTT=${BPTT:-.build/release/bptt}
PYTHON=${PYTHON:-python3}
case "$ROUNDS" in ''|*[!0-9]*|0) echo "bench/window.sh: ROUNDS must be a positive whole number, got '$ROUNDS'" >&2; exit 2;; esac
[ -x "$BPTT" ] || { echo "bench/window.sh: $BPTT: no such executable (build it with 'swift build -c release', or set BPTT)" >&2; exit 2; }
command -v "$PYTHON" >/dev/null || { echo "bench/window.sh: $PYTHON: not found (set PYTHON to a Python with PyTorch)" >&2; exit 2; }
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then echo "bench/window.sh: $OUT: exists and is not empty (results would mix)" >&2; exit 2; fi
mkdir -p "$OUT" 2>/dev/null || { echo "bench/window.sh: $OUT: cannot create the folder" >&2; exit 2; }
{ date; uptime; } > "$OUT/started"
for i in $(seq "$ROUNDS"); do
  echo "round $i of $ROUNDS" >&2
  for m in lstm rnn gru; do "$BPTT" bench --model $m --steps 400 >> "$OUT/pal_bptt.txt" 2>&1; done
  "$PYTHON" bench/peers.py --steps 200 >> "$OUT/pal_peers.txt" 2>&1
  "$BPTT" bench --mlp >> "$OUT/mlp_bptt.txt" 2>&1
  "$PYTHON" bench/peers_mlp.py >> "$OUT/mlp_peers.txt" 2>&1
  "$BPTT" train --task text --steps 40 --threads 2 --json --quiet 2>&1 | tail -1 >> "$OUT/text_bptt.txt"
  "$PYTHON" bench/charlm_peer.py --steps 40 --threads 2 >> "$OUT/text_peers.txt" 2>&1
done
{ date; uptime; } > "$OUT/finished"
"$PYTHON" bench/window_table.py "$OUT"
