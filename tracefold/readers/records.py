"""The shared pipeline of readers whose lines are events, call entry / exit records and stack
frames (ftrace, trace-cmd report, uftrace replay): line rules matched chunk by chunk on the fast
path, rare lines read by the grammar's line shapes, call records nested through one
GraphBuilder (``readers/nesting.py``) across chunks.

A reader built on it declares, besides what every Reader declares (format, grammar,
is_applicable): ``RULES`` (the line rules of its fast path), ``INNER`` (rule -> the opaque
sub-rule matched in a second stage), ``graph_event`` (the event name of its calls), and
implements the hooks it needs: ``line_rows`` (rows of the matched event lines),
``graph_batch`` (call records for the GraphBuilder), ``rare_line`` / ``other_rare`` (lines
parsed by Lark), ``header_comment``, ``message_owners`` (lines whose message may continue on
the next lines), ``specialize`` (the first chunk's header).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import FORMAT_T, repeat
from . import nesting as G
from .base import Reader, make_table

# the first chunk's sample that orders the line rules (most frequent first) and tells whether
# whole lines repeat: a few thousand lines show a file's mix; lines repeat when fewer than
# REPEATED_LINES of them are distinct (stack-trace frames), then distinct lines match once
ORDER_SAMPLE = 2000
REPEAT_SAMPLE = 5000
REPEATED_LINES = 0.6


class RecordReader(Reader):
    RULES: tuple = ()               # the line rules of the fast path
    INNER: dict = {}                # rule -> opaque sub-rule matched in a second stage
    CAPTURE: tuple = ()             # alternatives of the inner rules whose match is read
    RULE_CAPTURE: dict = {}         # rule -> alternatives captured as text
    DEDUP_RULES: tuple = ()         # rules whose lines repeat verbatim: match distinct ones once
    graph_event = "call"            # the event name of the calls nested here
    EXACT_FROM_TIMESTAMPS = False   # durations from exit - entry timestamps where both exist
    # the nesting in stitch() is the longer step: a second parse thread only holds memory
    PARSE_THREADS = 1

    def __init__(self, path="?"):
        super().__init__(path)
        self.graph = G.GraphBuilder(self.graph_event,
                                    exact_from_timestamps=self.EXACT_FROM_TIMESTAMPS)
        self.order = list(self.RULES)
        self.hits = dict.fromkeys(self.order, 0)

    # ------------------------------------------------------------------ chunks
    def parse(self, chunk):
        """The work on a chunk that needs no other chunk: the line rules matched (most
        frequent first), blank lines counted, the rest read as rare lines (a line right after
        a message-carrying event continues its message), then the reader's rows and graph
        records built (``line_rows``, ``graph_batch``). Returns what stitch() needs."""
        lines, n, line_nos = self.start_chunk(chunk)
        left = np.arange(n)
        matched = {}
        if chunk.first_line == 1 and type(self).absent == self.absent:
            self.specialize(lines)
        if not any(self.hits.values()) and n > ORDER_SAMPLE:
            self._order_by_sample(lines)
            # files where whole lines repeat (stack-trace frames …): match distinct lines once
            sample = lines.slice(0, REPEAT_SAMPLE)
            self._repetitive = len(pc.unique(sample)) < REPEATED_LINES * len(sample)
        hits = dict(self.hits)
        for rule in self.order:
            if len(left) == 0:
                break
            sub = lines if len(left) == n else lines.take(pa.array(left))
            inner = self.INNER.get(rule)
            mask, cols = self._match(sub, rule, inner)
            if mask.any():
                matched[rule] = (left[mask], cols)
                hits[rule] += int(mask.sum())
                left = left[~mask]
        # most frequent first in the next chunks (new objects: chunks parsed at once share the
        # reader's, see pipeline.parse_alone)
        self.hits = hits
        self.order = sorted(self.order, key=lambda r: -hits[r])

        if len(left):
            # blank lines in bulk (the grammar's blank rule), the rest goes to Lark
            sub = lines if len(left) == n else lines.take(pa.array(left))
            blank, _ = self.fast(sub, "blank")
            if blank.any():
                self.stats.skip("blank", int(blank.sum()))
                left = left[~blank]
        self._rare_lines = []      # (line_no, rule, fields)
        self._cont = {}            # print event line -> continuation lines of its message
        owner_of = self.message_owners(matched, line_nos)
        prev_owner = None
        for i, text, res in self.read_rare(lines, left):
            if res is None:
                own = owner_of.get(i - 1, prev_owner if prev_owner and prev_owner[0] == i - 1
                                   else None)
                if isinstance(own, tuple):
                    own = own[1]
                if own is not None:
                    # a print / bprint message with an embedded newline goes on here
                    self._cont.setdefault(own, []).append(text)
                    self.stats.event_lines += 1
                    prev_owner = (i, own)
                    continue
                self.unrecognized(int(line_nos[i]), text)
            else:
                self._rare_lines.append((int(line_nos[i]), res[0], res[1]))

        return {"tables": self.line_rows(matched, line_nos),
                "batch": self.graph_batch(matched, line_nos), "rare": self._rare_lines}

    def stitch(self, parsed):
        """The chunk's rows, in the order of the chunks: rare lines (context switches, lost
        events) and graph records go through the one nesting state."""
        self._rare_lines = parsed["rare"]
        tables = list(parsed["tables"])
        tables += self.rare_rows(parsed["batch"])
        tables.append(self._graph_table())
        tables = [t for t in tables if t is not None and t.num_rows]
        if not tables:
            return None
        return pa.concat_tables(tables)

    # ------------------------------------------------------------------ hooks
    def line_rows(self, matched, line_nos) -> list:
        """Tables of the rows of the chunk's matched lines (other than call records)."""
        return []

    def graph_batch(self, matched, line_nos):
        """The chunk's call records (numpy columns, ``nesting.empty_batch``), or None."""
        return None

    def message_owners(self, matched, line_nos) -> dict:
        """{chunk index: input line} of the lines whose message may go on over the next,
        unrecognized lines (ftrace's print events)."""
        return {}

    def rare_line(self, line, rule, f, rows):
        """One line parsed by Lark (rule name, fields): a hook; by default header comments,
        blank lines, and any other rule skipped under its name (``other_rare``)."""
        if rule == "header_comment":
            self.stats.skip("header/comment")
            self.header_comment(f.get("hash_text", ""))
        elif rule == "blank":
            self.stats.skip("blank")
        else:
            self.other_rare(line, rule, f, rows)

    def other_rare(self, line, rule, f, rows):
        self.stats.skip(rule)

    def header_comment(self, text):
        """A header comment line's text (``# …``): what it tells about the trace."""

    # ------------------------------------------------------------------ matching
    def _match(self, sub, rule, inner):
        """The rule's split form for this file's columns first (``split_fast``), then its
        regex specialized to ``self.absent`` (smaller, faster), then the full rule, each for
        the lines the one before did not take. Where whole lines repeat, each distinct line
        is matched once."""
        opaque = (inner,) if inner else ()
        capture = self.RULE_CAPTURE.get(rule, ())
        dedup = rule in self.DEDUP_RULES or self._repetitive
        steps = [lambda s: self.fast(s, rule, opaque, capture, dedup=dedup)]
        if self.absent:
            steps.insert(0, lambda s: self.fast(s, rule, opaque, capture, self.absent,
                                                 dedup=dedup))
        if self.SPLIT.get(rule) and self.absent:
            steps.insert(0, lambda s: self.split_fast(s, rule, self.SPLIT[rule], opaque,
                                                      capture, self.absent, self.present))
        mask = cols = None
        for step in steps:
            if mask is None:
                res = step(sub)
                if res is not None:
                    mask, cols = self._inner(*res, inner)
                continue
            if mask.all():
                break
            rest = np.flatnonzero(~mask)
            m2, c2 = self._inner(*step(sub.take(pa.array(rest))), inner)
            if m2.any():
                mask, cols = cols.add(mask, rest, m2, c2)
        return mask, cols

    def _inner(self, mask, cols, inner):
        """Second stage: the opaque sub-rule matched on its captured text (each distinct text
        once); lines whose text it does not take are no match."""
        if not inner:
            return mask, cols
        return self.stage(mask, cols, cols[inner], inner, self.CAPTURE)

    _repetitive = False

    def _order_by_sample(self, lines):
        sample = lines.slice(0, ORDER_SAMPLE)
        score = {}
        for rule in self.order:
            inner = self.INNER.get(rule)
            mask, _ = self.fast(sample, rule, (inner,) if inner else ())
            score[rule] = int(mask.sum())
        self.order = sorted(self.order, key=lambda r: -score[r])

    # ------------------------------------------------------------------ nesting
    def _graph_table(self):
        rows, pieces = self.graph.take()
        tables = []
        n = len(rows["line"])
        if n:
            rows["format"] = repeat(self.format, n, FORMAT_T)
            tables.append(make_table(rows, n))
        for p in pieces:
            m = len(p["line"])
            cols = {"format": repeat(self.format, m, FORMAT_T)}
            for k, v in p.items():
                if isinstance(v, tuple):
                    cols[k] = pa.array(v[0], mask=~v[1])
                elif isinstance(v, np.ndarray):
                    cols[k] = pa.array(v)
                else:
                    cols[k] = v
            tables.append(make_table(cols, m))
        if not tables:
            return None
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def open_min_line(self):
        return self.graph.open_min_line()

    def finish(self):
        self.graph.finish()
        t = self._graph_table()
        if self.graph.unclosed:
            self.stats.warnings["calls without exit (unclosed)"] = self.graph.unclosed
        if self.graph.orphans:
            self.stats.warnings["exits without entry (no_entry)"] = self.graph.orphans
        self.stats.fallback_records = self.graph.fallback_records
        return t

    def rare_rows(self, batch):
        """Lines parsed by Lark; context-switch banners and lost events are handed to the
        GraphBuilder together with the chunk's graph records."""
        rows = []
        self._switches, self._losts = [], []
        for line, rule, f in self._rare_lines:
            self.rare_line(line, rule, f, rows)
        if batch is not None:
            self.graph.feed_batch(batch, self._switches, self._losts)
        else:
            for s in self._switches:
                self.graph.switch(*s[1:])
            for lost in self._losts:
                self.graph.lost(lost[1])
        if not rows:
            return []
        n = len(rows)
        cols = {k: [r.get(k) for r in rows] for k in ("line", "kind", "event", "name", "cpu",
                                                       "fields", "text", "weight", "ts_ns",
                                                       "tid", "comm", "pid", "ts_res_ns", "flags",
                                                       "caller", "retval", "depth")}
        cols["format"] = repeat(self.format, n, FORMAT_T)
        return [make_table(cols, n)]
