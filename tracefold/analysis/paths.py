"""Per call path figures of nested calls, in one streaming pass (memory: the distinct call
paths plus the calls still open at a chunk's end, not the calls).

A call path is (parent path, function name); rows of kind ``call`` arrive in input-line order
(parents before children, as the readers emit them). A call can only get children until its
exit line (``end_line``): calls that end inside the chunk are final and folded into their
path's figures; the others (and unclosed calls) are carried to the next chunk.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import UNCLOSED


HIST_BASE = 1.01      # per-call histograms: bins 1 % wide (a median read from them is within 1 %)
_LOG_BASE = np.log(HIST_BASE)


def hist_bin(v: np.ndarray) -> np.ndarray:
    """Bin of ns values >= 0: bin 0 holds 0, bin k >= 1 holds [HIST_BASE**(k-1), HIST_BASE**k)."""
    v = np.maximum(np.asarray(v, np.float64), 0)
    out = np.zeros(len(v), np.int64)
    pos = v >= 1
    out[pos] = np.floor(np.log(v[pos]) / _LOG_BASE).astype(np.int64) + 1
    return out


def hist_value(b: np.ndarray) -> np.ndarray:
    """A bin's representative ns value (its geometric middle)."""
    b = np.asarray(b, np.int64)
    return np.where(b > 0, HIST_BASE ** (b - 0.5), 0.0)


def hist_quantile(bins: np.ndarray, counts: np.ndarray, q: float = 0.5) -> float:
    """Quantile of a histogram {bin: count} (the lower median for an even count)."""
    if not len(bins) or counts.sum() == 0:
        return float("nan")
    o = np.argsort(bins)
    c = np.cumsum(counts[o])
    k = int(np.searchsorted(c, q * (c[-1] - 1) + 1 - 1e-9))
    return float(hist_value(bins[o][min(k, len(c) - 1)]))


DEEPER = "…"      # the frames below a path-depth limit, as one frame


class PathAggregator:
    def __init__(self, root_label=None, hist: bool = False):
        """``root_label(table) -> list[str] | None``: a label per row to put above the
        call tree (task roots), or None for no task level. ``hist``: also keep, per path, a
        histogram of its calls' durations and self times (1 % bins: memory per path, not per
        call), for per-call medians (``hists()``)."""
        self.root_label = root_label
        self.hist = hist
        self._hist_dur: dict = {}             # (path, bin) -> calls
        self._hist_self: dict = {}
        self.names: dict = {}                 # function name -> id
        self.key_to_path: dict = {}           # (parent path, name id or label) -> path id
        self.parent: list = []                # per path
        self.name: list = []                  # per path: name id, or -1 for a label path
        self.label: list = []                 # per path: label text for label paths
        n = 0
        self.calls = np.zeros(n, np.int64)
        self.timed = np.zeros(n, np.int64)
        self.self_ns = np.zeros(n, np.int64)
        self.dur_ns = np.zeros(n, np.int64)
        self.dmin = np.zeros(n, np.int64)
        self.dmax = np.zeros(n, np.int64)
        self.negative_self = 0
        self.unclosed = 0
        self.carry = None                     # dict of numpy arrays (open calls)

    # ------------------------------------------------------------------ paths
    def _path(self, parent: int, name: int, label: str | None = None) -> int:
        key = (parent, name if label is None else "\x00" + label)
        p = self.key_to_path.get(key)
        if p is None:
            p = self.key_to_path[key] = len(self.parent)
            self.parent.append(parent)
            self.name.append(name if label is None else -1)
            self.label.append(label)
        return p

    def _grow(self):
        n = len(self.parent)
        if n > len(self.calls):
            m = max(n, 2 * len(self.calls), 64)
            for a in ("calls", "timed", "self_ns", "dur_ns"):
                v = getattr(self, a)
                setattr(self, a, np.concatenate([v, np.zeros(m - len(v), np.int64)]))
            big = np.iinfo(np.int64).max
            self.dmin = np.concatenate([self.dmin, np.full(m - len(self.dmin), big, np.int64)])
            self.dmax = np.concatenate([self.dmax, np.full(m - len(self.dmax), -1, np.int64)])

    # ------------------------------------------------------------------ input
    def add(self, t: pa.Table) -> np.ndarray:
        """Call rows only (kind == call), in input-line order. Returns the path id of each
        row of ``t``."""
        if not t.num_rows:
            return np.zeros(0, np.int64)
        name = t.column("name")
        name = name.combine_chunks() if isinstance(name, pa.ChunkedArray) else name
        enc = pc.fill_null(name, "?").dictionary_encode()
        m = np.array([self.names.setdefault(s, len(self.names))
                      for s in enc.dictionary.to_pylist()], np.int64)
        nid = m[enc.indices.to_numpy(zero_copy_only=False)]

        def col(c, fill):
            return pc.fill_null(t.column(c), fill).to_numpy().astype(np.int64)
        rows = {
            "line": t.column("line").to_numpy().astype(np.int64),
            "parent": col("parent_line", -1),
            "end": col("end_line", -1),
            "dur": col("dur_ns", -1),
            "name": nid,
            "open": pc.fill_null(pc.equal(t.column("status").cast(pa.string()), UNCLOSED),
                                 False).to_numpy(zero_copy_only=False).astype(bool),
            "path": np.full(t.num_rows, -1, np.int64),
            "child": np.zeros(t.num_rows, np.int64),
            "counted": np.zeros(t.num_rows, bool),    # duration added to its parent
            "src": np.arange(t.num_rows),              # row in t (-1: carried)
        }
        base = np.full(t.num_rows, -1, np.int64)
        if self.root_label is not None:
            labels = self.root_label(t)
            uniq = {}
            for i, lab in enumerate(labels):
                p = uniq.get(lab)
                if p is None:
                    p = uniq[lab] = self._path(-1, -1, lab)
                base[i] = p
        rows["base"] = base
        if self.carry is not None:
            self.carry["src"] = np.full(len(self.carry["line"]), -1)
            rows = {k: np.concatenate([self.carry[k], rows[k]]) for k in rows}
        order = np.argsort(rows["line"], kind="stable")
        rows = {k: v[order] for k, v in rows.items()}
        n = len(rows["line"])
        line, parent = rows["line"], rows["parent"]
        pidx = np.searchsorted(line, parent)
        ok = (parent >= 0) & (pidx < n)
        ok[ok] = line[pidx[ok]] == parent[ok]
        pidx = np.where(ok, pidx, -1)
        path = rows["path"]
        # assign paths level by level (parents first); distinct keys go through the dict
        todo = np.flatnonzero(path < 0)
        while len(todo):
            pp = np.where(pidx[todo] >= 0, path[np.maximum(pidx[todo], 0)], rows["base"][todo])
            ready = (pidx[todo] < 0) | (pp >= 0)
            sel = todo[ready]
            if not len(sel):
                break
            keys = np.stack([pp[ready], rows["name"][sel]], axis=1)
            uniq, inv = np.unique(keys, axis=0, return_inverse=True)
            ids = np.array([self._path(int(a), int(b)) for a, b in uniq.tolist()], np.int64)
            path[sel] = ids[inv.reshape(-1)]
            todo = todo[~ready]
        self._grow()
        # children's durations into their parent's pending child sum
        dur = rows["dur"]
        m = (pidx >= 0) & (dur >= 0) & ~rows["counted"]
        np.add.at(rows["child"], pidx[m], dur[m])
        rows["counted"][:] = True
        # final: no more children can come (exit line reached, or a leaf)
        last = int(line[-1])
        final = ~rows["open"] & (rows["end"] <= last)
        self._fold(rows, final)
        keep = ~final
        self.carry = {k: v[keep] for k, v in rows.items()}
        new = rows["src"] >= 0
        ids = np.empty(t.num_rows, np.int64)
        ids[rows["src"][new]] = path[new]
        return ids

    def _fold(self, rows, sel):
        p = rows["path"][sel]
        dur = rows["dur"][sel]
        np.add.at(self.calls, p, 1)
        t = dur >= 0
        pt, dt = p[t], dur[t]
        np.add.at(self.timed, pt, 1)
        np.add.at(self.dur_ns, pt, dt)
        s = dt - rows["child"][sel][t]
        neg = s < 0
        if neg.any():
            self.negative_self += int(neg.sum())
            s = np.where(neg, 0, s)
        np.add.at(self.self_ns, pt, s)
        np.minimum.at(self.dmin, pt, dt)
        np.maximum.at(self.dmax, pt, dt)
        if self.hist and len(pt):
            for store, v in ((self._hist_dur, dt), (self._hist_self, s)):
                keys, cnt = np.unique(np.stack([pt, hist_bin(v)], axis=1), axis=0,
                                      return_counts=True)
                for (a, b), c in zip(keys.tolist(), cnt.tolist()):
                    store[(a, b)] = store.get((a, b), 0) + c

    def finish(self):
        """Fold the calls still open (unclosed: no duration, so no time)."""
        if self.carry is not None and len(self.carry["line"]):
            self.unclosed += int((self.carry["dur"] < 0).sum())
            self._fold(self.carry, np.ones(len(self.carry["line"]), bool))
        self.carry = None
        n = len(self.parent)
        for a in ("calls", "timed", "self_ns", "dur_ns", "dmin", "dmax"):
            setattr(self, a, getattr(self, a)[:n])
        return self

    # ------------------------------------------------------------------ views
    def hists(self, which: str = "self"):
        """{path id: (bins, counts)} of the timed calls' self times (``"self"``) or durations
        (``"dur"``); needs ``hist=True``."""
        store = self._hist_self if which == "self" else self._hist_dur
        by: dict = {}
        for (p, b), c in store.items():
            by.setdefault(p, ([], []))
            by[p][0].append(b)
            by[p][1].append(c)
        return {p: (np.array(b, np.int64), np.array(c, np.int64)) for p, (b, c) in by.items()}

    def strings(self, sep=";", max_depth: int | None = None):
        """Folded text of every path ("root;…;leaf"; ';' inside names becomes ':').
        ``max_depth``: paths deeper than that many frames all read as their prefix of that
        depth followed by "…" (one shared text: memory stays linear in the depth)."""
        names = list(self.names)
        out = [None] * len(self.parent)
        depth = [0] * len(self.parent)
        for i, (p, nm, lab) in enumerate(zip(self.parent, self.name, self.label)):
            d = 1 if p < 0 else depth[p] + 1
            depth[i] = d
            if max_depth is not None and d > max_depth:
                out[i] = out[p] if d > max_depth + 1 else out[p] + sep + DEEPER
                continue
            s = (lab if nm < 0 else names[nm]).replace(";", ":")
            out[i] = s if p < 0 else out[p] + sep + s
        return out

    def sorted_texts(self, weights: np.ndarray, sep=";"):
        """(folded text, weight) of the paths whose weight is > 0, in the order of their texts
        (as ``sorted`` gives), produced one at a time: the texts of all paths of a big trace
        (hundreds of thousands, each as long as its stack) are never held at once. Paths whose
        texts are equal (names that differ only by ';' / ':') are one text, their weights
        summed."""
        n = len(self.parent)
        parent = np.asarray(self.parent, np.int64)
        key = np.where(parent < 0, n, parent)            # roots are children of "n"
        order = np.argsort(key, kind="stable")
        kids = order.tolist()
        b = np.searchsorted(key[order], np.arange(n + 2)).tolist()
        w = weights.tolist()
        names = [x.replace(";", ":") for x in self.names]
        text = [names[nm] if nm >= 0 else lab.replace(";", ":")
                for nm, lab in zip(self.name, self.label)]

        def children(group):
            """(sort key, is the subtree, paths with that text) under a group of paths with
            one text: a child's own line sorts at its text, its subtree at its text + sep."""
            if len(group) == 1:
                ch = kids[b[group[0]]:b[group[0] + 1]]
            else:
                ch = [c for g in group for c in kids[b[g]:b[g + 1]]]
            items = sorted((text[c], c) for c in ch)
            entries = []
            i = 0
            while i < len(items):
                t, c = items[i]
                members = [c]
                i += 1
                while i < len(items) and items[i][0] == t:
                    members.append(items[i][1])
                    i += 1
                entries.append((t, False, members))
                if any(b[m + 1] > b[m] for m in members):
                    entries.append((t + sep, True, members))
            entries.sort(key=lambda e: e[0])
            return entries

        stack = [("", iter(children([n])))]
        while stack:
            prefix, it = stack[-1]
            entry = next(it, None)
            if entry is None:
                stack.pop()
                continue
            t, subtree, members = entry
            if subtree:
                stack.append((prefix + t, iter(children(members))))
                continue
            total = w[members[0]] if len(members) == 1 else sum(w[m] for m in members)
            if total > 0:
                yield prefix + t, total

    def recursive(self):
        """Per path: the same function is active in an enclosing call."""
        rec = np.zeros(len(self.parent), bool)
        for q in range(len(self.parent)):
            if self.name[q] < 0:
                continue
            a = self.parent[q]
            while a >= 0:
                if self.name[a] == self.name[q]:
                    rec[q] = True
                    break
                a = self.parent[a]
        return rec

    def thread_of(self):
        """Per path: the label of its root label path, or None."""
        out = [None] * len(self.parent)
        for i, (p, nm, lab) in enumerate(zip(self.parent, self.name, self.label)):
            out[i] = lab if nm < 0 else (out[p] if p >= 0 else None)
        return out
