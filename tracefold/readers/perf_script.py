"""perf script text (and simpleperf's report-sample text): grammar ``grammars/perf_script.lark``.

Each sample becomes one row: kind ``sample``, its stack root → leaf (perf prints the innermost
frame first), its weight (the period where present, else 1), pid/tid/comm/cpu/time and event.
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import FORMAT_T, SAMPLE, repeat
from ..tables import grouped_lists, last_items
from .base import DistinctLines, Reader, make_table, nonempty, null_if_empty, \
    np_of as _np, decimal_text_ns, to_int
from .fields import parse_fields


class PerfScriptReader(Reader):
    format = "perf-script"
    grammar = "perf_script"
    QUICK_RULES = ("header_comment",)
    description = "perf script text (default and -F layouts, --header) and simpleperf text"
    INNER = {"sample_header": "trailer"}   # the TRAILER text is matched with rule trailer

    def __init__(self, path="?"):
        super().__init__(path)
        # headers first: "dd 29776 666709.771979: …" would also read as a frame (dd is hex)
        self.order = ["sample_header", "frame"]

    @classmethod
    def is_applicable(cls, lines):
        head = cls._rx("sample_header")
        frame = cls._rx("frame")
        content = [ln for ln in lines if ln.strip()][:300]
        if not content:
            return 0.0
        if any(ln.startswith("# ========") or ln.startswith("# captured on") for ln in content[:5]):
            return 0.95
        h = f = 0
        for ln in content:
            if head.match(ln):
                h += 1
            elif frame.match(ln):
                f += 1
        if not h:
            return 0.0
        # a sample header followed by indented callchain frames is unmistakable
        if f:
            return 0.9
        return 0.4 * h / len(content)

    def hold(self, b: bytes) -> bool:
        # callchain frames (and a stray blank line before them) stay in the chunk of their
        # sample header
        first = b.split(b"\n", 1)[0]
        if first[:1] in (b" ", b"\t") or not first.strip():
            return True
        # frames printed without indentation: a line that is a frame and not a sample header
        text = first.decode("utf-8", "replace")
        return bool(self._rx("frame").match(text)) and not self._rx("sample_header").match(text)

    # ------------------------------------------------------------------ chunks
    def parse(self, chunk):
        lines, n, line_nos = self.start_chunk(chunk)
        st = self.stats
        # callchain lines repeat verbatim across samples: the chunk's lines are encoded once
        # and each rule matches each distinct text once
        dl = DistinctLines(lines)
        matched = {}
        for rule in self.order:
            if rule == "sample_header":
                mask, cols = self._headers(dl)
            else:
                mask, cols = self.fast_distinct(dl, rule)
            if mask.any():
                matched[rule] = (np.flatnonzero(mask), cols)
                dl.take(mask)
        left = dl.left()
        self._blank = set()
        if len(left):
            sub = lines if len(left) == n else lines.take(pa.array(left))
            blank, _ = self.fast(sub, "blank")
            if blank.any():
                st.skip("blank", int(blank.sum()))
                self._blank = set(line_nos[left[blank]].tolist())
                left = left[~blank]
        for i, text, res in self.read_rare(lines, left):
            if res is None:
                self.unrecognized(int(line_nos[i]), text)
            elif res[0] == "blank":
                st.skip("blank")
                self._blank.add(int(line_nos[i]))
            else:
                st.skip("header/comment")
                self._header(res[1].get("hash_text", ""))
        return self._samples(matched, line_nos, lines)

    def _headers(self, dl):
        """Sample header lines: the head (comm, pid/tid, cpu, time) with its tail captured as
        text; the tail (period, event, trailer) matched once per distinct text, the trailer
        then the same way. Most lines are callchain frames that repeat verbatim, so the head
        regex runs on distinct lines (the unique headers plus few frames). Lines whose head
        and tail did not fit (a comm that looks like "name 12 word:") get the whole rule."""
        sub = dl.lines
        head, cols = self.fast_distinct(dl, "sample_header", ("sample_tail",))
        mask, cols = self.stage(head, cols, cols["sample_tail"], "sample_tail")
        mask, cols = self._trailer(mask, cols)
        rest = np.flatnonzero(head & ~mask)
        if not len(rest):
            return mask, cols
        m2, c2 = self._trailer(*self.fast(sub.take(pa.array(rest)), "sample_header",
                                          capture=("sample_tail",)))
        return cols.add(mask, rest, m2, c2) if m2.any() else (mask, cols)

    def _trailer(self, mask, cols):
        """What follows the event name, matched against rule ``trailer``."""
        return self.stage(mask, cols, pc.utf8_rtrim(cols["trailer"], "\r"), "trailer")

    _HDR = re.compile(r"^# (cmdline|event|captured on|hostname|os release|perf version|arch"
                      r"|nrcpus online|total memory|sample duration)\s*:\s*(.*)$")

    def _header(self, text):
        m = self._HDR.match(text)
        if m:
            self.stats.header.setdefault(m.group(1), m.group(2).strip())

    def _samples(self, matched, line_nos, lines=None):
        """Headers + frames → one row per sample, stacks built with Arrow list offsets."""
        st = self.stats
        if "sample_header" not in matched:
            if "frame" in matched:
                st.skip("stack frame without its sample", len(matched["frame"][0]))
            return None
        hidx, c = matched["sample_header"]
        hl = line_nos[hidx]
        n = len(hl)
        st.event_lines += n
        owners, addr, sym, dso = [], [], [], []
        if "frame" in matched:
            fidx, f = matched["frame"]
            owner = np.searchsorted(hl, line_nos[fidx]) - 1
            ok = owner >= 0
            if not ok.all():
                # only frames printed without indentation can be cut from their sample
                st.skip("stack frame without its sample", int((~ok).sum()))
            st.event_lines += int(ok.sum())
            if self._blank:
                # a blank line ends a sample; frames right after one are attached to the
                # sample before it, and counted
                fl = line_nos[fidx][ok]
                blank = np.fromiter(self._blank, np.int64, len(self._blank))
                odd = int((np.isin(fl - 1, blank) & np.isin(fl - 2, hl)).sum())
                if odd:
                    st.warnings["callchains separated from their sample line by a blank line"] \
                        += odd
            sel = pa.array(ok)
            owners.append(owner[ok])
            # a sample's last callchain line
            last = np.full(n, -1, np.int64)
            own, fl = owner[ok], line_nos[fidx][ok]       # both ascending
            ends = np.flatnonzero(np.diff(own, append=np.int64(n))) if len(own) else own
            last[own[ends]] = fl[ends]
            end_line = pa.array(last, pa.int64(), mask=last < 0)
            addr.append(f["addr"].filter(sel))
            sym.append(f["sym"].filter(sel))
            dso.append(null_if_empty(f["dso"]).filter(sel))
        # the sample's own ip/sym/dso printed on the header line (no -g)
        has_inline = c.nonempty("isym")
        if has_inline.any():
            sel = pa.array(has_inline)
            owners.append(np.flatnonzero(has_inline))
            addr.append(c["iaddr"].filter(sel))
            sym.append(c["isym"].filter(sel))
            dso.append(null_if_empty(c["idso"]).filter(sel))
        cols = self._header_columns(hl, c)
        if "frame" in matched:
            cols["end_line"] = end_line
        if owners:
            owner = np.concatenate(owners)
            addr, sym, dso = (pa.concat_arrays(x) for x in (addr, sym, dso))
            # perf prints the innermost frame first
            (cols["stack"], cols["stack_addr"], cols["stack_dso"]), offsets, counts = \
                grouped_lists(n, owner, (sym, addr, dso), reverse=True)
            cols["name"] = last_items(cols["stack"], offsets, counts)
        fields = None
        if cols["text"].null_count < n:
            payload = _np(cols["text"])
            event = _np(cols["event"])
            fields = [parse_fields(event[i].split(":")[-1], payload[i]) if payload[i]
                      else None for i in range(n)]
        if lines is not None:
            fields = self._perl_view(cols, lines.take(pa.array(hidx)), fields)
        if fields is not None:
            cols["fields"] = fields
        cols["format"] = repeat(self.format, n, FORMAT_T)
        cols["kind"] = repeat(SAMPLE, n, FORMAT_T)
        return make_table(cols, n)

    # stackcollapse-perf.pl's sample header: the first "<spaces>digits[/digits]<spaces>" ends
    # the comm. It reads "comm -1 [001] t: 250000 ev:" as comm "comm -1 [001] t:" with pid
    # 250000, and a header without such a number (pid -1, no period) not at all.
    _PERL_HEADER = re.compile(r"^(\S.+?)\s+(\d+)/*(\d+)*\s+")
    _PERL_SUSPECT = r"\s\d"

    def _perl_view(self, cols, headers, fields):
        """Where stackcollapse-perf.pl parses a header differently from us (negative pid/tid, a
        comm holding " 12 "), its view goes into ``fields``: ``perl_comm``, ``perl_pid``,
        ``perl_tid``, or ``perl_skip`` when it does not see a sample there; the folded writer
        uses it to match the script (docs/outputs.md, --no-perl-quirks)."""
        neg = pc.or_(pc.fill_null(pc.less(cols["tid"], 0), False),
                     pc.fill_null(pc.less(cols["pid"], 0), False))
        odd = pc.or_(neg, pc.fill_null(pc.match_substring_regex(cols["comm"], self._PERL_SUSPECT),
                                       False))
        if not pc.any(odd).as_py():
            return fields
        idx = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
        comm, pid, tid = cols["comm"], cols["pid"], cols["tid"]
        out = list(fields) if fields is not None else [None] * len(comm)
        for i in idx.tolist():
            text = headers[i].as_py()
            m = self._PERL_HEADER.match(text)
            if m is None:
                view = [("perl_skip", "1")]
            else:
                pc_, pp, pt = m.group(1), m.group(2), m.group(3)
                if not pt:
                    pt, pp = pp, "?"
                ours = (comm[i].as_py(), str(pid[i].as_py() if pid[i].is_valid else "?"),
                        str(tid[i].as_py()))
                if (pc_, pp, pt) == ours:
                    continue
                view = [("perl_comm", pc_), ("perl_pid", pp), ("perl_tid", pt)]
            out[i] = (out[i] or []) + view
        return out

    def _header_columns(self, hl, c):
        n = len(hl)
        ts, res = decimal_text_ns(c["time"], 9)
        tid_txt = c["tid"]
        has_tid = nonempty(tid_txt)
        pid = to_int(c["pid"])
        # "comm 123" is the thread id; "comm 12/34" is pid/tid
        tid = pc.if_else(pa.array(has_tid), to_int(tid_txt), pid)
        pid = pc.if_else(pa.array(has_tid), pid, pa.nulls(n, pa.int64()))
        period = to_int(c["period"])
        return {
            "line": pa.array(hl, pa.int64()),
            "ts_ns": ts, "ts_res_ns": res,
            "pid": pid, "tid": tid, "comm": pc.utf8_trim_whitespace(c["comm"]),
            "cpu": pc.cast(to_int(c["cpu"], 32), pa.int32()),
            "event": c["event"],
            "weight": pc.fill_null(period, 1),
            "text": null_if_empty(pc.utf8_trim_whitespace(c["payload"])),
        }

