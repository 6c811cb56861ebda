"""Folded stacks ("root;…;leaf weight") from the normalized table, chunk by chunk.

Two sources, both read from the table alone (so a Parquet file gives the same result):

* stacks: rows with a ``stack`` (perf samples, ftrace ``<stack trace>`` blocks) and perf samples
  without one. perf frames are tidied exactly as FlameGraph's ``stackcollapse-perf.pl`` does
  (same options: comm root, ``--pid``, ``--tid``, ``--kernel``, ``--jit``, ``--all``,
  ``--addrs``, ``--event-filter``; see docs/outputs.md);
* call trees: rows of kind ``call`` nested through ``parent_line`` (function_graph, uftrace),
  weighted by self time in ns (default) or by number of calls.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UsageError
from ..schema import BASE_WEIGHT, CALL, SAMPLE, has_stack, kind_is


@dataclass
class FoldOptions:
    pid: bool = False           # root frame "comm-pid"
    tid: bool = False           # root frame "comm-pid/tid"
    kernel: bool = False        # "_[k]" on kernel frames (perf)
    jit: bool = False           # "_[j]" on JIT frames (perf)
    all: bool = False           # --kernel --jit
    addrs: bool = False         # "[dso <addr>]" for unknown symbols (perf)
    event_filter: str | None = None
    weight: str = "auto"        # auto | self-ns | calls
    source: str = "auto"        # auto | calls | stacks
    flamechart: bool = False    # time order, nothing merged
    keep_last: bool = False     # keep a last perf sample not ended by a blank line
    comm_root: bool = False     # calls: task name as root frame (stacks always have it)
    perl_quirks: bool = True    # perf: fold as stackcollapse-perf.pl does where it misreads

    def __post_init__(self):
        if self.all:
            self.kernel = self.jit = True
        if self.weight not in ("auto", "self-ns", "calls"):
            raise UsageError(f"--weight must be self-ns or calls, not {self.weight!r}")
        if self.source not in ("auto", "calls", "stacks"):
            raise UsageError(f"--source must be calls or stacks, not {self.source!r}")


# ---------------------------------------------------------------------- perf frame tidying
_GO_METHOD = re.compile(r"\.\(.*\)\.")
_ARG_LIST = re.compile(r"\((?!anonymous namespace\)).*")
_JIT_MAP = re.compile(r"/tmp/perf-\d+\.map")
_KERNEL_DSO = re.compile(r"^\[|vmlinux$")
_PERL_FRAME = re.compile(r"(.+) \((.*)\)")
_PERL_OFFSET = re.compile(r"\+0x[\da-f]+$")


def tidy_perf_frame(sym: str, dso: str | None, addr: str | None, java: bool,
                    o: FoldOptions) -> str:
    """One perf callchain frame → its folded frame(s) ("a;b_[i]" for JIT inline chains
    "a->b"), or "" when stackcollapse-perf.pl leaves the frame out."""
    if o.perl_quirks and dso and "(" in dso:
        # the script splits "addr sym (dso)" at the last " (" followed by ")": a DSO such as
        # "/memfd:sealed-91 (deleted)" leaves "sym (/memfd:sealed-91" as the symbol
        m = _PERL_FRAME.match(f"{sym} ({dso})")
        if m:
            sym, dso = _PERL_OFFSET.sub("", m.group(1)), m.group(2)
    elif not o.perl_quirks and dso and dso.endswith(" (deleted)"):
        dso = dso[:-len(" (deleted)")]
    if sym.startswith("("):
        return ""
    if sym == "":
        sym = " "       # no symbol printed ("addr  (dso)"): the script's frame is a blank
    dso = dso or ""
    out = []
    for k, f in enumerate(sym.split("->")):
        if f == "[unknown]":
            base = dso.rsplit("/", 1)[-1] if dso != "[unknown]" else "unknown"
            f = f"[{base} <{addr}>]" if o.addrs else f"[{base}]"
        f = f.replace(";", ":")
        if not _GO_METHOD.search(f):
            # everything after the first "(" is an argument list (C++ signatures, Java)
            f = _ARG_LIST.sub("", f, count=1)
        f = f.replace('"', "").replace("'", "")
        if java and "/" in f and f.startswith("L"):
            f = f[1:]
        if k > 0:
            if "_[i]" not in f:
                f += "_[i]"
        elif o.kernel and _KERNEL_DSO.search(dso) and "unknown" not in dso:
            f += "_[k]"
        elif o.jit and _JIT_MAP.search(dso):
            if "_[j]" not in f:
                f += "_[j]"
        out.append(f)
    return ";".join(out)


def root_labels(t: pa.Table, o: FoldOptions, default_comm: bool) -> pa.Array | None:
    """The task frame of each row: comm (spaces → _), comm-pid or comm-pid/tid; pid "?" when
    the trace does not give it. None when no task frame is wanted."""
    if not (default_comm or o.pid or o.tid):
        return None
    comm = pc.fill_null(t.column("comm"), "")
    if o.pid or o.tid:
        pid = pc.fill_null(pc.cast(t.column("pid"), pa.string()), "?")
        if o.tid:
            tid = pc.fill_null(pc.cast(t.column("tid"), pa.string()), "?")
            comm = pc.binary_join_element_wise(comm, "-", pid, "/", tid, "")
        else:
            comm = pc.binary_join_element_wise(comm, "-", pid, "")
        return pc.replace_substring(comm, " ", "_")
    # no task name known (bpftrace's @[kstack]): no task frame, rather than an empty one
    return pc.if_else(pc.is_null(t.column("comm")), NO_ROOT, pc.replace_substring(comm, " ", "_"))


_ADDR = re.compile(r"^0x[0-9a-f]+$")
# sample events whose weight counts microseconds (bcc's offcputime, offwaketime)
US_EVENTS = ("offcputime", "offwaketime")
NO_ROOT = "\x00"       # root label of a row whose stack needs no task frame (folded input)


def base_side(t: pa.Table) -> pa.Table | None:
    """The rows of a differential folded input that have a base count, weighted by it; None
    when ``t`` has none (see readers/folded.py)."""
    f = t.column("fields")
    if f.null_count == len(t):
        return None
    base = pc.map_lookup(f, BASE_WEIGHT, "first")
    has = pc.is_valid(base)
    if not pc.any(has).as_py():
        return None
    t = t.filter(has)
    return t.set_column(t.schema.get_field_index("weight"), "weight",
                        pc.cast(base.filter(has), pa.int64()))


def two_column(base_lines, new_lines):
    """Differential folded lines "stack base new" (sorted) from the two sides' lines."""
    sides: dict = {}
    for k, lines in enumerate((base_lines, new_lines)):
        for ln in lines:
            stack, _, w = ln.rpartition(" ")
            sides.setdefault(stack, [0, 0])[k] += int(w)
    return [f"{s} {b} {n}" for s, (b, n) in sorted(sides.items())]


def call_stacks(t: pa.Table, by_time: bool, notes: Counter) -> pa.Table:
    """Calls with a stack (strace -k) as stack rows: the call's name added as the leaf, the
    weight its duration in ns (``by_time``; 0 without a duration, counted), else 1 each."""
    stack = pc.fill_null(t.column("stack"), pa.scalar([], pa.list_(pa.string()))) \
        .combine_chunks()
    n = len(stack)
    counts = pc.list_value_length(stack).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts + 1, out=offsets[1:])
    frames = pc.list_flatten(stack)
    at = np.arange(len(frames)) + np.repeat(np.arange(n), counts)     # frames, then the leaf
    idx = np.empty(offsets[-1], np.int64)
    idx[at] = np.arange(len(frames))
    idx[offsets[1:] - 1] = len(frames) + np.arange(n)
    off = pa.array(offsets.astype(np.int32))

    def grown(col, leaf):
        vals = pc.list_flatten(t.column(col).combine_chunks()) if col != "stack" else frames
        if col != "stack" and t.column(col).null_count:     # frames without a value
            vals = pa.nulls(0, pa.string())
        if len(vals) != len(frames):        # no per-frame values: as many nulls
            vals = pa.nulls(len(frames), pa.string())
        return pa.ListArray.from_arrays(off, pa.concat_arrays(
            [vals.cast(pa.string()), leaf]).take(pa.array(idx)))

    names = pc.fill_null(t.column("name"), "[unknown]").combine_chunks()
    for col, leaf in (("stack", names), ("stack_addr", pa.nulls(n, pa.string())),
                      ("stack_dso", pa.nulls(n, pa.string()))):
        t = t.set_column(t.schema.get_field_index(col), col, grown(col, leaf))
    if not by_time:
        w = pa.array(np.ones(n, np.int64))
    else:
        dur = t.column("dur_ns")
        if dur.null_count:
            notes["calls without a duration (strace without -T, unfinished) weigh 0"] += \
                dur.null_count
        w = pc.fill_null(dur, 0)
    return t.set_column(t.schema.get_field_index("weight"), "weight", w)


def with_traced_leaf(t: pa.Table) -> pa.Table:
    """Function-tracer entries with a stack trace end with the traced function: ftrace
    prints the stack from its trampoline, whose raw addresses (innermost frames) are dropped
    here, and the traced function is added when the stack does not already end with it."""
    sel = pc.and_(kind_is(t, "entry"), pc.and_(has_stack(t), pc.is_valid(t.column("name"))))
    if not pc.any(sel).as_py():
        return t
    cols = {c: t.column(c).to_pylist() for c in ("stack", "stack_addr", "stack_dso", "name")}
    for i in np.flatnonzero(sel.to_numpy(zero_copy_only=False)).tolist():
        st = list(cols["stack"][i])
        keep = len(st)
        while keep and _ADDR.match(st[keep - 1]):
            keep -= 1
        extra = [] if keep and st[keep - 1] == cols["name"][i] else [cols["name"][i]]
        cols["stack"][i] = st[:keep] + extra
        for c in ("stack_addr", "stack_dso"):
            v = cols[c][i]
            if v is not None:
                cols[c][i] = list(v[:keep]) + [None] * len(extra)
    for c in ("stack", "stack_addr", "stack_dso"):
        t = t.set_column(t.schema.get_field_index(c), c, pa.array(cols[c], t.schema.field(c).type))
    return t


def _codes(arr):
    """(index of each value in its distinct values as int64, the distinct values)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = arr.dictionary_encode()
    return enc.indices.to_numpy().astype(np.int64), enc.dictionary


def _pair_codes(a: np.ndarray, b: np.ndarray, nb: int) -> np.ndarray:
    """A code per (a, b) pair, kept small (the index of the pair among the distinct ones)."""
    return pa.array(a * nb + b).dictionary_encode().indices.to_numpy().astype(np.int64)


def _aligned(t, col, stack, n):
    """The list column ``col`` flattened in step with ``stack`` (null where a row has none)."""
    v = t.column(col).combine_chunks()
    flat = pc.list_flatten(v)
    if len(flat) == n and pc.all(pc.equal(pc.fill_null(pc.list_value_length(v), -1),
                                          pc.fill_null(pc.list_value_length(stack), -1))).as_py():
        return flat
    out = []
    for a, b in zip(v.to_pylist(), stack.to_pylist()):
        if b:
            out += list(a) if a is not None and len(a) == len(b) else [None] * len(b)
    return pa.array(out, pa.string())


class Folder:
    """Feed tables with ``add``; ``lines()`` gives the folded lines (sorted, or in time order
    for flame charts)."""

    def __init__(self, options: FoldOptions | None = None):
        self.o = options or FoldOptions()
        self.counts: Counter = Counter()        # stacks mode
        self.ordered: list = []                 # flamechart of stacks: (key, weight)
        self.notes: Counter = Counter()
        self._tidy: dict = {}                   # frame key -> fragment id
        self._frag_text: list = []              # fragment id -> folded text ("" = left out)
        self._root_id: dict = {}
        self._root_text: list = []
        self._stacks: dict = {}                 # stack key (ids as bytes) -> folded text
        self._event = self.o.event_filter
        self._event_defaulted = False
        self._calls = _CallCollector(self.o) if self.o.flamechart else _PathFolder(self.o)
        self._last = None
        self._periods = False                   # perf samples weighed by their period
        self._call_units = None                 # calls with stacks folded: ns or calls
        self._us = False                        # weights in microseconds (bcc offcputime)
        self.mode = None

    def finish(self, input_lines: int | None):
        """stackcollapse-perf.pl only counts a sample when a blank line ends it, so a last
        sample at the very end of the file is left out (inferno keeps it; so does
        ``keep_last``). Called once, with the number of input lines, before lines()."""
        if self._last is None or not input_lines or self.o.keep_last:
            return
        key, w, end = self._last
        if end >= input_lines:
            if self.o.flamechart:
                self.ordered.pop()
            else:
                self.counts[key] -= w
            self.notes["sample left out: the input ends inside it (no blank line after it, "
                       "as stackcollapse-perf.pl does; --keep-last keeps it)"] += 1

    # ------------------------------------------------------------------ input
    def path_aggregator(self):
        """The call-path aggregator of call input (path ids, names, per-path figures)."""
        return self._calls.agg

    def add(self, t: pa.Table):
        is_call = kind_is(t, CALL)
        stacky = pc.or_(has_stack(t), kind_is(t, SAMPLE))
        want = self.o.source
        # calls that carry the stack they were made from (strace -k): folded under it, the
        # call itself the leaf, weighed by its duration (or 1 with --weight calls)
        sc = pc.and_(is_call, has_stack(t))
        if want in ("auto", "stacks") and (self._call_units or pc.any(sc).as_py()):
            # with them, the calls without a stack that are not nested either (a syscall
            # strace printed no stack for) are stacks of their own name
            flat = pc.and_(pc.is_null(t.column("parent_line")), pc.is_null(t.column("depth")))
            sc = pc.or_(sc, pc.and_(is_call, flat))
            sub = t.filter(sc)
            if self._call_units is None:
                self._call_units = "ns" if self.o.weight != "calls" and \
                    sub.column("dur_ns").null_count < len(sub) else "calls"
            self._add_stacks(call_stacks(sub, self._call_units == "ns", self.notes))
            keep = pc.invert(sc)
            t, is_call, stacky = t.filter(keep), is_call.filter(keep), stacky.filter(keep)
        if want in ("auto", "calls") and pc.any(is_call).as_py():
            self._calls.add(t.filter(is_call))
        if want in ("auto", "stacks") and pc.any(stacky).as_py():
            self._add_stacks(t.filter(stacky))

    def _add_stacks(self, t: pa.Table):
        o = self.o
        t = with_traced_leaf(t)
        fmt = t.column("format").cast(pa.string())
        perf = pc.fill_null(pc.equal(fmt, "perf-script"), False)
        t, perf = self._filter_event(t, perf)
        if o.perl_quirks:
            t, perf = self._perl_headers(t, perf)
        n = len(t)
        if not n:
            return
        roots = root_labels(t, o, default_comm=True)
        if o.perl_quirks and self._perl_roots is not None:
            roots = pc.if_else(pc.is_valid(self._perl_roots), self._perl_roots, roots)
        folded = pc.fill_null(pc.equal(t.column("format").cast(pa.string()), "folded"), False)
        if pc.any(folded).as_py():
            # folded input: its stacks are whole already (a task frame, if any, is in them)
            roots = pc.if_else(folded, NO_ROOT, roots)
        java = pc.equal(roots, "java").to_numpy(zero_copy_only=False)
        perf_np = perf.to_numpy(zero_copy_only=False)
        stack = t.column("stack").combine_chunks()
        frames = pc.list_flatten(stack)
        counts = pc.fill_null(pc.list_value_length(stack), 0).to_numpy()
        owner = np.repeat(np.arange(n), counts)
        if len(frames):
            dso = _aligned(t, "stack_dso", stack, len(frames))
            addr = _aligned(t, "stack_addr", stack, len(frames))
            fid = self._fragment_ids(frames, dso, addr, java[owner], perf_np[owner])
        else:
            fid = np.zeros(0, np.int32)
        # each row's stack as bytes: its root's id, then its frames' ids; a stack's text is
        # built once per distinct stack
        rid = self._ids(roots, self._root_id, self._root_text)
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(counts + 1, out=offsets[1:])
        ids = np.empty(offsets[-1], np.int32)
        ids[offsets[:-1]] = rid
        at_frame = np.ones(offsets[-1], bool)
        at_frame[offsets[:-1]] = False
        ids[at_frame] = fid
        keys = pa.Array.from_buffers(pa.binary(), n, [
            None, pa.py_buffer((offsets * 4).astype(np.int32)),
            pa.py_buffer(ids.astype("<i4").tobytes())])
        enc = keys.dictionary_encode()
        texts = [self._stack_text(k) for k in enc.dictionary.to_pylist()]
        row = enc.indices.to_numpy()
        if self.o.weight == "calls":
            w = np.ones(n, np.int64)
        else:
            w = pc.fill_null(t.column("weight"), 1).to_numpy().astype(np.int64)
            if not self._us and pc.any(pc.is_in(t.column("event"),
                                                value_set=pa.array(US_EVENTS))).as_py():
                self._us = True
            if not self._periods and (w[perf_np] != 1).any():
                self._periods = True
        # the last perf sample seen and the line its block ends on (see finish)
        last = n - 1
        if perf_np[last]:
            el = t.column("end_line")[last].as_py()
            self._last = (texts[row[last]], int(w[last]),
                          el if el is not None else t.column("line")[last].as_py())
        else:
            self._last = None
        if "" in texts:
            # nothing to draw: no frame and no task (bpftrace's "@[]: 191", the kernel stack
            # of samples taken in user space)
            blank = np.asarray([x == "" for x in texts])[row]
            self.notes["samples without a stack or a task left out"] += int(blank.sum())
        if self.o.flamechart:
            self.ordered.extend((texts[i], x) for i, x in zip(row.tolist(), w.tolist())
                                if texts[i])
            return
        sums = np.zeros(len(texts), np.int64)
        np.add.at(sums, row, w)
        for k, v in zip(texts, sums.tolist()):
            if k:
                self.counts[k] += v

    def _filter_event(self, t, perf):
        """The samples of one event: the one given, or the first perf event met (as
        stackcollapse-perf.pl does: merging cycles with instructions would mislead).
        Only samples whose header line ends with the event name take part (both FlameGraph
        and inferno recognize the event there); samples with a tracepoint payload or their
        own frame on the header line are never filtered. Other samples by their event too
        (bpftrace: the map's name, a file may print several maps)."""
        ev = pc.fill_null(t.column("event"), "")
        trailer = pc.or_(pc.is_valid(t.column("text")),
                         pc.and_(pc.is_null(t.column("end_line")), has_stack(t)))
        plain = pc.and_(kind_is(t, SAMPLE), pc.invert(trailer))
        if self._event is None and pc.any(plain).as_py():
            self._event = pc.filter(ev, plain)[0].as_py()
            self._event_defaulted = True
        if self._event is not None:
            keep = pc.equal(ev, self._event) if not self._event_defaulted else \
                pc.or_(pc.invert(plain), pc.equal(ev, self._event))
            dropped = len(t) - pc.sum(keep).as_py()
            if dropped:
                self.notes[f"samples of other events than {self._event!r} left out "
                           f"(--event-filter)"] += dropped
                t = t.filter(keep)
                perf = perf.filter(keep)
        return t, perf

    def _ids(self, values: pa.Array, ids: dict, texts: list) -> np.ndarray:
        """Stable ids (across chunks) of the strings in ``values``, as int32."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        enc = values.dictionary_encode()
        m = []
        for v in enc.dictionary.to_pylist():
            i = ids.get(v)
            if i is None:
                i = ids[v] = len(texts)
                texts.append(v)
            m.append(i)
        return np.asarray(m, np.int32)[enc.indices.to_numpy()] if m else \
            np.zeros(len(values), np.int32)

    def _stack_text(self, key: bytes) -> str:
        text = self._stacks.get(key)
        if text is None:
            text = self._stacks[key] = self._make_stack_text(key)
        return text

    def _make_stack_text(self, key: bytes) -> str:
        ids = np.frombuffer(key, "<i4").tolist()
        frags = self._frag_text
        root = self._root_text[ids[0]]
        return ";".join([*((root,) if root != NO_ROOT else ()),
                         *(frags[i] for i in ids[1:] if frags[i])])

    _perl_roots = None

    def _perl_headers(self, t, perf):
        """Samples whose header stackcollapse-perf.pl reads differently (the perf reader put
        its view in ``fields``: perl_comm / perl_pid / perl_tid, or perl_skip): their root frame
        becomes the script's, and the samples it does not see are left out."""
        self._perl_roots = None
        f = t.column("fields")
        if f.null_count == len(t):
            return t, perf
        skip = pc.is_valid(pc.map_lookup(f, "perl_skip", "first"))
        if pc.any(skip).as_py():
            n = pc.sum(skip).as_py()
            self.notes["perf samples left out as stackcollapse-perf.pl does (a header it "
                       "cannot read; --no-perl-quirks keeps them)"] += n
            keep = pc.invert(skip)
            t, perf = t.filter(keep), perf.filter(keep)
            f = t.column("fields")
        comm = pc.map_lookup(f, "perl_comm", "first")
        if comm.null_count == len(comm):
            return t, perf
        o = self.o
        pid = pc.map_lookup(f, "perl_pid", "first")
        tid = pc.map_lookup(f, "perl_tid", "first")
        if o.tid:
            lab = pc.binary_join_element_wise(comm, "-", pid, "/", tid, "")
        elif o.pid:
            lab = pc.binary_join_element_wise(comm, "-", pid, "")
        else:
            lab = comm
        self._perl_roots = pc.replace_substring(lab, " ", "_")
        return t, perf

    def _fragment_ids(self, frames, dso, addr, java, perf) -> np.ndarray:
        """Id (int32, stable across chunks) of each frame's folded text, each distinct frame
        tidied once. A frame is (symbol, DSO, address, java?, perf?) as integer codes; the
        address takes part only where it is printed (--addrs on [unknown] symbols): real
        callchains repeat a frame at many addresses."""
        o = self.o
        parts = [_codes(frames), _codes(pc.fill_null(dso, "\x01"))]
        if o.addrs:
            unknown = pc.fill_null(pc.match_substring(frames, "[unknown]"), False)
            parts.append(_codes(pc.if_else(unknown, pc.fill_null(addr, ""), "")))
        code = np.zeros(len(frames), np.int64)
        for idx, _ in parts:
            code = _pair_codes(code, idx, len(_))
        code = code * 4 + java.astype(np.int64) * 2 + perf.astype(np.int64)
        enc = pa.array(code).dictionary_encode()
        distinct = enc.dictionary.to_numpy()
        # decode each distinct code back to its parts (first occurrence of the code)
        first = np.full(len(distinct), -1, np.int64)
        ix = enc.indices.to_numpy()
        first[ix[::-1]] = np.arange(len(ix))[::-1]
        texts = [d.take(pa.array(idx[first])).to_pylist() for idx, d in parts]
        flags = (distinct & 3).tolist()
        m = []
        for j, f in enumerate(flags):
            key = (*(t[j] for t in texts), f)
            i = self._tidy.get(key)
            if i is None:
                sym, d = key[0], key[1]
                d = None if d == "\x01" else d
                a = key[2] if o.addrs else ""
                v = tidy_perf_frame(sym, d, a, bool(f & 2), o) if f & 1 else sym.replace(";", ":")
                i = self._tidy[key] = len(self._frag_text)
                self._frag_text.append(v)
            m.append(i)
        return np.asarray(m, np.int32)[ix]

    # ------------------------------------------------------------------ output
    def unit(self) -> str:
        """What the weights count (after iter_lines): ns of self time or calls for call
        trees; for samples, their number, or what perf's period counts (cpu-clock and
        task-clock: ns; other events: the event, e.g. cycles)."""
        if self.mode == "calls":
            return "calls" if self.o.weight == "calls" else "ns"
        if self._call_units:
            return self._call_units
        if self._us:
            return "us"
        if not self._periods:
            return "samples"
        ev = (self._event or "").split(":")[0]
        return "ns" if ev in ("cpu-clock", "task-clock") else (ev or "events")

    def lines(self) -> list[str]:
        return list(self.iter_lines())

    def iter_lines(self):
        """The folded lines in their order (sorted, or time order for flame charts), made one
        at a time where they can be (call trees: ``PathAggregator.sorted_texts``)."""
        has_calls = self._calls.n > 0
        stacks = len(self.ordered) if self.o.flamechart else sum(1 for _ in self.counts)
        if self.o.source == "calls" or (self.o.source == "auto" and has_calls):
            if stacks and self.o.source == "auto":
                self.notes["stacks left out: the input has calls (--source stacks folds the "
                           "stacks instead)"] += stacks
            self.mode = "calls"
            return self._calls.fold(self.o, self.notes) if has_calls else []
        self.mode = "stacks"
        if self.o.flamechart:
            return [f"{k} {w}" for k, w in self.ordered if w > 0]
        return [f"{k} {v}" for k, v in sorted(self.counts.items()) if v > 0]


# ---------------------------------------------------------------------- call trees
def task_labels(o: FoldOptions):
    """Root label function for PathAggregator: comm-pid or comm-pid/tid, or None."""
    if not (o.pid or o.tid or o.comm_root):
        return None

    def labels(t):
        return root_labels(t, o, default_comm=True).to_pylist()
    return labels


class _PathFolder:
    """Streaming call-tree folding (per call path sums; see analysis/paths.py)."""

    def __init__(self, o: FoldOptions):
        from .paths import PathAggregator
        self.agg = PathAggregator(task_labels(o))
        self.n = 0

    def add(self, t: pa.Table):
        self.agg.add(t)
        self.n += t.num_rows

    def fold(self, o: FoldOptions, notes: Counter):
        """The folded lines, sorted, one at a time (notes are counted before the first)."""
        a = self.agg.finish()
        if a.negative_self:
            notes["calls whose children outlast them (self time < 0 set to 0)"] += a.negative_self
        if a.unclosed:
            notes["calls without a duration (unclosed) count no self time"] += a.unclosed
        w = a.calls if o.weight == "calls" else a.self_ns
        return (f"{k} {v}" for k, v in a.sorted_texts(w))


class _CallCollector:
    """Flame charts of call trees need every call (time order), not only sums: compact numpy
    columns of each call row, with its path id from a PathAggregator."""

    def __init__(self, o: FoldOptions):
        from .paths import PathAggregator
        self.agg = PathAggregator(task_labels(o))
        self.parts = []
        self.n = 0

    def add(self, t: pa.Table):
        def np64(c, fill):
            return pc.fill_null(t.column(c), fill).to_numpy().astype(np.int64)
        self.parts.append({
            "line": t.column("line").to_numpy(),
            "parent": np64("parent_line", -1),
            "dur": np64("dur_ns", -1),
            "ts": np64("ts_ns", -1),
            "tid": np64("tid", -1),
            "path": self.agg.add(t),
        })
        self.n += len(t)

    def fold(self, o: FoldOptions, notes: Counter) -> list[str]:
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        order = np.argsort(cols["line"], kind="stable")
        c = {k: v[order] for k, v in cols.items()}
        n = len(c["line"])
        pidx = np.searchsorted(c["line"], c["parent"])
        pidx = np.where((c["parent"] >= 0) & (pidx < n) &
                        (c["line"][np.minimum(pidx, n - 1)] == c["parent"]), pidx, -1)
        if o.weight == "calls":
            w = np.ones(n, np.int64)
        else:
            dur = c["dur"]
            child = np.zeros(n, np.int64)
            has_p = (pidx >= 0) & (dur >= 0)
            np.add.at(child, pidx[has_p], dur[has_p])
            w = np.where(dur >= 0, dur - child, 0)
            neg = w < 0
            if neg.any():
                notes["calls whose children outlast them (self time < 0 set to 0)"] += \
                    int(neg.sum())
                w[neg] = 0
            if (dur < 0).any():
                notes["calls without a duration (unclosed) count no self time"] += \
                    int((dur < 0).sum())
        return _flamechart(c, pidx, c["path"], w, self.agg.finish().strings(), o)


def _flamechart(c, pidx, path_id, w, names, o):
    """Calls in time order per task, never merged: a call's own time before its first child,
    between its children and after its last child, each piece on its own line. Without
    timestamps (or with --weight calls) a call's weight comes first, then its children."""
    n = len(pidx)
    kids = np.flatnonzero(pidx >= 0)
    kids = kids[np.argsort(pidx[kids], kind="stable")]          # by parent, in line order
    counts = np.bincount(pidx[kids], minlength=n) if len(kids) else np.zeros(n, np.int64)
    off = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    ts, dur = c["ts"].tolist(), c["dur"].tolist()
    kids, counts, off = kids.tolist(), counts.tolist(), off.tolist()
    w = w.tolist()
    pid = path_id.tolist()
    by_time = o.weight != "calls"
    out = []
    roots = np.flatnonzero(pidx < 0)
    roots = roots[np.lexsort((c["line"][roots], c["tid"][roots]))].tolist()
    for r in roots:
        st = [[r, 0, ts[r], 0]]          # call, next child, time reached, self time emitted
        while st:
            fr = st[-1]
            i, k, t, used = fr
            timed = by_time and ts[i] >= 0 and dur[i] >= 0
            if k == 0 and not timed and w[i] > 0:
                out.append(f"{names[pid[i]]} {w[i]}")
            if k < counts[i]:
                ch = kids[off[i] + k]
                fr[1] = k + 1
                if timed and ts[ch] >= 0:
                    # the gap before this child, within the call's self time (timestamps
                    # and durations may be rounded differently: self time is the budget)
                    piece = min(ts[ch] - t, w[i] - used)
                    if piece > 0:
                        out.append(f"{names[pid[i]]} {piece}")
                        fr[3] = used + piece
                    if dur[ch] >= 0:
                        fr[2] = max(t, ts[ch] + dur[ch])
                st.append([ch, 0, ts[ch], 0])
                continue
            if timed and w[i] - used > 0:
                out.append(f"{names[pid[i]]} {w[i] - used}")
            st.pop()
    return out
