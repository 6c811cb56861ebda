#!/bin/bash
# Record a real busy-system perf trace for bench/real.py: `perf record -F 4999 -a -g` of
# bench/workload.sh (several programs at once; ROUNDS=20 rounds, ~150 s, ~170 MB of text), then
# `perf script`. Needs perf (apt-get install
# linux-perf) and root (or perf_event_paranoid <= -1). Usage: bench/record_perf.sh OUTDIR
set -e
out=${1:?usage: record_perf.sh OUTDIR}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-20} perf record -F 4999 -a -g -o "$out/perf.data" -- bash "$here/workload.sh" \
  2> "$out/record.stderr"
perf script -i "$out/perf.data" > "$out/perf-script.txt" 2> "$out/script.stderr"
ls -l "$out/perf-script.txt"
