#!/usr/bin/env bash
# Records the several-runs diff fixtures (run once; the texts are committed, tests never record
# them again). Plain `uftrace record` (schedule events kept), replay with exact timestamps, and
# uftrace's own report of the same data as an oracle. Needs uftrace, gcc, taskset.
#   base-NN     tests/programs/diffwork.c, FACTOR=1, 12 runs
#   x2-N, x4-N  FACTOR=2 / FACTOR=4 (compute() does 2x / 4x the work), 3 runs each
#   disturbed   FACTOR=1 while two CPU hogs share its core (taskset -c 0)
#   disturbed-2, disturbed-3   the same with the hogs at a higher priority (nice -n -10)
#   nosched-*   `uftrace record --no-sched` (off-CPU time inside the functions' own time):
#               base-1..2, x4-1..3, disturbed-1..3 (hogs at nice -n -10)
# The runs of the sides are interleaved so that a drift of the machine is not a change.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../programs/diffwork.c"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for f in 1 2 4; do gcc -pg -O0 -DFACTOR=$f -o "$tmp/dw$f" "$src"; done
rec() {  # name factor [taskset cpu]   (RECOPTS: more uftrace record options)
  local name=$1 f=$2
  (cd "$tmp" && ${3:+taskset -c $3} uftrace record ${RECOPTS:-} -d "$name.data" "./dw$f" 300 "$tmp/out" >/dev/null)
  uftrace replay -d "$tmp/$name.data" -f time,duration,tid | gzip -9n > "$here/$name.txt.gz"
  uftrace report -d "$tmp/$name.data" > "$here/$name.report.txt"
}
hogs() {  # [nice]: two busy loops on CPU 0
  taskset -c 0 nice -n "${1:-0}" sh -c 'while :; do :; done' & h1=$!
  taskset -c 0 nice -n "${1:-0}" sh -c 'while :; do :; done' & h2=$!
  sleep 0.5
}
if [ "${1:-}" != "--more" ]; then   # the first set (--more: only what was added later)
for k in 01 02 03 04 05 06 07 08 09 10 11 12; do
  rec "base-$k" 1
  case $k in 01|02|03) rec "x2-${k#0}" 2; rec "x4-${k#0}" 4;; esac
done
hogs; rec disturbed 1 0; kill $h1 $h2
fi
hogs -10; rec disturbed-2 1 0; rec disturbed-3 1 0; kill $h1 $h2
export RECOPTS=--no-sched
for k in 1 2 3; do
  [ $k = 3 ] || rec "nosched-base-$k" 1
  rec "nosched-x4-$k" 4
done
hogs -10; for k in 1 2 3; do rec "nosched-disturbed-$k" 1 0; done; kill $h1 $h2
uftrace --version | head -1 > "$here/VERSION"
