"""What every reader shares: line accounting, the grammar-derived fast path, the Lark fallback."""
from __future__ import annotations

import functools
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..grammar import canonical, load
from ..schema import table_from_columns

MAX_REPORTED_UNRECOGNIZED = 5
MAX_LARK_LINE = 2000   # Earley is quadratic; no rare line shape is longer than this
GUESS_LINES = 2000     # lines read to guess a legend-less file's columns (a few screens of it)
REPEAT_SHARE = 0.5     # a piece column with fewer distinct texts than this share is matched
#                        once per distinct text (task columns repeat; timestamps do not)
SHOWN_TEXT = 200       # characters of an unrecognized line kept to show the user
RARE_CACHE = 10_000    # readings of rare line texts kept (banners repeat: task pairs, CPUs)
_UNREAD = object()


@dataclass
class Stats:
    """Every input line lands in exactly one bucket:
    event_lines (it made or completed an event), skipped[reason], or unrecognized."""
    lines: int = 0
    event_lines: int = 0
    events: int = 0
    unrecognized: int = 0
    skipped: Counter = field(default_factory=Counter)
    lost_events: int = 0
    lark_lines: int = 0         # lines whose reading needed Lark's Earley parser
    fallback_records: int = 0   # call records nested one by one (exits naming another call)
    tids: set = field(default_factory=set)
    ts_min: int | None = None
    ts_max: int | None = None
    first_unrecognized: list = field(default_factory=list)   # (line, reason, text)
    header: dict = field(default_factory=dict)
    warnings: Counter = field(default_factory=Counter)

    def merge(self, o: "Stats"):
        """Add the counts of a chunk parsed elsewhere (another process)."""
        self.lines += o.lines
        self.event_lines += o.event_lines
        self.unrecognized += o.unrecognized
        self.skipped.update(o.skipped)
        self.lost_events += o.lost_events
        self.lark_lines += o.lark_lines
        self.fallback_records += o.fallback_records
        self.warnings.update(o.warnings)
        for k, v in o.header.items():
            self.header.setdefault(k, v)
        if o.first_unrecognized:
            self.first_unrecognized = sorted(self.first_unrecognized + o.first_unrecognized)[
                :MAX_REPORTED_UNRECOGNIZED]

    def skip(self, reason: str, n: int = 1):
        if n:
            self.skipped[reason] += n

    def unrecognized_line(self, line_no: int, reason: str, text: str):
        self.unrecognized += 1
        if len(self.first_unrecognized) < MAX_REPORTED_UNRECOGNIZED:
            self.first_unrecognized.append((line_no, reason, text[:SHOWN_TEXT]))

    def add_table(self, t: pa.Table):
        self.events += t.num_rows
        if t.num_rows == 0:
            return
        ts = t.column("ts_ns")
        if ts.null_count < len(ts):
            lo, hi = pc.min(ts).as_py(), pc.max(ts).as_py()
            if "dur_ns" in t.column_names:
                end = pc.max(pc.add(ts, pc.fill_null(t.column("dur_ns"), 0))).as_py()
                hi = max(hi, end) if end is not None else hi
            self.ts_min = lo if self.ts_min is None else min(self.ts_min, lo)
            self.ts_max = hi if self.ts_max is None else max(self.ts_max, hi)
        pairs = pc.unique(t.column("tid")).to_pylist()
        self.tids.update(x for x in pairs if x is not None)

    def as_dict(self) -> dict:
        return {
            "lines": self.lines,
            "events": self.events,
            "event_lines": self.event_lines,
            "unrecognized": self.unrecognized,
            "skipped": dict(sorted(self.skipped.items())),
            "lost_events": self.lost_events,
            "lark_lines": self.lark_lines,
            "nesting_fallback_records": self.fallback_records,
            "tasks": len(self.tids),
            "time_span_ns": (self.ts_max - self.ts_min) if self.ts_min is not None else 0,
            "has_timestamps": self.ts_min is not None,
            "first_unrecognized": [
                {"line": ln, "reason": r, "text": t} for ln, r, t in self.first_unrecognized],
            "header": self.header,
            "warnings": dict(self.warnings),
        }


class Cols(dict):
    """Field name -> string array; a field the rule does not have reads as all ''.

    Columns can be lazy: taken from another Cols' column through a boolean mask (``filter``)
    or row indices (the distinct texts a dedup match ran on) when first read, so the dozens
    of fields of a grammar rule cost nothing unless the reader uses them. ``update`` keeps
    the other Cols' lazy columns lazy."""

    def __init__(self, n, src=None, keep=None):
        super().__init__()
        self.n = n
        self._lazy = {}                       # name -> (source Cols, mask or indices)
        if src is not None:
            for k in src.names():
                self._lazy[k] = (src, keep)

    def has(self, key):
        return key in self.keys() or key in self._lazy

    def __setitem__(self, key, value):
        self._lazy.pop(key, None)
        super().__setitem__(key, value)

    def __missing__(self, key):
        if key in self._lazy:
            src, keep = self._lazy.pop(key)
            v = src[key]
            v = v.filter(keep) if keep.type == pa.bool_() else v.take(keep)
            self[key] = v
            return v
        return empty_strings(self.n)

    def nonempty(self, key) -> np.ndarray:
        """``key`` != '' as a numpy bool array; for a lazy column, computed on its source's
        (distinct) texts and gathered, without copying the texts out."""
        if key in self.keys():
            return nonempty(self[key])
        if key in self._lazy:
            src, keep = self._lazy[key]
            k = np.asarray(keep.to_numpy(zero_copy_only=False))
            return src.nonempty(key)[k]
        return np.zeros(self.n, bool)

    def get(self, key, default=None):
        return self[key] if self.has(key) else default

    def __contains__(self, key):
        return self.has(key)

    def names(self):
        return set(self.keys()) | set(self._lazy)

    def update(self, other, skip=()):
        if isinstance(other, Cols):
            for k, v in other.items():
                if k not in skip:
                    self[k] = v
            for k, lazy in other._lazy.items():
                if k not in skip:
                    super().pop(k, None)
                    self._lazy[k] = lazy
        else:
            for k, v in dict(other).items():
                if k not in skip:
                    self[k] = v

    def add(self, mask: np.ndarray, rest: np.ndarray, mask2: np.ndarray, other: "Cols"):
        """Lines ``rest[mask2]`` matched by a later step (columns ``other``) joined to these
        matches (lines ``mask``), in line order. Returns the new (mask, cols)."""
        idx = np.concatenate([np.flatnonzero(mask), rest[mask2]])
        mask = mask.copy()
        mask[rest[mask2]] = True
        return mask, Cols.merge(self, other, np.argsort(idx, kind="stable"))

    def materialize(self):
        for k in list(self._lazy):
            self[k]
        return self

    @staticmethod
    def merge(a: "Cols", b: "Cols", order: np.ndarray) -> "Cols":
        """Rows of a then b, reordered by ``order`` (indices into the concatenation)."""
        out = Cols(a.n + b.n)
        take = pa.array(order)
        for k in a.names() | b.names():
            out[k] = pa.concat_arrays([a[k].cast(pa.string()), b[k].cast(pa.string())]).take(take)
        return out

    def filter(self, keep):
        n = int(pc.sum(keep).as_py() or 0) if isinstance(keep, pa.Array) else int(keep.sum())
        if not isinstance(keep, pa.Array):
            keep = pa.array(keep)
        return Cols(n, src=self, keep=keep)


class DistinctLines:
    """A chunk's lines dictionary-encoded once, for readers whose lines repeat verbatim
    (callchain frames): each rule is matched on the distinct texts no rule took yet
    (``Reader.fast_distinct``), and a text a rule took is taken for all its lines."""

    def __init__(self, lines: pa.Array):
        enc = lines.dictionary_encode()
        self.lines = lines
        self.texts = enc.dictionary
        self.idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False))
        self.free = np.ones(len(self.texts), bool)     # distinct texts no rule took yet

    def take(self, mask: np.ndarray):
        """The texts of these lines (a mask over the lines) are taken."""
        self.free[self.idx[mask]] = False

    def left(self) -> np.ndarray:
        """Indices of the lines whose text no rule took."""
        return np.flatnonzero(self.free[self.idx])

    def match(self, rx: str):
        """(mask over the lines, Cols over the matching ones) of one regex with groups,
        matched once per distinct text still free; a field is copied out to the lines only
        when it is read."""
        avail = np.flatnonzero(self.free)
        sub = self.texts if len(avail) == len(self.texts) else self.texts.take(pa.array(avail))
        if len(sub) == 0:
            return np.zeros(len(self.idx), bool), Cols(0)
        st = extract(sub, rx)
        ok = np.asarray(st.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        pos = np.full(len(self.texts), -1, np.int64)
        pos[avail[ok]] = np.flatnonzero(ok)
        at = pos[self.idx]
        mask = at >= 0
        return mask, Cols(int(mask.sum()), src=_struct_cols(st), keep=pa.array(at[mask]))


class Reader:
    """Base for line-oriented readers. Subclasses set ``format``, ``grammar`` and implement
    ``is_applicable`` and ``parse`` (and ``stitch`` where state spans chunks)."""

    format = ""
    grammar = ""
    description = ""
    order: tuple = ()       # the fast rules, matched in this order (the others are rare)
    INNER: dict = {}        # fast rule -> the rule its captured tail is matched with
    NOCAPTURE: tuple = ()   # terminals the reader never reads: matched but not captured
    # rare rules tried with their grammar-derived regex before Lark, in this order (header
    # comments: building the Earley parser for them alone costs ~0.25 s). Only rules whose
    # regex and Lark agree (tests/test_grammar.py checks it on the corpus).
    QUICK_RULES: tuple = ()
    # line shapes always left to Lark even where their regex is the only reading (none so
    # far: tests/test_grammar.py checks regex and Lark agree on every real rare line)
    LARK_RULES: tuple = ()

    def __init__(self, path="?"):
        self.path = str(path)
        self.stats = Stats()
        self.g = load(self.grammar)
        self._rare_cache: dict[str, tuple | None] = {}
        self._piece_repeats: dict = {}
        self._rare_errors: dict = {}
        self._lark_texts: set = set()     # cached texts whose reading needed Lark
        self.last_lark = False

    # ------------------------------------------------------------------ detection
    @classmethod
    def is_applicable(cls, lines: list[str]) -> float:
        """Score 0..1 of how well the first lines of a file fit this format."""
        raise NotImplementedError

    @classmethod
    def _grammar(cls):
        return load(cls.grammar)

    @classmethod
    @functools.lru_cache(maxsize=None)
    def _rx(cls, rule, *args):
        """Python regex of one rule of this reader's grammar (for format detection)."""
        return re.compile(cls._grammar().regex(rule, *args))

    # header specialization: symbols a file's header rules out / says every line has, and the
    # line rules with a split form (rule -> its separators, see LineGrammar.pieces)
    absent: tuple = ()
    present: tuple = ()
    SPLIT: dict = {}
    # bytes of text per chunk: bigger chunks share more distinct lines (dictionary matching),
    # smaller ones hold less in memory while the next chunks are parsed beside the stitching.
    # Chunks parsed at once, in threads (most of a parse is Arrow and RE2, which release the
    # GIL): two for a reader whose parse is most of the work. Real perf script (197 MB) on 2
    # cores: 4 MB, 1 thread → folded 3.4 s, Chrome export peak 307 MB; 3 MB, 2 threads → 3.0 s,
    # 308 MB; 2 MB, 2 threads → 3.15 s, 281 MB (the peak must stay under 300 MB). Real
    # function_graph (500 MB → Parquet), where nesting and row order keep a chunk's records
    # alive: 2 MB chunks peak at 236 MB (12.7 s), 4 MB ones at 330 MB (12.5 s).
    CHUNK_BYTES = 2 << 20
    PARSE_THREADS = 2

    def specialize(self, lines: pa.Array):
        """Read what the first lines (the header) say about the file's columns."""

    def guess_columns(self, lines: pa.Array, rule: str, opaque: tuple, columns: tuple,
                      may_require: tuple = ()):
        """(absent, present) for a file without a column legend, read off its first lines
        that match ``rule``: ``columns`` pairs a regex group with the grammar symbol of an
        optional column; one that no line has is absent, one in ``may_require`` that every
        line has is present. Only a first guess for the fast path (lines that differ take
        the rule's full regex). None when fewer than 10 of the first 2000 lines match."""
        capture = tuple(g for g, sym in columns if sym[:1].islower())   # rules, not terminals
        rx = re.compile(self.g.regex(rule, tuple(opaque), True, capture))
        seen, n = dict.fromkeys([g for g, _ in columns], 0), 0
        for i in range(min(len(lines), GUESS_LINES)):
            m = rx.match(lines[i].as_py())
            if m:
                n += 1
                for g in seen:
                    seen[g] += bool(m.group(g))
        if n < 10:
            return None
        return (tuple(sym for g, sym in columns if not seen[g]),
                tuple(sym for g, sym in columns if seen[g] == n and sym in may_require))

    def hold(self, next_line_start: bytes) -> bool:
        """True when the line starting with these bytes must stay with the line before it
        (the chunk is cut before both). By default: a line of no shape of the grammar — the
        continuation of a multi-line message, or garbage that stays unrecognized wherever it
        goes — so that a chunk boundary never separates a message from its continuation."""
        first = next_line_start.split(b"\n", 1)[0].rstrip(b"\r")
        if not first.strip():
            return False
        return not self.some_shape(first.decode("utf-8", "replace"))

    # ------------------------------------------------------------------ fast path
    def fast(self, lines: pa.Array, rule: str, opaque: tuple = (), capture: tuple = (),
             absent: tuple = (), dedup: bool = False):
        """Match ``rule``'s grammar-derived regex over all lines at once.

        Returns (mask, cols): mask is a numpy bool array of matching lines; cols maps each
        canonical field name to a string array over the matching lines ('' = absent)."""
        rx = self.g.regex(rule, tuple(opaque), True, tuple(capture), tuple(absent),
                          tuple(self.NOCAPTURE))
        return _match_rx(lines, rx, dedup)

    def fast_in_order(self, lines: pa.Array, dedup: tuple = ()):
        """Each rule of ``self.order`` matched on the lines no earlier rule took (those in
        ``dedup`` once per distinct text): ({rule: (indices of its lines, Cols)}, indices of
        the lines left for the rare shapes)."""
        n = len(lines)
        left = np.arange(n)
        found = {}
        for rule in self.order:
            if not len(left):
                break
            sub = lines if len(left) == n else lines.take(pa.array(left))
            mask, cols = self.fast(sub, rule, dedup=rule in dedup)
            if mask.any():
                found[rule] = (left[mask], cols)
                left = left[~mask]
        return found, left

    def fast_distinct(self, dl: DistinctLines, rule: str, opaque: tuple = (),
                      capture: tuple = ()):
        """``fast`` over the distinct texts of ``dl`` still free: (mask over the chunk's
        lines, Cols over the matching lines). Takes nothing (``dl.take`` does)."""
        rx = self.g.regex(rule, tuple(opaque), True, tuple(capture), (), tuple(self.NOCAPTURE))
        return dl.match(rx)

    def stage(self, mask: np.ndarray, cols: "Cols", text: pa.Array, rule: str,
              capture: tuple = ()):
        """Second stage: ``rule`` matched on ``text`` (a field the first stage captured, one
        per matched line), each distinct text once; lines whose text it does not take are no
        match. Returns the narrowed (mask, cols) with the rule's fields added."""
        if not mask.any():
            return mask, cols
        imask, icols = self.fast(text, rule, (), capture, dedup=True)
        if not imask.all():
            cols = cols.filter(pa.array(imask))
            mask = mask.copy()
            mask[np.flatnonzero(mask)[~imask]] = False
        cols.update(icols)
        return mask, cols

    def split_fast(self, lines: pa.Array, rule: str, seps: tuple, opaque: tuple = (),
                   capture: tuple = (), absent: tuple = (), present: tuple = ()):
        """The split fast path: cut each line at the rule's separators (``LineGrammar.pieces``)
        and match every piece with its own small regex, each distinct piece text once where
        pieces repeat. RE2 captures cost per character and per group of a whole-line regex;
        splitting is a memchr. Returns (mask, cols) like :meth:`fast`, or None when the rule
        has no split form for this file. Lines it does not take are left to :meth:`fast`."""
        plan = self.g.pieces(rule, tuple(seps), tuple(opaque), tuple(capture), tuple(absent),
                             tuple(present), tuple(self.NOCAPTURE))
        if plan is None:
            return None
        chars, regexes, named = plan
        n = len(lines)
        alive = np.arange(n)
        pieces, rem = [], lines
        for ch in chars:
            parts = pc.split_pattern(rem, ch, max_splits=1)
            ok = np.asarray(pc.equal(pc.list_value_length(parts), 2)
                            .to_numpy(zero_copy_only=False), dtype=bool)
            if not ok.all():
                sel = pa.array(ok)
                parts, alive = parts.filter(sel), alive[ok]
                pieces = [p.filter(sel) for p in pieces]
            if len(parts) == 0:
                return np.zeros(n, bool), Cols(0)
            # every list has two items: the first ones are the piece, the second the rest
            flat = parts.flatten()
            pieces.append(flat.take(_evens(len(parts))))
            rem = flat.take(_evens(len(parts), 1))
        pieces.append(rem)
        valid = np.ones(len(alive), bool)
        found = []
        for k, (piece, rx) in enumerate(zip(pieces, regexes)):
            key = (rule, k, rx)
            repeats = self._piece_repeats.get(key)
            if repeats is None:
                # decided on the first chunk: a column of timestamps does not repeat, one of
                # tasks does
                repeats = len(piece.unique()) < REPEAT_SHARE * len(piece)
                self._piece_repeats[key] = repeats
            ok, pcols = _match_rx(piece, rx, repeats)
            valid &= ok
            found.append((ok, pcols))
        mask = np.zeros(n, bool)
        mask[alive[valid]] = True
        cols = Cols(int(valid.sum()))
        for k, (ok, pcols) in enumerate(found):
            sel = valid[ok]                   # the rows this piece took that all pieces took
            sub = pcols if sel.all() else pcols.filter(pa.array(sel))
            if k < len(named) and named[k]:
                # a named separator: its field is its whitespace and the character
                sub[named[k]] = pc.binary_join_element_wise(sub[named[k]], chars[k], "")
            both = sub.names() & cols.names()
            for name in both:                 # a field of two pieces: the first non-empty
                cols[name] = pc.if_else(pc.equal(cols[name], ""), sub[name], cols[name])
            cols.update(sub, skip=both)
        return mask, cols

    # ------------------------------------------------------------------ rare lines
    def read_rare(self, lines: pa.Array, left: np.ndarray):
        """[(chunk index, text, (rule, fields) or None)] of the lines no fast rule took.

        All at once: each line shape's regex runs over the distinct texts (RE2), and a text
        that exactly one shape of the highest matching priority accepts is read with that
        shape's regex, every rule of it captured — the reading Lark would give (the regex's
        language is the rule's; tests/test_grammar.py checks the fields on real lines). Only
        texts with several readings, or none, go to Lark, one by one (cached)."""
        if not len(left):
            return []
        sub = lines if len(left) == len(lines) else lines.take(pa.array(left))
        readings = self._read_shapes(sub)
        out = []
        lark = 0
        for i, text in zip(left.tolist(), sub.to_pylist()):
            res = readings.get(text, _UNREAD)
            if res is _UNREAD:
                res = self.rare(text)
                lark += self.last_lark
            out.append((i, text, res))
        self.stats.lark_lines += lark
        return out

    def _read_shapes(self, sub: pa.Array) -> dict:
        """{text: (rule, fields)} of the distinct texts not in the cache that one line shape
        reads; they also go into the cache while it has room (a long trace has more distinct
        banners than the cache holds: the rest are read here, chunk by chunk, never by Lark)."""
        readings: dict = {}
        todo = pc.unique(sub)
        if self._rare_cache:
            known = pc.is_in(todo, value_set=pa.array(list(self._rare_cache), pa.string()))
            todo = todo.filter(pc.invert(known))
        todo = todo.filter(pc.less_equal(pc.binary_length(todo), MAX_LARK_LINE))
        if not len(todo):
            return readings
        shapes = _line_shapes(self.g)
        prio = np.array([p for _, p, _ in shapes], np.float64)
        hit = np.zeros((len(shapes), len(todo)), bool)
        for k, (rule, _, _) in enumerate(shapes):
            hit[k] = np.asarray(pc.match_substring_regex(todo, self.g.regex(rule))
                                .to_numpy(zero_copy_only=False), dtype=bool)
        pr = np.where(hit, prio[:, None], -np.inf)
        best = pr.max(axis=0)
        at_best = hit & (pr == best)
        one = at_best.sum(axis=0) == 1
        which = at_best.argmax(axis=0)
        for k, (rule, _, _) in enumerate(shapes):
            sel = one & (which == k)
            if not sel.any() or rule in self.LARK_RULES:
                continue
            texts = todo.filter(pa.array(sel))
            rx = self.g.regex(rule, (), True, self.g.subrules(rule))
            if re.compile(rx).groupindex:
                st = pc.extract_regex(texts, rx)
                names = [canonical(f.name) for f in st.type]
                fields = [st.field(j).to_pylist() for j in range(len(names))]
            else:
                names, fields = [], []
            for r, text in enumerate(texts.to_pylist()):
                f = {}
                for name, col in zip(names, fields):
                    if col[r] and name not in f:      # Lark reports a symbol's first use
                        f[name] = col[r]
                readings[text] = (rule, f)
                if len(self._rare_cache) < RARE_CACHE:
                    self._rare_cache[text] = (rule, f)
        return readings

    def rare(self, text: str):
        """Parse a line no fast rule took with Lark (cached). Returns (rule, fields) or None;
        ``self.last_lark`` says whether the reading needed Lark."""
        if text in self._rare_cache:
            self.last_lark = text in self._lark_texts
            return self._rare_cache[text]
        self.last_lark = False
        if len(text) > MAX_LARK_LINE:
            return None
        res = self.quick(text)
        try:
            if res is None and self.some_shape(text):
                self.last_lark = True
                res = self.g.parse(text)
        except Exception as e:
            res = None
            if len(self._rare_errors) < MAX_REPORTED_UNRECOGNIZED:
                self._rare_errors[text] = e       # explains it, without a second parse
        if len(self._rare_cache) < RARE_CACHE:
            self._rare_cache[text] = res
            if self.last_lark:
                self._lark_texts.add(text)
        return res

    def some_shape(self, text: str) -> bool:
        """Whether the regex of some line shape (alternative of ``line``) matches: their union
        is the grammar's language, so when none does Lark cannot parse the line either and is
        not asked (an Earley parse of a line costs up to 0.1 s)."""
        return any(rx.match(text) for _, _, rx in _line_shapes(self.g))

    def quick(self, text: str):
        """(rule, fields) without Lark when one of QUICK_RULES is the line's only reading:
        its regex matches and no other line shape of equal or higher priority does (else None,
        and Lark decides)."""
        if not self.QUICK_RULES:
            return None
        best, hits = None, []
        for rule, prio, rx in _line_shapes(self.g):
            if best is not None and prio < best:
                break
            m = rx.match(text)
            if m:
                best = prio
                hits.append((rule, m))
        if len(hits) != 1 or hits[0][0] not in self.QUICK_RULES:
            return None
        rule, m = hits[0]
        return rule, {canonical(k): v for k, v in m.groupdict().items() if v is not None}

    def unrecognized(self, line_no: int, text: str):
        if len(text) > MAX_LARK_LINE:
            reason = f"line of {len(text)} characters matches no rule"
        elif len(self.stats.first_unrecognized) < MAX_REPORTED_UNRECOGNIZED:
            reason = self.g.explain(text, self._rare_errors.get(text))
        else:
            reason = ""
        self.stats.unrecognized_line(line_no, reason, text)

    def start_chunk(self, chunk):
        """Count the chunk's lines; returns (lines, n, input line numbers)."""
        n = len(chunk.lines)
        self.stats.lines += n
        return chunk.lines, n, np.arange(chunk.first_line, chunk.first_line + n, dtype=np.int64)

    def process(self, chunk) -> pa.Table | None:
        """The rows of one chunk: ``stitch(parse(chunk))``."""
        return self.stitch(self.parse(chunk))

    def parse(self, chunk):
        """The work on a chunk that needs no other chunk; may run in another process (its
        result is pickled), with ``self.stats`` counting that chunk alone."""
        raise NotImplementedError

    def stitch(self, parsed) -> pa.Table | None:
        """The rows of a parsed chunk, chunks in input order (state that spans chunks —
        open calls, context switches — lives here). By default the parse is the rows."""
        return parsed

    def finish(self) -> pa.Table | None:
        return None

    def open_min_line(self) -> int | None:
        """Smallest input line of an event not yet emitted (an open call), or None."""
        return None


# ---------------------------------------------------------------------- helpers
@functools.lru_cache(maxsize=None)
def _line_shapes(g):
    """[(rule, priority, compiled regex)] of every line shape, highest priority first."""
    shapes = [(r, g.priority(r), re.compile(g.regex(r))) for r in g.alternatives()]
    return sorted(shapes, key=lambda s: -s[1])


def _match_rx(lines: pa.Array, rx: str, dedup: bool):
    """(mask over the lines, Cols over the matching ones) of one anchored regex. With
    ``dedup`` each distinct text is matched once (texts that repeat: function bodies,
    payloads, callchain frames, task columns) and a field is copied out to the lines only
    when it is read."""
    if len(lines) == 0:
        return np.zeros(0, bool), Cols(0)
    if not re.compile(rx).groupindex:            # nothing to capture: a match is enough
        ok = pc.match_substring_regex(lines, rx)
        ok = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
        return ok, Cols(int(ok.sum()))
    if dedup:
        return DistinctLines(lines).match(rx)
    st = extract(lines, rx)
    valid = st.is_valid()
    mask = np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool)
    return mask, _struct_cols(st.filter(valid))


def _struct_cols(st: pa.StructArray) -> Cols:
    """extract_regex's struct as Cols: one column per canonical field name (a name that
    occurs several times in the regex, ``pid`` / ``pid__2``, takes the first non-empty)."""
    cols = Cols(len(st))
    for i, f in enumerate(st.type):
        arr = st.field(i)
        name = canonical(f.name)
        if name in cols:
            prev = cols[name]
            cols[name] = pc.if_else(pc.equal(prev, ""), arr, prev)
        else:
            cols[name] = arr
    return cols


THREADS = int(os.environ.get("TRACEFOLD_THREADS", 0)) or max(1, min(4, os.cpu_count() or 1))
_POOL = None


def extract(lines: pa.Array, rx: str) -> pa.StructArray:
    """pc.extract_regex, split over the machine's cores for large inputs (RE2 releases the
    GIL; the result is identical to one call)."""
    global _POOL
    n = len(lines)
    if THREADS == 1 or n < 8_000:
        return pc.extract_regex(lines, rx)
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(THREADS, thread_name_prefix="tracefold-re2")
    step = -(-n // THREADS)
    parts = list(_POOL.map(lambda i: pc.extract_regex(lines.slice(i, step), rx),
                           range(0, n, step)))
    return pa.concat_arrays(parts)
def _evens(n: int, start: int = 0) -> pa.Array:
    return pa.array(np.arange(start, 2 * n, 2, dtype=np.int64))


def empty_strings(n: int) -> pa.Array:
    """``n`` empty strings (a column for a field the rule did not have)."""
    return pa.StringArray.from_buffers(n, pa.py_buffer(np.zeros(n + 1, np.int32)),
                                       pa.py_buffer(b""))


def np_of(arr) -> np.ndarray:
    """An Arrow array as numpy (strings become Python objects: use for the few rows only)."""
    return arr.to_numpy(zero_copy_only=False)


def split_decimal(arr: pa.Array):
    """'12.345' → ('12', '345') arrays; '12' → ('12', ''); '' stays ''."""
    parts = pc.split_pattern(arr, ".", max_splits=1)
    flat = parts.flatten()
    off = np.asarray(parts.offsets)
    two = (off[1:] - off[:-1]) == 2
    first = flat.take(pa.array(off[:-1]))
    second = flat.take(pa.array(np.where(two, off[:-1] + 1, off[:-1])))
    return first, pc.if_else(pa.array(two), second, "")


class _Counter(threading.local):
    n = 0


OUT_OF_RANGE = _Counter()   # numbers read as missing by this thread since its last drain
MAX_DIGITS = {64: 18, 32: 9}


def to_int(arr: pa.Array, bits: int = 64) -> pa.Array:
    """'' → null, digits → int64. A number too long for the column (over 18 digits; over 9 for
    int32 columns such as cpu) is read as missing and counted in OUT_OF_RANGE, which the
    pipeline turns into a warning of the input (a fuzzed "bash-99999999999999999999" must not
    fail the conversion)."""
    a = pc.if_else(pc.equal(arr, ""), None, arr)
    longest = pc.max(pc.utf8_length(a)).as_py()
    if longest is not None and longest > MAX_DIGITS[bits]:
        big = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_ltrim(a, "-+")),
                                      MAX_DIGITS[bits]), False)
        if pc.any(big).as_py():
            OUT_OF_RANGE.n += int(pc.sum(big).as_py())
            a = pc.if_else(big, None, a)
    return pc.cast(a, pa.int64())


def drain_out_of_range() -> int:
    n, OUT_OF_RANGE.n = OUT_OF_RANGE.n, 0
    return n


def nonempty(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.not_equal(arr, "").to_numpy(zero_copy_only=False), dtype=bool)


def null_if_empty(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), None, arr)


_POW10 = np.array([10 ** k for k in range(19)], dtype=np.int64)


def decimal_ns(int_part: pa.Array, frac: pa.Array, unit_exp):
    """Exact integer ns from decimal text 'int.frac' in a unit of 10**unit_exp ns (s: 9, us: 3);
    ``unit_exp`` is one int or a numpy array with one exponent per row.

    Returns (value_ns, resolution_ns) as int64 arrays; '' int_part → null."""
    ip = to_int(int_part).fill_null(0).to_numpy(zero_copy_only=False)   # (nulls: float64)
    flen = pc.utf8_length(frac).to_numpy(zero_copy_only=False).astype(np.int64)
    fval = to_int(frac).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    keep = np.minimum(flen, unit_exp)
    # drop digits finer than 1 ns (never happens in practice; keeps the math exact)
    drop = flen - keep
    fval = fval // _POW10[np.clip(drop, 0, 18)]
    value = ip * _POW10[unit_exp] + fval * _POW10[np.clip(unit_exp - keep, 0, 18)]
    res = _POW10[np.clip(unit_exp - keep, 0, 18)]
    nulls = pc.equal(int_part, "").to_numpy(zero_copy_only=False)
    return (pa.array(value, pa.int64(), mask=nulls), pa.array(res, pa.int64(), mask=nulls))


def decimal_text_ns(text: pa.Array, unit_exp):
    """:func:`decimal_ns` of whole decimal texts ('12.345', '12', '12.'; '' → null): the
    digits without their point read as one integer, scaled by the number of decimals; longer
    texts (seconds since 1970 with ns) through Arrow's exact string → decimal cast."""
    lens = pc.binary_length(text).to_numpy(zero_copy_only=False).astype(np.int64)
    empty = pc.equal(text, "")
    dot = pc.find_substring(text, ".").to_numpy(zero_copy_only=False).astype(np.int64)
    flen = np.where(dot >= 0, lens - dot - 1, 0)
    keep = np.minimum(flen, unit_exp)
    res = _POW10[np.clip(unit_exp - keep, 0, 18)]
    if not len(lens) or lens.max() <= 18:
        # the digits without their point fit an int64
        digits = pc.if_else(empty, "0", pc.replace_substring(text, ".", "", max_replacements=1))
        v = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)
        value = v // _POW10[np.clip(flen - keep, 0, 18)] * res
        nulls = empty.to_numpy(zero_copy_only=False)
        return (pa.array(value, pa.int64(), mask=nulls), pa.array(res, pa.int64(), mask=nulls))
    try:
        d = pc.cast(pc.if_else(empty, "0", text), pa.decimal128(38, 9))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):   # finer than 1e-9 unit
        return decimal_ns(*split_decimal(text), unit_exp)
    words = np.frombuffer(d.buffers()[1], np.int64)[2 * d.offset: 2 * (d.offset + len(d))]
    scaled, high = words[0::2], words[1::2]               # the 128-bit unscaled values
    if (high != 0).any() or (scaled < 0).any() or np.any(np.asarray(unit_exp) > 9):
        return decimal_ns(*split_decimal(text), unit_exp)
    # digits finer than 1 ns are dropped (never seen), which keeps the math exact
    value = scaled // _POW10[9 - np.asarray(unit_exp)]
    nulls = empty.to_numpy(zero_copy_only=False)
    return (pa.array(value, pa.int64(), mask=nulls), pa.array(res, pa.int64(), mask=nulls))


def make_table(cols: dict, n: int) -> pa.Table:
    return table_from_columns(cols, n)
