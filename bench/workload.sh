#!/bin/bash
# A mixed workload for a real `perf record -a -g` recording: python, perl, gcc, gzip and sort
# running at once (several programs, user and kernel stacks, both CPUs busy).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for round in $(seq "${ROUNDS:-2}"); do
  python3 -c "
import json, hashlib
s = 0
for i in range(300000):
    s += len(json.dumps({'a': i, 'b': [i] * 3})); hashlib.sha256(str(i).encode()).digest()
" &
  perl -e 'my %h; for my $i (1..400000) { $h{$i % 1000} .= "x"; } my $s = join(",", sort keys %h); print length($s), "\n";' >/dev/null &
  (for i in 1 2 3; do gcc -O2 -c "$ROOT/tests/programs/diffwork.c" -o /tmp/tracefold-bench-dw$i.o; done) &
  (head -c 30000000 /dev/urandom | gzip -6 > /dev/null) &
  (seq 1 600000 | sort -R | sort -n > /dev/null) &
  wait
done
rm -f /tmp/tracefold-bench-dw*.o
