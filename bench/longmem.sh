#!/bin/sh
# Long sequences in one window: bptt's LSTM beside PyTorch's nn.LSTM on the pixel task (T = 784)
# and the adding problem (T = 400), batch 128, hidden 128, both with 2 threads; then bptt's peak
# memory (RSS, /usr/bin/time -v) at several T, for bytes per step per example.
#
#     sh bench/longmem.sh [path/to/bptt] [python with torch]
#
# Run it on a quiet machine (nothing else busy): the figures are only comparable in one window.
set -e
BPTT=${1:-.build/release/bptt}
PY=${2:-python3}
STEPS=${STEPS:-5}
echo "== bptt: LSTM, pixels-shaped workload (T=784, 1 input, 10 classes, many-to-one)"
$BPTT bench --model lstm --length 784 --batch 128 --hidden 128 --steps "$STEPS" --warmup 1 --threads 2 --json | tail -1
echo "== bptt: LSTM, adding problem T=400"
$BPTT train --task adding --model lstm --length 400 --batch 128 --hidden 128 --steps "$STEPS" --threads 2 --eval-size 128 --quiet --json | tail -1
echo "== PyTorch nn.LSTM (same shapes)"
$PY "$(dirname "$0")/longmem_torch.py" --steps "$STEPS" --threads 2
echo "== bptt peak memory, adding problem, LSTM, B=128, H=128 (3 steps each)"
for T in 100 200 400 800; do
    KB=$(/usr/bin/time -v $BPTT train --task adding --model lstm --length $T --batch 128 --hidden 128 --steps 3 --threads 1 --eval-size 1 --quiet 2>&1 >/dev/null | awk '/Maximum resident/ {print $6}')
    echo "T=$T peak_rss_kb=$KB"
done
echo "(bytes per step per example: the slope of peak RSS against T, divided by the batch)"
