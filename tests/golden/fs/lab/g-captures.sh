# The VM lab captures g1-g5 made for tests/golden/fs (graphs rooted below the syscall).
# Insert this block into ../shared/generated/vm-lab/guest-run.sh just before its
# "c: trace-cmd" section (after line 199), then run the lab with lab_captures=g1,...,g5:
#   bash run-all.sh WORKDIR DEST g1,g2,g3,g4,g5

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

