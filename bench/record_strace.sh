#!/bin/bash
# A real strace recording of several programs at once (bench/workload.sh: python, perl, gcc,
# gzip and sort, both CPUs busy), for bench/real.py --strace: every thread (-f), wall-clock
# times (-tt), durations (-T), file paths of descriptors (-y).
#   bash bench/record_strace.sh OUTDIR   → OUTDIR/strace-f-tt-T-y.txt
set -euo pipefail
OUT=${1:?usage: record_strace.sh OUTDIR}
mkdir -p "$OUT"
ROUNDS=${ROUNDS:-4} strace -f -tt -T -y -o "$OUT/strace-f-tt-T-y.txt" \
  bash "$(dirname "$0")/workload.sh"
ls -la "$OUT/strace-f-tt-T-y.txt"
