"""bpftrace map printouts whose keys hold stacks: grammar ``grammars/bpftrace.lark``.

Each map entry with a stack (``@name[ … ]: N``) becomes one ``sample`` row: its stack root →
leaf (bpftrace prints the innermost frame first; several stacks of one key — kstack, ustack
— are joined in the order printed, innermost first), ``weight`` the entry's value (a count,
a sum), ``event`` the map's name, ``comm`` / ``pid`` the key's other parts where they read as
a name and a number (all of them in ``fields["keys"]``). Frame offsets (``+394``) go; perf
mode's addresses and objects go to ``stack_addr`` / ``stack_dso``. Maps without a stack,
histograms and the banner are skipped with their reason; an entry cut before its closing
``]: N`` line is skipped and counted.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import FORMAT_T, SAMPLE, repeat
from ..tables import grouped_lists, last_items
from .base import Reader, make_table, null_if_empty, to_int

CUT = "map entry cut before its ']: N' line"


class BpftraceReader(Reader):
    format = "bpftrace"
    grammar = "bpftrace"
    description = "bpftrace map printouts with stacks (@[kstack] = count(), perf mode, …)"
    # frames repeat (matched once per distinct text); map lines are few
    order = ("frame", "map_open", "map_close", "key_sep")

    @classmethod
    def is_applicable(cls, lines):
        content = [ln for ln in lines if ln.strip()][:300]
        if not content:
            return 0.0
        opens = sum(1 for ln in content if cls._rx("map_open").match(ln))
        closes = sum(1 for ln in content if cls._rx("map_close").match(ln))
        if not opens or not closes:
            return 0.0
        shapes = [cls._rx(r) for r in cls.order + ("map_value", "histogram_row", "attaching")]
        hits = sum(1 for ln in content if any(rx.match(ln) for rx in shapes))
        return 0.9 * hits / len(content)

    def hold(self, b: bytes) -> bool:
        # an entry's lines stay together: a chunk starts only at a map's "@" or a blank line
        first = b.split(b"\n", 1)[0].rstrip(b"\r")
        return bool(first.strip()) and not first.startswith((b"@", b"Attaching "))

    def parse(self, chunk):
        lines, n, line_nos = self.start_chunk(chunk)
        st = self.stats
        found, left = self.fast_in_order(lines, dedup=("frame",))
        empty = []                  # one-line entries with empty stacks
        for i, text, res in self.read_rare(lines, left):
            if res is None:
                self.unrecognized(int(line_nos[i]), text)
            elif res[0] == "empty_entry":
                empty.append((int(line_nos[i]), res[1]))
            elif res[0] == "map_value":
                st.skip("map entry without a stack")
            elif res[0] == "histogram_row":
                st.skip("histogram")
            elif res[0] == "attaching":
                st.skip("header")
            elif res[0] in ("frame", "map_open", "map_close", "key_sep"):
                # a shape the fast path left (a line longer than RE2 takes): outside an entry
                st.skip("map entry part outside an entry")
            else:
                st.skip("blank")
        t = self._entries(found, line_nos)
        if empty:
            t = self._empty_entries(empty, t)
        return t

    def _empty_entries(self, empty, t):
        """Entries printed on one line: their stacks are empty (no frames)."""
        self.stats.event_lines += len(empty)
        m = len(empty)
        keys = _keys([[f.get("empty_keys") or f.get("empty_lead", "")] for _, f in empty])
        cols = {"line": pa.array([ln for ln, _ in empty], pa.int64()),
                "end_line": pa.array([ln for ln, _ in empty], pa.int64()),
                "format": repeat(self.format, m, FORMAT_T), "kind": repeat(SAMPLE, m, FORMAT_T),
                "event": pa.array([f["map"] for _, f in empty], pa.string()),
                "weight": pa.array([int(f["value"]) for _, f in empty], pa.int64()), **keys}
        e = make_table(cols, m)
        if t is None:
            return e
        both = pa.concat_tables([t, e])
        return both.take(pc.sort_indices(both.column("line")))

    def _entries(self, found, line_nos):
        st = self.stats
        empty = (np.zeros(0, np.int64), None)
        oidx, oc = found.get("map_open", empty)
        cidx, cc = found.get("map_close", empty)
        fidx, fc = found.get("frame", empty)
        sidx, sc = found.get("key_sep", empty)
        opens, closes = line_nos[oidx], line_nos[cidx]
        # each entry: an open line, then its frames and separators, then its close line
        # (before the next open)
        nxt = np.append(opens[1:], np.iinfo(np.int64).max)
        at = np.searchsorted(closes, opens)              # first close after each open
        close_of = np.full(len(opens), -1, np.int64)
        has = at < len(closes)
        has[has] = closes[at[has]] < nxt[has]
        close_of[has] = at[has]
        end = np.where(has, closes[np.maximum(close_of, 0)], nxt) if len(closes) else nxt

        def owner_of(ln):
            o = np.searchsorted(opens, ln) - 1
            ok = o >= 0
            ok[ok] = ln[ok] < end[o[ok]]
            return o, ok

        fo, fok = owner_of(line_nos[fidx])
        so, sok = owner_of(line_nos[sidx])
        cok = np.zeros(len(closes), bool)
        cok[close_of[has]] = True
        stray = int((~fok).sum() + (~sok).sum() + (~cok).sum())
        st.skip("map entry part outside an entry", stray)
        cut = ~has
        if cut.any():
            st.skip(CUT, int(cut.sum() + np.isin(fo[fok], np.flatnonzero(cut)).sum()
                             + np.isin(so[sok], np.flatnonzero(cut)).sum()))
        keep = np.flatnonzero(has)
        m = len(keep)
        if not m:
            return None
        # the open and close lines of each entry, its frames and separators
        st.event_lines += 2 * m + int(np.isin(fo[fok], keep).sum() + np.isin(so[sok], keep).sum())
        row_of = np.full(len(opens), -1, np.int64)
        row_of[keep] = np.arange(m)
        cols = {"line": pa.array(opens[keep]), "end_line": pa.array(closes[close_of[keep]]),
                "format": repeat(self.format, m, FORMAT_T), "kind": repeat(SAMPLE, m, FORMAT_T),
                "event": oc["map"].take(pa.array(keep)),
                "weight": to_int(cc["value"].take(pa.array(close_of[keep])))}
        cols.update(self._key_parts(oc, sc, cc, keep, close_of, so, sok, row_of))
        sel = fok & (row_of[np.maximum(fo, 0)] >= 0)
        if sel.any():
            s = pa.array(sel)
            sym = pc.replace_substring_regex(fc["sym"].filter(s), r"\+\d+$", "")
            (stack, addr, dso), offsets, counts = grouped_lists(
                m, row_of[fo[sel]], (sym, null_if_empty(fc["addr"]).filter(s),
                                     null_if_empty(fc["dso"]).filter(s)), reverse=True)
            cols.update(stack=stack, stack_addr=addr, stack_dso=dso,
                        name=last_items(stack, offsets, counts))
        return make_table(cols, m)

    @staticmethod
    def _key_parts(oc, sc, cc, keep, close_of, so, sok, row_of):
        """The texts of each entry's key around its stacks: open, separator, close lines."""
        parts = [[p] for p in oc["open_keys"].take(pa.array(keep)).to_pylist()]
        if sok.any():
            rows = row_of[so[sok]]
            for r, text in zip(rows.tolist(), sc["sep_keys"].filter(pa.array(sok)).to_pylist()):
                if r >= 0:
                    parts[r].append(text)
        for r, text in enumerate(cc["close_keys"].take(pa.array(close_of[keep])).to_pylist()):
            parts[r].append(text)
        return _keys(parts)


def _keys(parts):
    """comm and pid from the key's parts that are not stacks: the first one that is a
    number is the pid, the first other one the comm; all of them in fields["keys"]."""
    comm, pid, fields = [], [], []
    for texts in parts:
        keys = [k.strip() for t in texts for k in t.split(",") if k.strip()]
        num = [k for k in keys if k.lstrip("-").isdigit()]
        txt = [k for k in keys if not k.lstrip("-").isdigit()]
        comm.append(txt[0] if txt else None)
        pid.append(int(num[0]) if num and len(num[0]) < 19 else None)
        fields.append([("keys", ", ".join(keys))] if keys else None)
    return {"comm": pa.array(comm, pa.string()), "pid": pa.array(pid, pa.int64()),
            "fields": pa.array(fields, pa.map_(pa.string(), pa.string()))}
