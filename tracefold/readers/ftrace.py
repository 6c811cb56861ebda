"""ftrace text (``/sys/kernel/tracing/trace``, ``trace_pipe``): grammar ``grammars/ftrace.lark``."""
from __future__ import annotations

from .ftrace_lines import FtraceLines
from .records import RecordReader


class FtraceReader(FtraceLines, RecordReader):
    format = "ftrace"
    grammar = "ftrace"
    description = "ftrace text: trace / trace_pipe of the function, function_graph, nop, " \
                  "latency tracers"
    graph_event = "function_graph"
    RULES = ("event_line", "graph_line", "stack_frame")
    INNER = {"event_line": "payload", "graph_line": "graph_body"}
    CAPTURE = ("graph_entry", "graph_leaf", "graph_exit")
    DEDUP_RULES = ("stack_frame",)
    QUICK_RULES = ("header_comment",)
    NOCAPTURE = ("dur_mark", "delay_mark", "addr", "parent_addr", "sym_offset", "parent_offset",
                 "frame_offset")     # lines that repeat verbatim: match each distinct once

    # ------------------------------------------------------------------ detection
    @classmethod
    def is_applicable(cls, lines):
        ev = cls._rx("event_line", ("payload",))
        gr = cls._rx("graph_line", ("graph_body",))
        sf = cls._rx("stack_frame")
        score = 0.0
        content = [ln for ln in lines if ln.strip()]
        if not content:
            return 0.0
        hits = 0
        for ln in content[:200]:
            if ln.startswith("# tracer:"):
                score = max(score, 0.9)
            if ev.match(ln) or gr.match(ln) or (ln[:1] in " \t" and sf.match(ln)):
                hits += 1
        return max(score, 0.8 * hits / min(len(content), 200))
