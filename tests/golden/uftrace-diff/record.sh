#!/usr/bin/env bash
# Records the several-runs diff fixtures (run once; the texts are committed, tests never record
# them again). Plain `uftrace record` (schedule events kept), replay with exact timestamps, and
# uftrace's own report of the same data as an oracle. Needs uftrace, gcc, taskset.
#   base-NN     tests/programs/diffwork.c, FACTOR=1, 12 runs
#   x2-N, x4-N  FACTOR=2 / FACTOR=4 (compute() does 2x / 4x the work), 3 runs each
#   disturbed   FACTOR=1 while two CPU hogs share its core (taskset -c 0)
# The runs of the sides are interleaved so that a drift of the machine is not a change.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../programs/diffwork.c"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for f in 1 2 4; do gcc -pg -O0 -DFACTOR=$f -o "$tmp/dw$f" "$src"; done
rec() {  # name factor [taskset cpu]
  local name=$1 f=$2
  (cd "$tmp" && ${3:+taskset -c $3} uftrace record -d "$name.data" "./dw$f" 300 "$tmp/out" >/dev/null)
  uftrace replay -d "$tmp/$name.data" -f time,duration,tid | gzip -9n > "$here/$name.txt.gz"
  uftrace report -d "$tmp/$name.data" > "$here/$name.report.txt"
}
for k in 01 02 03 04 05 06 07 08 09 10 11 12; do
  rec "base-$k" 1
  case $k in 01|02|03) rec "x2-${k#0}" 2; rec "x4-${k#0}" 4;; esac
done
taskset -c 0 sh -c 'while :; do :; done' & h1=$!
taskset -c 0 sh -c 'while :; do :; done' & h2=$!
sleep 0.5
rec disturbed 1 0
kill $h1 $h2
uftrace --version | head -1 > "$here/VERSION"
