"""Folded stacks as input (stackcollapse-*.pl, inferno, speedscope or tracefold output), so
that tracefold draws the folded files people already have: a line is one stack sample row
whose ``weight`` is the line's count. A differential line (difffolded.pl: base count, new
count) weighs its new count; the base count goes in ``fields["base_weight"]``
(schema.BASE_WEIGHT) and the folded and SVG writers draw the two sides (a differential
flame graph)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import BASE_WEIGHT, FORMAT_T, SAMPLE, repeat
from ..tables import last_items
from .base import Reader, make_table, to_int


class FoldedReader(Reader):
    format = "folded"
    grammar = "folded"
    description = "folded stacks (flamegraph.pl input), also difffolded.pl's two-count lines"
    order = ("folded_stack",)           # the fast rule: every line but blanks

    @classmethod
    def is_applicable(cls, lines):
        rx = cls._rx("folded_stack")
        content = [ln for ln in lines if ln.strip()][:300]
        if not content:
            return 0.0
        hits = [ln for ln in content if rx.match(ln)]
        if len(hits) < len(content):
            return 0.1 * len(hits) / len(content)
        # every line is "text count": stacks with ";" are unmistakable; without any, a trace
        # whose lines all end with a number could look the same
        return 0.9 if any(";" in ln for ln in hits) else 0.3

    def hold(self, b: bytes) -> bool:
        return False                # every line stands alone

    def parse(self, chunk):
        lines, n, line_nos = self.start_chunk(chunk)
        st = self.stats
        mask, c = self.fast(lines, self.order[0], dedup=False)
        left = np.flatnonzero(~mask)
        if len(left):
            sub = lines.take(pa.array(left))
            blank, _ = self.fast(sub, "blank")
            st.skip("blank", int(blank.sum()))
            for i, text, res in self.read_rare(lines, left[~blank]):
                if res is None:
                    self.unrecognized(int(line_nos[i]), text)
                else:
                    st.skip("blank")
        k = int(mask.sum())
        if not k:
            return None
        st.event_lines += k
        stack = pc.split_pattern(c["stack"], ";")
        cols = {"line": pa.array(line_nos[mask]), "stack": stack,
                "format": repeat(self.format, k, FORMAT_T), "kind": repeat(SAMPLE, k, FORMAT_T),
                "event": repeat("folded", k)}
        two = c.nonempty("count2")
        if two.any():
            # differential: the new count is the weight, the base count a field
            cols["weight"] = to_int(pc.if_else(pa.array(two), c["count2"], c["count"]))
            base = pc.if_else(pa.array(two), c["count"], pa.scalar(None, pa.string()))
            cols["fields"] = pa.MapArray.from_arrays(
                _map_offsets(two), repeat(BASE_WEIGHT, int(two.sum())), base.drop_null())
        else:
            cols["weight"] = to_int(c["count"])
        cols["name"] = last_items(stack)
        return make_table(cols, k)


def _map_offsets(two: np.ndarray) -> pa.Array:
    """Offsets of a map column with one entry where ``two`` and none elsewhere."""
    off = np.zeros(len(two) + 1, np.int32)
    np.cumsum(two, out=off[1:])
    return pa.array(off)
