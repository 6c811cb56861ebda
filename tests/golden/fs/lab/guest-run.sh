#!/bin/bash
# Runs inside the lab VM (started by guest-init.sh, PID 1, as root). Each capture writes
# into /out/results/<capture>/ with a COMMANDS.md listing every command and its exit status.
# Workload programs (built by build-rootfs.sh) are in /lab; they run in /lab/run (ext4 on /dev/vda).
# Pick captures with lab_captures=a,b1,... on the kernel command line (default: all).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C HOME=/root TERM=dumb
T=/sys/kernel/tracing
R=/out/results
LIMIT=300   # seconds, per workload command
mkdir -p "$R" /lab/run
cd /lab/run || exit 1

ONLY=all
for w in $(cat /proc/cmdline); do case $w in lab_captures=*) ONLY=${w#*=};; esac; done
named() { case ",$ONLY," in *",$1,"*) return 0;; esac; return 1; }
want() { case ",$ONLY," in *,all,*) return 0;; esac; named "$1"; }

say() { echo "lab: $*" > /dev/console; echo "lab: $*"; }

KREL=$(uname -r)
VERSIONS="kernel: $(uname -srvm)
trace-cmd: $(trace-cmd --version 2>&1 | grep -m1 version)
uftrace: $(uftrace --version 2>&1 | head -1)
perf: $(perf --version 2>&1)
gcc: $(gcc --version | head -1)
guest: Debian $(cat /etc/debian_version), qemu VM with 2 vCPUs, 2 GiB RAM, root=/dev/vda (ext4, virtio-blk)"

# begin CAP "title" "description"
begin() {
  sync   # what the previous captures wrote is on the disk even if this one hangs the VM
  CAP=$1; O=$R/$1; mkdir -p "$O"
  {
    echo "# $1: $2"
    echo
    echo "$3"
    echo
    echo "Guest paths: the capture folder is \`$O\` (the output disk), the programs are in"
    echo "\`/lab\` and run with the working directory \`/lab/run\` (ext4 on the root virtio disk)."
    echo "Each command ran in its own \`bash\` subshell, as root, inside the VM; stderr of the"
    echo "commands that write a file went to FILE.stderr beside it."
    cat <<'TXT'
Raw ftrace captures trace one program alone: `sh -c 'echo $$ > set_ftrace_pid; echo 1 > tracing_on; exec PROG'`,
so their first records (the end of the write to tracing_on, and the close of that file)
belong to that shell, shown under the program's name (same pid).
TXT
    echo
    echo '```'
    echo "$VERSIONS"
    echo '```'
    echo
    echo "## Commands"
    echo
  } > "$O/COMMANDS.md"
  say "=== capture $CAP"
}

# run 'shell command' : run it (in /lab/run), log it with exit status and time
run() {
  local cmd=$1 rc t0 t1
  t0=$(date +%s.%N)
  ( cd /lab/run && eval "$cmd" )
  rc=$?
  t1=$(date +%s.%N)
  printf '```sh\n%s\n```\nexit status: %d (%s s)\n\n' "$cmd" "$rc" "$(echo "$t1 - $t0" | awk '{printf "%.2f", $1 - $3}')" >> "$O/COMMANDS.md"
  say "[$CAP] rc=$rc: $(echo "$cmd" | head -1 | cut -c1-150)"
  return $rc
}
note() { printf '%s\n\n' "$*" >> "$O/COMMANDS.md"; }

ftrace_reset() {
  echo 0 > $T/tracing_on
  echo 0 > $T/options/func_stack_trace 2>/dev/null
  echo nop > $T/current_tracer
  echo > $T/set_ftrace_filter
  echo > $T/set_ftrace_notrace
  echo > $T/set_graph_function
  echo > $T/set_graph_notrace
  echo > $T/set_ftrace_pid
  echo > $T/set_event_pid
  echo 0 > $T/max_graph_depth
  echo 0 > $T/events/enable
  for o in sym-offset sym-addr funcgraph-abstime funcgraph-proc funcgraph-tail function-fork latency-format; do
    echo 0 > $T/options/$o 2>/dev/null
  done
  echo 1 > $T/options/funcgraph-irqs 2>/dev/null
  echo 1 > $T/options/funcgraph-duration 2>/dev/null
  echo 1 > $T/options/funcgraph-cpu 2>/dev/null
  echo 1 > $T/options/funcgraph-overhead 2>/dev/null
  echo 1 > $T/options/record-cmd 2>/dev/null
  echo 1408 > $T/buffer_size_kb
  echo > $T/trace
}
ftrace_reset_logged() {
  run "# reset (what guest-run.sh's ftrace_reset does, shown once):
echo 0 > $T/tracing_on; echo 0 > $T/options/func_stack_trace; echo nop > $T/current_tracer
echo > $T/set_ftrace_filter; echo > $T/set_graph_function; echo > $T/set_ftrace_pid
echo 0 > $T/max_graph_depth; echo 0 > $T/events/enable; echo > $T/trace   # and options back to defaults"
}

# the program to trace runs as the only workload, filtered to its pid:
# the shell writes its own pid to set_ftrace_pid, turns tracing on, and execs the program.
traced() { # traced PROG ARGS...
  echo "timeout $LIMIT sh -c 'echo \$\$ > $T/set_ftrace_pid; echo 1 > $T/tracing_on; exec $*'; echo 0 > $T/tracing_on"
}

# ---------------------------------------------------------------- info
if want info; then
  begin vm-info "the lab VM, its kernel and what ftrace offers" "Versions, kernel command line, ftrace tracers and the kernel functions the captures use."
  ftrace_reset
  run "uname -a > $O/uname.txt"
  run "cat /proc/cmdline > $O/cmdline.txt"
  run "cat $T/available_tracers > $O/available_tracers.txt"
  run "wc -l < $T/available_filter_functions > $O/available_filter_functions.count.txt"
  run "grep -wE 'do_sys_openat2|do_filp_open|path_openat|ksys_read|ksys_write|ksys_fsync|vfs_fsync|vfs_fsync_range|do_fsync|close_fd|__x64_sys_close|__x64_sys_openat|vfs_read|vfs_write|ext4_file_read_iter|ext4_file_write_iter|ext4_buffered_write_iter|ext4_sync_file|filemap_read|submit_bio|submit_bio_noacct|blk_mq_submit_bio|blk_mq_flush_plug_list|virtio_queue_rq' $T/available_filter_functions > $O/functions-used.txt"
  run "grep -E 'CONFIG_FUNCTION_(GRAPH_)?TRACER=|CONFIG_DYNAMIC_FTRACE=|CONFIG_FTRACE_SYSCALLS=|CONFIG_BLK_DEV_IO_TRACE=|CONFIG_FUNCTION_PROFILER=' /boot/config-$KREL > $O/kernel-config-ftrace.txt"
  run "ls $T/options > $O/trace-options.txt"
  run "trace-cmd --version > $O/versions.txt 2>&1; uftrace --version >> $O/versions.txt; perf --version >> $O/versions.txt; gcc --version | head -1 >> $O/versions.txt"
  run "mount | grep -E ' / | /out ' > $O/mounts.txt"
fi

# ---------------------------------------------------------------- a: function tracer + stack traces
if want a; then
  begin ftrace-function-stack "raw ftrace, function tracer, func_stack_trace + sym-offset" \
    "The \`trace\` file of the function tracer limited to do_sys_openat2, ksys_read, ksys_write and close_fd, with a kernel stack trace after each hit, for /lab/hello (plain build) filtered by set_ftrace_pid."
  ftrace_reset; ftrace_reset_logged
  run "echo 'do_sys_openat2 ksys_read ksys_write close_fd' > $T/set_ftrace_filter"
  run "cat $T/set_ftrace_filter > $O/set_ftrace_filter.txt"
  run "echo function > $T/current_tracer"
  run "echo 1 > $T/options/func_stack_trace"
  run "echo 1 > $T/options/sym-offset"
  run "$(traced /lab/hello)"
  run "cat $T/trace > $O/trace.txt"
  run "echo 1 > $T/options/sym-addr; cat $T/trace > $O/trace-sym-addr.txt"
  note "trace-sym-addr.txt is the same buffer printed again with options/sym-addr=1 as well."
  ftrace_reset
  # the same on the I/O program (more reads/writes; many stack traces)
  run "echo 'do_sys_openat2 ksys_read ksys_write close_fd' > $T/set_ftrace_filter; echo function > $T/current_tracer; echo 1 > $T/options/func_stack_trace; echo 1 > $T/options/sym-offset; echo 8192 > $T/buffer_size_kb"
  run "$(traced /lab/io)"
  run "cat $T/trace > $O/trace-io.txt"
  note "trace-io.txt: the same settings on /lab/io (1 MiB in 4 KiB writes, fsync, read back)."
  ftrace_reset
fi

# ---------------------------------------------------------------- b: function_graph
if want b1; then
  begin ftrace-graph-hello "raw ftrace, function_graph on the open/read/write/close syscalls of hello" \
    "function_graph tracer, set_graph_function = do_sys_openat2 ksys_read ksys_write close_fd, unlimited depth, default options, /lab/hello (plain build) filtered by set_ftrace_pid."
  ftrace_reset; ftrace_reset_logged
  run "echo 16384 > $T/buffer_size_kb"
  run "echo 'do_sys_openat2 ksys_read ksys_write close_fd' > $T/set_graph_function"
  run "echo function_graph > $T/current_tracer"
  run "$(traced /lab/hello)"
  run "cat $T/trace > $O/trace.txt"
  run "cat $T/per_cpu/cpu0/stats > $O/stats-cpu0.txt; cat $T/per_cpu/cpu1/stats > $O/stats-cpu1.txt"
  ftrace_reset
fi
if want b2; then
  begin ftrace-graph-hello-abstime-proc-tail "raw ftrace, function_graph with funcgraph-abstime, funcgraph-proc, funcgraph-tail" \
    "As ftrace-graph-hello, plus options funcgraph-abstime=1, funcgraph-proc=1, funcgraph-tail=1 (closing braces name their function)."
  ftrace_reset; ftrace_reset_logged
  run "echo 16384 > $T/buffer_size_kb"
  run "echo 'do_sys_openat2 ksys_read ksys_write close_fd' > $T/set_graph_function"
  run "echo function_graph > $T/current_tracer"
  run "echo 1 > $T/options/funcgraph-abstime; echo 1 > $T/options/funcgraph-proc; echo 1 > $T/options/funcgraph-tail"
  run "$(traced /lab/hello)"
  run "cat $T/trace > $O/trace.txt"
  ftrace_reset
fi
if want b3; then
  begin ftrace-graph-fsync-block "raw ftrace, function_graph of fsync down to the block layer" \
    "function_graph tracer, set_graph_function = the fsync entry points this kernel has, max_graph_depth=0 (unlimited), options funcgraph-abstime/proc/tail, on /lab/io (1 MiB written in 4 KiB chunks, then fsync: ext4 writeback, bio submission, blk-mq, virtio, jbd2 wait and the flush)."
  ftrace_reset; ftrace_reset_logged
  FS=$(grep -owE '^(ksys_fsync|do_fsync|vfs_fsync|vfs_fsync_range)' $T/available_filter_functions | sort -u | tr '\n' ' ')
  note "fsync entry points present in available_filter_functions: \`$FS\`"
  run "echo 65536 > $T/buffer_size_kb"
  run "echo '$FS' > $T/set_graph_function"
  run "cat $T/set_graph_function > $O/set_graph_function.txt"
  run "echo 0 > $T/max_graph_depth"
  run "echo function_graph > $T/current_tracer"
  run "echo 1 > $T/options/funcgraph-abstime; echo 1 > $T/options/funcgraph-proc; echo 1 > $T/options/funcgraph-tail"
  run "$(traced /lab/io)"
  run "cat $T/trace > $O/trace.txt"
  run "cat $T/per_cpu/cpu0/stats > $O/stats-cpu0.txt; cat $T/per_cpu/cpu1/stats > $O/stats-cpu1.txt"
  ftrace_reset
fi
if want b4; then
  begin ftrace-graph-read-block "raw ftrace, function_graph of read(2) after the page cache was dropped" \
    "function_graph tracer, set_graph_function = ksys_read, unlimited depth, default options, on /lab/io: after fsync it drops the file's pages (posix_fadvise DONTNEED), so the read-back goes through filemap_read, readahead and the block layer (submit_bio, blk_mq_*)."
  ftrace_reset; ftrace_reset_logged
  run "echo 65536 > $T/buffer_size_kb"
  run "echo 'ksys_read' > $T/set_graph_function"
  run "echo function_graph > $T/current_tracer"
  run "$(traced /lab/io)"
  run "cat $T/trace > $O/trace.txt"
  run "cat $T/per_cpu/cpu0/stats > $O/stats-cpu0.txt; cat $T/per_cpu/cpu1/stats > $O/stats-cpu1.txt"
  ftrace_reset
fi

# ---------------------------------------------------------------- g: graphs rooted below the syscall
# (tracefold issue 12.3) set_graph_function on a VFS / ext4 / block function, not the syscall
gcap() { # gcap NAME FUNCS OPTS "description"
  if want "$1"; then
    begin "ftrace-graph-$1" "raw ftrace, function_graph rooted at $2" "$4"
    ftrace_reset; ftrace_reset_logged
    run "echo 65536 > $T/buffer_size_kb"
    run "echo '$2' > $T/set_graph_function"
    run "echo function_graph > $T/current_tracer"
    [ -n "$3" ] && run "$3"
    run "$(traced /lab/io)"
    run "cat $T/trace > $O/trace.txt"
    ftrace_reset
  fi
}
gcap g1 vfs_fsync_range "" "function_graph tracer, set_graph_function = vfs_fsync_range, default options, on /lab/io (1 MiB written, fsync, page cache dropped, read back)."
gcap g2 vfs_fsync_range "echo 1 > $T/options/funcgraph-abstime; echo 1 > $T/options/funcgraph-proc; echo 1 > $T/options/funcgraph-tail" "function_graph tracer, set_graph_function = vfs_fsync_range, options funcgraph-abstime/proc/tail, on /lab/io."
gcap g3 "ext4_file_read_iter ext4_file_write_iter" "echo 1 > $T/options/funcgraph-proc" "function_graph tracer, set_graph_function = ext4_file_read_iter ext4_file_write_iter, option funcgraph-proc, on /lab/io (the read-back misses the page cache)."
gcap g4 "vfs_read vfs_write" "" "function_graph tracer, set_graph_function = vfs_read vfs_write, default options, on /lab/io."
gcap g5 "submit_bio" "echo 1 > $T/options/funcgraph-proc" "function_graph tracer, set_graph_function = submit_bio, option funcgraph-proc, on /lab/io."

# ---------------------------------------------------------------- c: trace-cmd
if want c1; then
  begin trace-cmd-graph-hello "trace-cmd record -p function_graph -g ... -F ./hello, and reports" \
    "trace-cmd with the function_graph tracer on the open/read/write/close syscall paths of /lab/hello (plain build), then trace-cmd report (plain, -l, -R) of the same trace.dat."
  ftrace_reset
  run "timeout $LIMIT trace-cmd record -o $O/trace.dat -p function_graph -g do_sys_openat2 -g ksys_read -g ksys_write -g close_fd -F /lab/hello > $O/record.stdout 2> $O/record.stderr"
  run "trace-cmd report -i $O/trace.dat > $O/report.txt 2> $O/report.txt.stderr"
  run "trace-cmd report -l -i $O/trace.dat > $O/report-l.txt 2> $O/report-l.txt.stderr"
  run "trace-cmd report -R -i $O/trace.dat > $O/report-R.txt 2> $O/report-R.txt.stderr"
  run "trace-cmd report --stat -i $O/trace.dat > $O/report-stat.txt 2> $O/report-stat.txt.stderr"
  ftrace_reset
fi
if want c2; then
  begin trace-cmd-function-stack "trace-cmd record -p function -l 'ksys_*' --func-stack -F ./hello" \
    "trace-cmd with the function tracer limited to ksys_* and a kernel stack trace per hit, for /lab/hello (plain build); report plain, -l and -R."
  ftrace_reset
  run "timeout $LIMIT trace-cmd record -o $O/trace.dat -p function -l 'ksys_*' --func-stack -F /lab/hello > $O/record.stdout 2> $O/record.stderr"
  run "trace-cmd report -i $O/trace.dat > $O/report.txt 2> $O/report.txt.stderr"
  run "trace-cmd report -l -i $O/trace.dat > $O/report-l.txt 2> $O/report-l.txt.stderr"
  run "trace-cmd report -R -i $O/trace.dat > $O/report-R.txt 2> $O/report-R.txt.stderr"
  # the wider list of file-system entry points
  run "timeout $LIMIT trace-cmd record -o $O/trace-4funcs.dat -p function -l do_sys_openat2 -l ksys_read -l ksys_write -l close_fd --func-stack -F /lab/hello > $O/record-4funcs.stdout 2> $O/record-4funcs.stderr"
  run "trace-cmd report -i $O/trace-4funcs.dat > $O/report-4funcs.txt 2> $O/report-4funcs.txt.stderr"
  ftrace_reset
fi
if want c3; then
  begin trace-cmd-events-io "trace-cmd record -e syscalls -e sched:sched_switch -e block ./io" \
    "Tracepoint events (all syscalls, sched_switch, all block events) while /lab/io runs (1 MiB written in 4 KiB chunks, fsync, page cache dropped, read back). Recorded system-wide (no -F), so the block completions in interrupt context and the kworker/jbd2 threads are in it; trace-cmd leaves out its own processes."
  ftrace_reset
  run "timeout $LIMIT trace-cmd record -o $O/trace.dat -b 8192 -e syscalls -e sched:sched_switch -e block /lab/io > $O/record.stdout 2> $O/record.stderr"
  run "trace-cmd report -i $O/trace.dat > $O/report.txt 2> $O/report.txt.stderr"
  run "trace-cmd report -l -i $O/trace.dat > $O/report-l.txt 2> $O/report-l.txt.stderr"
  run "trace-cmd report -R -i $O/trace.dat > $O/report-R.txt 2> $O/report-R.txt.stderr"
  run "trace-cmd report --stat -i $O/trace.dat > $O/report-stat.txt 2> $O/report-stat.txt.stderr"
  run "timeout $LIMIT trace-cmd record -o $O/trace-F.dat -b 8192 -e syscalls -e sched:sched_switch -e block -F /lab/io > $O/record-F.stdout 2> $O/record-F.stderr"
  run "trace-cmd report -i $O/trace-F.dat > $O/report-F.txt 2> $O/report-F.txt.stderr"
  note "trace-F.dat / report-F.txt: the same with -F (only events of the io process itself)."
  ftrace_reset
fi

# ---------------------------------------------------------------- d: uftrace -K
if want d1; then
  begin uftrace-K-hello "uftrace record -K 5 ./hello_pg, and replay/dump/report/graph of that recording" \
    "uftrace with kernel tracing 5 levels deep below each syscall (it uses the kernel function_graph tracer for the task), on /lab/hello_pg (gcc -g -pg). All outputs come from the one recording in uftrace.data/."
  ftrace_reset
  run "timeout $LIMIT uftrace record -K 5 -d $O/uftrace.data /lab/hello_pg > $O/record.stdout 2> $O/record.stderr"
  run "uftrace replay -d $O/uftrace.data > $O/replay.txt 2> $O/replay.txt.stderr"
  run "uftrace replay -f duration,tid,time -d $O/uftrace.data > $O/replay-f-duration-tid-time.txt 2> $O/replay-f-duration-tid-time.txt.stderr"
  run "uftrace dump --chrome -d $O/uftrace.data > $O/dump-chrome.json 2> $O/dump-chrome.json.stderr"
  run "uftrace dump --flame-graph --sample-time=1ns -d $O/uftrace.data > $O/dump-flame-graph-1ns.txt 2> $O/dump-flame-graph-1ns.txt.stderr"
  run "uftrace report -d $O/uftrace.data > $O/report.txt 2> $O/report.txt.stderr"
  run "uftrace graph -d $O/uftrace.data > $O/graph.txt 2> $O/graph.txt.stderr"
  run "uftrace info -d $O/uftrace.data > $O/info.txt 2> $O/info.txt.stderr"
  run "uftrace dump -d $O/uftrace.data > $O/dump-raw.txt 2> $O/dump-raw.txt.stderr"
  ftrace_reset
fi
if want d2; then
  begin uftrace-k-hello "uftrace record -k ./hello_pg (kernel syscall level only)" \
    "uftrace -k (= -K 1: only the kernel entry functions) on /lab/hello_pg, replay of that recording."
  ftrace_reset
  run "timeout $LIMIT uftrace record -k -d $O/uftrace.data /lab/hello_pg > $O/record.stdout 2> $O/record.stderr"
  run "uftrace replay -d $O/uftrace.data > $O/replay.txt 2> $O/replay.txt.stderr"
  run "uftrace replay -f duration,tid,time -d $O/uftrace.data > $O/replay-f-duration-tid-time.txt 2> $O/replay-f-duration-tid-time.txt.stderr"
  ftrace_reset
fi
if want d3; then
  begin uftrace-K-io "uftrace record -K 5 ./io_pg, and replay/dump/report/graph" \
    "uftrace with kernel depth 5 on /lab/io_pg (gcc -g -pg): write, fsync, read-back paths; all outputs from the one recording."
  ftrace_reset
  run "timeout $LIMIT uftrace record -K 5 --kernel-buffer 65536 -d $O/uftrace.data /lab/io_pg > $O/record.stdout 2> $O/record.stderr"
  run "uftrace replay -d $O/uftrace.data > $O/replay.txt 2> $O/replay.txt.stderr"
  run "uftrace replay -f duration,tid,time -d $O/uftrace.data > $O/replay-f-duration-tid-time.txt 2> $O/replay-f-duration-tid-time.txt.stderr"
  run "uftrace dump --chrome -d $O/uftrace.data > $O/dump-chrome.json 2> $O/dump-chrome.json.stderr"
  run "uftrace dump --flame-graph --sample-time=1ns -d $O/uftrace.data > $O/dump-flame-graph-1ns.txt 2> $O/dump-flame-graph-1ns.txt.stderr"
  run "uftrace report -d $O/uftrace.data > $O/report.txt 2> $O/report.txt.stderr"
  run "uftrace graph -d $O/uftrace.data > $O/graph.txt 2> $O/graph.txt.stderr"
  ftrace_reset
fi

# ---------------------------------------------------------------- e: perf
if want e1; then
  begin perf-io "perf record -e cpu-clock -g -- ./io 4, perf script, perf data convert --to-json" \
    "perf sampling (cpu-clock, frame-pointer call graphs) of /lab/io (built with -fno-omit-frame-pointer) doing 4 rounds of write 1 MiB / fsync / drop cache / read back; script and JSON come from the same perf.data."
  ftrace_reset
  run "timeout $LIMIT perf record -e cpu-clock -F 10000 -g -o $O/perf.data -- /lab/io 4 > $O/record.stdout 2> $O/record.stderr"
  run "perf script -i $O/perf.data > $O/perf-script.txt 2> $O/perf-script.txt.stderr"
  run "perf script -i $O/perf.data -F comm,pid,tid,time,period,event,ip,sym,symoff,dso > $O/perf-script-F.txt 2> $O/perf-script-F.txt.stderr"
  run "perf data convert -i $O/perf.data --to-json $O/perf.json > $O/convert.stdout 2> $O/convert.stderr"
  run "perf report -i $O/perf.data --stdio > $O/perf-report.txt 2> $O/perf-report.txt.stderr"
  run "perf script -i $O/perf.data --header-only > $O/perf-header.txt 2> $O/perf-header.txt.stderr"
fi
if want e2; then
  begin perf-io-system-wide "perf record -e cpu-clock -a -g -- ./io 4" \
    "As perf-io but system-wide (-a): kworker, jbd2, idle and interrupt (block completion) samples on both CPUs too."
  ftrace_reset
  run "timeout $LIMIT perf record -e cpu-clock -F 10000 -a -g -o $O/perf.data -- /lab/io 4 > $O/record.stdout 2> $O/record.stderr"
  run "perf script -i $O/perf.data > $O/perf-script.txt 2> $O/perf-script.txt.stderr"
  run "perf script -i $O/perf.data -F comm,pid,tid,cpu,time,period,event,ip,sym,symoff,dso > $O/perf-script-F.txt 2> $O/perf-script-F.txt.stderr"
  run "perf data convert -i $O/perf.data --to-json $O/perf.json > $O/convert.stdout 2> $O/convert.stderr"
  run "perf report -i $O/perf.data --stdio --sort comm,dso > $O/perf-report.txt 2> $O/perf-report.txt.stderr"
fi
if want e3; then
  begin perf-ftrace-fsync "perf ftrace -G (function_graph through perf) on fsync" \
    "perf's own front end for ftrace: function_graph of the fsync path of /lab/io, and the function tracer on ksys_write/ksys_read for /lab/hello."
  ftrace_reset
  run "timeout $LIMIT perf ftrace -t function_graph -G vfs_fsync_range -- /lab/io > $O/perf-ftrace-graph.txt 2> $O/perf-ftrace-graph.txt.stderr"
  run "timeout $LIMIT perf ftrace -t function -T ksys_write -T ksys_read -- /lab/hello > $O/perf-ftrace-function.txt 2> $O/perf-ftrace-function.txt.stderr"
  ftrace_reset
fi

# ---------------------------------------------------------------- big: all kernel functions, system-wide
# Not part of "all": pick them with lab_captures=big (all four, in this order) or big1..big4.
# No set_ftrace_filter, no set_graph_function, no pid filter: every traceable kernel function,
# both CPUs, while bigmix.sh runs five programs at once, each over and over.
bigwant() { named big || named "$1"; }
MIX=/lab/run/bigmix.sh
cat > $MIX <<'MIXEOF'
#!/bin/bash
# bigmix.sh MAXSECS [fill]: five programs at once, each run over and over in its own
# process group, until MAXSECS seconds have passed or (with "fill") until every per-CPU
# ftrace buffer has wrapped (overrun > 0 in per_cpu/cpuN/stats: the ring buffer is full);
# with "fill" it then turns tracing off; then it kills the five process groups.
max=$1; mode=${2:-}
T=/sys/kernel/tracing
cd /lab/run || exit 1
pgs=
start() { setsid bash -c "while :; do $1; done" > /dev/null 2>&1 & pgs="$pgs $!"; }
start "find /usr -type f -print0 | head -z -n 3000 | xargs -0 cat > /dev/null"
start "/lab/io 3"
start "tar czf /tmp/doc.tgz /usr/share/doc"
start "gcc -O2 -c /lab/io.c -o /tmp/io.o"
start "seq 1 300000 | sort -r > /tmp/sorted.txt"
t0=$(date +%s)
while [ $(( $(date +%s) - t0 )) -lt "$max" ]; do
  sleep 1
  if [ "$mode" = fill ]; then
    full=1
    for s in $T/per_cpu/cpu*/stats; do
      o=$(sed -n 's/^overrun: //p' "$s"); [ "${o:-0}" -gt 0 ] || full=0
    done
    [ $full = 1 ] && break
  fi
done
[ "$mode" = fill ] && echo 0 > $T/tracing_on
for p in $pgs; do kill -KILL -- -"$p" 2>/dev/null; done
wait
echo "bigmix: ran $(( $(date +%s) - t0 )) s (mode ${mode:-time})" >&2
MIXEOF
chmod +x $MIX
BIGMAX=240     # seconds: the most bigmix.sh runs while filling a raw ftrace buffer
BIGSECS=       # seconds bigmix.sh runs under trace-cmd record (lab_bigsecs=N; default: the fill time of big1, else 30)
for w in $(cat /proc/cmdline); do case $w in lab_bigsecs=*) BIGSECS=${w#*=};; esac; done

bigbegin() { # bigbegin NAME "title" "description"
  sync
  CAP=$1; O=$R/$1; mkdir -p "$O"
  {
    echo "# $1: $2"
    echo
    echo "$3"
    echo
    echo "System-wide: no function filter, no graph filter, no pid filter; both vCPUs. The"
    echo "workload is \`/lab/run/bigmix.sh\` (below), started from \`/lab/run\` (ext4 on the root"
    echo "virtio disk); its files in /tmp are on tmpfs. The trace file was read (or, for"
    echo "trace-cmd, reported) after tracing was turned off, and written to the output disk as is."
    echo "Each command ran in its own \`bash\` subshell, as root, inside the VM (qemu TCG)."
    echo
    echo '```'
    echo "$VERSIONS"
    echo '```'
    echo
    echo "## bigmix.sh"
    echo
    echo '```bash'
    cat $MIX
    echo '```'
    echo
    echo "## Commands"
    echo
  } > "$O/COMMANDS.md"
  say "=== capture $CAP"
}
# raw ftrace on all functions: bigraw NAME TRACER KB OPTS OUTFILE
bigraw() {
  local name=$1 tracer=$2 kb=$3 opts=$4 out=$5 t0 t1
  ftrace_reset; ftrace_reset_logged
  run "sync; echo 3 > /proc/sys/vm/drop_caches; rm -f /tmp/doc.tgz /tmp/io.o /tmp/sorted.txt /lab/run/io-data.bin"
  run "echo $kb > $T/buffer_size_kb; cat $T/buffer_total_size_kb > $O/buffer_total_size_kb.txt"
  run "echo $tracer > $T/current_tracer"
  [ -n "$opts" ] && run "$opts"
  run "cat $T/trace_options > $O/trace_options.txt"
  t0=$(date +%s)
  run "echo 1 > $T/tracing_on; $MIX $BIGMAX fill 2> $O/bigmix.stderr; echo 0 > $T/tracing_on"
  t1=$(date +%s); BIGFILL=$((t1 - t0))
  note "The buffer was full (or $BIGMAX s had passed) after about $BIGFILL s."
  run "for c in $T/per_cpu/cpu*; do echo \"== \$c\"; cat \$c/stats; done > $O/stats.txt"
  note "Next: ftrace_enabled=0 takes the calls to the tracer out of the kernel's code (the buffer stays), so reading the trace file is not slowed down by the function hooks."
  run "echo 0 > /proc/sys/kernel/ftrace_enabled"
  run "cat $T/trace > $O/$out"
  run "echo nop > $T/current_tracer; echo 1 > /proc/sys/kernel/ftrace_enabled"
  ftrace_reset
  sync
}

if bigwant big1; then
  bigbegin ftrace-graph-all "raw ftrace, function_graph on all kernel functions, abstime/proc/tail, system-wide" \
    "function_graph tracer, no set_graph_function (every traceable kernel function), no pid filter, buffer_size_kb=150000 per CPU, options funcgraph-abstime=1, funcgraph-proc=1, funcgraph-tail=1 (the rest default), read from /sys/kernel/tracing/trace after tracing_on=0."
  bigraw ftrace-graph-all function_graph 150000 \
    "echo 1 > $T/options/funcgraph-abstime; echo 1 > $T/options/funcgraph-proc; echo 1 > $T/options/funcgraph-tail" \
    ftrace-graph-all.txt
  [ -z "$BIGSECS" ] && BIGSECS=$BIGFILL
fi
if bigwant big2; then
  bigbegin ftrace-graph-all-default "raw ftrace, function_graph on all kernel functions, default options, system-wide" \
    "function_graph tracer, no set_graph_function, no pid filter, buffer_size_kb=40000 per CPU, default options, read from /sys/kernel/tracing/trace after tracing_on=0."
  bigraw ftrace-graph-all-default function_graph 40000 "" ftrace-graph-all-default.txt
fi
if bigwant big3; then
  bigbegin trace-cmd-graph-all "trace-cmd record -p function_graph (all functions, system-wide), trace-cmd report" \
    "trace-cmd record with the function_graph tracer on every kernel function (no -g, no -F: system-wide; trace-cmd leaves out its own recorder processes), -b 100000 (KiB per CPU kernel buffer), -m 70000 (at most about 70000 KiB kept per CPU: trace-cmd switches between two halves, so older data is dropped), while bigmix.sh runs for a fixed time; then trace-cmd report to text."
  ftrace_reset
  [ -z "$BIGSECS" ] && BIGSECS=30
  [ "$BIGSECS" -lt 10 ] && BIGSECS=10
  [ "$BIGSECS" -gt 180 ] && BIGSECS=180
  note "bigmix.sh runs $BIGSECS s here."
  run "sync; echo 3 > /proc/sys/vm/drop_caches; rm -f /tmp/doc.tgz /tmp/io.o /tmp/sorted.txt /lab/run/io-data.bin"
  run "timeout 1200 trace-cmd record -p function_graph -b 100000 -m 70000 -o $O/trace.dat $MIX $BIGSECS > $O/record.stdout 2> $O/record.stderr"
  run "ls -l $O/trace.dat > $O/trace.dat.ls.txt"
  run "trace-cmd report -i $O/trace.dat > $O/trace-cmd-graph-all.txt 2> $O/report.stderr"
  run "trace-cmd report --stat -i $O/trace.dat > $O/report-stat.txt 2> $O/report-stat.stderr"
  ftrace_reset
  sync
fi
if bigwant big4; then
  bigbegin ftrace-function-all "raw ftrace, function tracer on all kernel functions, system-wide" \
    "function tracer, no set_ftrace_filter (every traceable kernel function), no pid filter, buffer_size_kb=32768 per CPU, default options, read from /sys/kernel/tracing/trace after tracing_on=0."
  bigraw ftrace-function-all function 32768 "" ftrace-function-all.txt
fi

sync
say "all captures done"
