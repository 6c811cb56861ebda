"""File-system layer view: where each syscall's time goes (syscall → VFS → security → path
lookup → page cache → file system → block → driver, and other: scheduling, irq, locking, RCU).

Rules (which function is in which layer, which calls start a syscall) live in
``tracefold/rules/fs_layers.toml``; ``--rules FILE`` replaces them.

What each input allows:

* **calls** (function_graph, trace-cmd, uftrace -K): every syscall instance with its duration
  and the self time of each layer; the layers of an instance add up to its duration exactly
  (a call's self time = its duration minus its children's, which may be slightly negative
  where a trace's durations are rounded: kept, so that the sum holds).
* **samples** (perf script with kernel stacks): no instances, no durations: per syscall the
  sample weight of each layer (the layer of the innermost frame).
* **stack traces** (ftrace / trace-cmd ``<stack trace>``, ``kernel_stack``): counts per
  syscall and layer (the traced function's layer).
* **syscall events** (``syscalls:sys_enter_*`` / ``sys_exit_*`` tracepoints, no calls):
  every instance with its duration, no layer detail (all of it in the syscall layer).
"""
from __future__ import annotations

import re
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..errors import UsageError
from ..schema import CALL, SYSCALL, has_stack, kind_is

RULES_FILE = Path(__file__).resolve().parent.parent / "rules" / "fs_layers.toml"
LAYERS = ("syscall", "vfs", "security", "path", "pagecache", "fs", "block", "driver", "irq",
          "sched", "other", "unknown")
# a trace rooted below the syscall (set_graph_function=vfs_fsync_range, ext4_*, submit_bio …):
# an outermost call in one of these layers is an operation of its own
OP_LAYERS = ("vfs", "path", "pagecache", "fs", "block", "driver", "security")
_CLONE = re.compile(r"(?:\.(?:isra|constprop|part|cold|lto_priv|llvm)(?:\.\d+)?)+$")
_MODULE = re.compile(r"^(.*?)\s+\[([\w.-]+)\]$")


OPEN_PRUNE = 4096   # open calls kept before those already ended are dropped (memory bound)

class RulesError(UsageError):
    pass


def _module(dso):
    """The kernel module of a perf DSO written "[ext4]" (not the kernel image itself)."""
    if dso and dso.startswith("[") and dso.endswith("]") and \
            dso not in ("[kernel.kallsyms]", "[unknown]", "[vdso]"):
        return dso[1:-1]
    return None


class Rules:
    def __init__(self, path=None):
        self.path = Path(path) if path else RULES_FILE
        self._layer_cache: dict = {}
        self._syscall_cache: dict = {}
        try:
            data = tomllib.loads(self.path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise RulesError(f"{self.path}: cannot read the rules: {e}") from None
        self.alias = dict(data.get("fs_alias", {}))
        self.syscalls = []
        for i, r in enumerate(data.get("syscall", [])):
            try:
                rx = re.compile(r["pattern"])
            except (KeyError, re.error) as e:
                raise RulesError(f"{self.path}: [[syscall]] #{i + 1}: bad pattern: {e}") \
                    from None
            if "syscall" not in r and "name" not in rx.groupindex:
                raise RulesError(f"{self.path}: [[syscall]] #{i + 1}: give `syscall` or a "
                                 "(?P<name>…) group")
            self.syscalls.append((rx, r.get("syscall")))
        self.layers = []
        for i, r in enumerate(data.get("layer", [])):
            name = r.get("name")
            if name not in LAYERS:
                raise RulesError(f"{self.path}: [[layer]] #{i + 1}: name must be one of "
                                 f"{', '.join(LAYERS)}, not {name!r}")
            try:
                pats = [re.compile(p) for p in ([r["pattern"]] if isinstance(r.get("pattern"), str)
                                                else r.get("pattern", []))]
            except re.error as e:
                raise RulesError(f"{self.path}: [[layer]] #{i + 1}: bad pattern: {e}") \
                    from None
            self.layers.append({"name": name, "tag": r.get("tag", ""),
                                "exact": set(r.get("exact", [])),
                                "prefix": tuple(r.get("prefix", [])),
                                "pattern": pats, "module": set(r.get("module", []))})

    @staticmethod
    def split(name: str):
        """'ext4_sync_file [ext4]' → ('ext4_sync_file', 'ext4'); clone suffixes removed."""
        module = None
        m = _MODULE.match(name)
        if m:
            name, module = m.group(1), m.group(2)
        return _CLONE.sub("", name.strip()), module

    def layer(self, name: str, module: str | None = None) -> tuple[str, str]:
        """(layer, tag) of a function; ("unknown", "") when no rule matches (cached per
        rules object: names repeat)."""
        key = (name, module)
        hit = self._layer_cache.get(key)
        if hit is None:
            hit = self._layer_cache[key] = self._layer(name, module)
        return hit

    def _layer(self, name: str, module: str | None) -> tuple[str, str]:
        base, mod = self.split(name)
        mod = module or mod
        for r in self.layers:
            fs = None
            hit = base in r["exact"] or (r["prefix"] and base.startswith(r["prefix"]))
            if not hit:
                for p in r["pattern"]:
                    m = p.fullmatch(base)
                    if m:
                        hit, fs = True, m.groupdict().get("fs")
                        break
            if not hit and mod and mod in r["module"]:
                hit, fs = True, mod
            if hit:
                tag = r["tag"]
                if "{fs}" in tag:
                    f = fs or mod or ""
                    tag = tag.replace("{fs}", self.alias.get(f, f))
                return r["name"], tag
        return "unknown", ""

    def syscall(self, name: str) -> str | None:
        if name not in self._syscall_cache:
            self._syscall_cache[name] = self._syscall(name)
        return self._syscall_cache[name]

    def _syscall(self, name: str) -> str | None:
        base, _ = self.split(name)
        for rx, fixed in self.syscalls:
            m = rx.fullmatch(base)
            if m:
                return fixed or m.group("name")
        return None

    def label(self, name: str, module: str | None = None) -> str:
        """Layer as shown in folded stacks / Chrome: file systems by their name."""
        layer, tag = self.layer(name, module)
        if layer == "fs":
            return tag or "fs"
        return layer


@dataclass
class FsResult:
    kind: str                                   # calls | samples | stack traces
    figure: str                                 # ns | weight | count
    instances: list = field(default_factory=list)
    by_syscall: dict = field(default_factory=dict)      # syscall -> {layer: value}
    fs_of: dict = field(default_factory=dict)           # syscall -> Counter(fs tag)
    unknown: Counter = field(default_factory=Counter)   # function -> ns / weight / count
    outside: int = 0                            # time / weight not inside any syscall
    layer_rows: list = field(default_factory=list)      # layer-run tree (calls) for exports
    layer_stacks: Counter = field(default_factory=Counter)   # folded layer stacks
    notes: Counter = field(default_factory=Counter)
    roots: str = "syscall"                      # syscall | operation (no syscall in the trace)
    # syscalls seen from user space (strace), one row each (USER_COLUMNS), kept as a table:
    # there is one per line of such a trace
    user: pa.Table | None = None

    # what the command line shows and writes (functions below)
    def summary(self) -> list[dict]:
        return summarize(self)

    def instances_frame(self):
        return instances_table(self)

    def by_file(self) -> list[dict]:
        """Per file and syscall (instances that name a file: strace -y descriptors, path
        arguments): count, errors, total / p50 / max duration, by total time."""
        return files_summary(self)

    def layer_calls(self) -> pa.Table:
        return layer_call_table(self)

    def layer_lines(self) -> list[str]:
        """The folded layer stacks ("syscall;vfs;ext4 w"), sorted."""
        return [f"{k} {v}" for k, v in sorted(self.layer_stacks.items()) if v > 0]

    def layers_in(self, summary) -> list[str]:
        """The layers (in LAYERS order) that some syscall of ``summary`` has a share of."""
        return [k for k in LAYERS if any(r["share"].get(k) for r in summary)]


class FsAnalyzer:
    """Feed normalized tables in input-line order; ``result()`` gives the layer view."""

    def __init__(self, rules: Rules | None = None, keep_rows: bool = False):
        """``keep_rows``: keep the layer-run tree of every instance (``FsResult.layer_rows``,
        for the Chrome export; memory grows with the trace). Layer stacks, instances and the
        summary are always computed."""
        self.rules = rules or Rules()
        self.keep_rows = keep_rows
        self._user: list = []           # tables of syscalls seen from user space
        self.kind = None
        self.r = FsResult("", "")
        self._open = {}          # line of an open call -> (instance, layer label, run line)
        self._ninst = 0
        self._stacks_of = {"syscall": self.r.layer_stacks, "op": Counter()}

    def add(self, t: pa.Table):
        import pyarrow.compute as pc
        # syscalls seen from user space (strace): instances of their own, no layer detail
        user = pc.and_(kind_is(t, CALL), pc.fill_null(pc.equal(t.column("event"), SYSCALL),
                                                       False))
        if pc.any(user).as_py():
            self._user_syscalls(t.filter(user))
            t = t.filter(pc.invert(user))
        calls = t.filter(kind_is(t, CALL))
        if calls.num_rows:
            self._calls(calls)
        stacky = has_stack(t)
        if pc.any(stacky).as_py() and not calls.num_rows:
            from .folded import with_traced_leaf
            self._stacks(with_traced_leaf(t.filter(stacky)))
        ev = pc.fill_null(t.column("event"), "")
        sys_ev = pc.or_(pc.starts_with(ev, "sys_enter_"), pc.starts_with(ev, "sys_exit_"))
        if pc.any(sys_ev).as_py():
            self._sys_events(t.filter(sys_ev))

    # ------------------------------------------------------------------ calls
    def _calls(self, t):
        """Calls in line order: a call whose parent is in an instance belongs to it; an
        outermost call that names a syscall starts one. Open calls (that may still get
        children) are remembered until their exit line is behind us."""
        self.kind = self.kind or "calls"
        R, res = self.rules, self.r
        cols = {c: t.column(c).to_pylist() for c in ("line", "name", "parent_line", "dur_ns",
                                                     "ts_ns", "tid", "comm", "status",
                                                     "end_line", "pid", "cpu")}
        for i in range(t.num_rows):
            line, name, parent = cols["line"][i], cols["name"][i] or "?", cols["parent_line"][i]
            dur = cols["dur_ns"][i]
            par = self._open.get(parent) if parent is not None else None
            if par is None:
                sc = R.syscall(name)
                if sc is not None:
                    inst = self._new_instance(sc, cols, i, "syscall")
                    layer, label, pkey = "syscall", sc, None
                    run = self._run(cols, i, sc, None, name, "syscall")
                else:
                    layer, tag = R.layer(name)
                    # only a call with nothing around it (not a user function of uftrace
                    # -K that happens to be named like one, fputs under rcall)
                    if layer not in OP_LAYERS or parent is not None:
                        if dur is not None:
                            res.outside += dur
                        continue
                    # no syscall above it: the operation is this function (docs/fs.md)
                    op = R.split(name)[0]
                    inst = self._new_instance(op, cols, i, "op")
                    label, pkey = op, None
                    run = self._run(cols, i, op, None, name, "op")
                    if layer == "fs" and tag:
                        inst["fs"][tag] += 1
            else:
                inst, plabel, prun, pkey, _ = par
                layer, tag = R.layer(name)
                label = plabel if layer == "syscall" else R.label(name)
                if label == plabel:
                    run = prun
                    fn = run[4]
                    if fn is not None and len(fn) < 8 and name not in fn:
                        fn.append(name)
                else:
                    run = self._run(cols, i, label, prun, name, inst["kind"])
                if layer == "fs" and tag:
                    inst["fs"][tag] += 1
                if layer == "unknown":
                    res.unknown[R.split(name)[0]] += dur if dur is not None else 0
            # self time: + own duration to own layer, − own duration from the parent's layer
            if dur is None:
                inst["unclosed"] += 1
            else:
                inst["layers"][layer] += dur
                if pkey is not None:
                    inst["layers"][pkey] -= dur
            end = cols["end_line"][i]
            if end is not None or cols["status"][i] is not None:
                self._open[line] = (inst, label, run, layer, end)
        if len(self._open) > OPEN_PRUNE and cols["line"]:
            last = cols["line"][-1]
            self._open = {k: v for k, v in self._open.items() if v[4] is None or v[4] > last}

    def _run(self, cols, i, label, parent_run, name, kind):
        """A run of same-layer calls: [line, folded path, duration, row index, functions].
        Its self time goes to its layer stack as it is found: + its duration, − from the run
        around it. ``kind``: "syscall" or "op" (kept apart until result() chooses)."""
        dur = cols["dur_ns"][i]
        path = label if parent_run is None else parent_run[1] + ";" + label
        stacks = self._stacks_of[kind]
        if dur is not None:
            stacks[path] += dur
            if parent_run is not None and parent_run[2] is not None:
                stacks[parent_run[1]] -= dur
        row = fn = None
        if self.keep_rows:
            fn = [name]
            self.r.layer_rows.append(dict(
                line=cols["line"][i], name=label, ts_ns=cols["ts_ns"][i], dur_ns=dur,
                parent_line=None if parent_run is None else parent_run[0], tid=cols["tid"][i],
                pid=cols["pid"][i], comm=cols["comm"][i], cpu=cols["cpu"][i],
                status=cols["status"][i], fn=fn, kind=kind))
            row = len(self.r.layer_rows) - 1
        return [cols["line"][i], path, dur, row, fn]

    def _new_instance(self, sc, cols, i, kind="syscall"):
        self._ninst += 1
        inst = {"id": self._ninst, "syscall": sc, "kind": kind, "line": cols["line"][i],
                "tid": cols["tid"][i], "comm": cols["comm"][i], "ts_ns": cols["ts_ns"][i],
                "dur_ns": cols["dur_ns"][i], "layers": Counter(), "fs": Counter(),
                "unclosed": 0, "status": cols["status"][i]}
        self.r.instances.append(inst)
        return inst

    # ------------------------------------------------------------------ syscall events
    def _user_syscalls(self, t):
        """Syscalls traced from user space (strace, event ``syscall``): every call is an
        instance with its duration, all of it in the syscall layer, with the file it worked
        on (``fields["path"]``: -y descriptors, path arguments) and its errno. Kept as
        columns (FsResult.user), not one dict per instance."""
        import pyarrow.compute as pc
        if self.kind not in (None, "syscall events"):
            self.r.notes["syscalls traced from user space ignored (the trace has kernel "
                         "calls or stacks)"] += t.num_rows
            return
        self.kind = "syscall events"
        f = t.column("fields")
        def enc(a):                     # names repeat: kept once each
            return pc.dictionary_encode(a.cast(pa.string()))

        part = pa.table({"line": t.column("line"), "syscall": enc(t.column("name")),
                         "ts_ns": t.column("ts_ns"), "dur_ns": t.column("dur_ns"),
                         "tid": t.column("tid"), "pid": t.column("pid"),
                         "comm": enc(t.column("comm")), "status": enc(t.column("status")),
                         "path": enc(pc.map_lookup(f, "path", "first")),
                         "errno": enc(pc.map_lookup(f, "errno", "first"))})
        self._user.append(part)

    def _sys_events(self, t):
        """syscalls:sys_enter_* / sys_exit_* pairs per thread: instances with durations but
        no function detail (all their time is in the syscall layer)."""
        if self.kind not in (None, "syscall events"):
            self.r.notes["sys_enter / sys_exit events ignored (the trace has calls or stacks)"] \
                += t.num_rows
            return
        self.kind = "syscall events"
        pending = self.__dict__.setdefault("_enter", {})
        for line, ev, ts, tid, comm, _status in zip(*(t.column(c).to_pylist() for c in (
                "line", "event", "ts_ns", "tid", "comm", "status"))):
            if ev.startswith("sys_enter_"):
                if tid in pending:
                    self.r.notes["sys_enter without its sys_exit"] += 1
                pending[tid] = (ev[len("sys_enter_"):], ts, line, comm)
                continue
            name = ev[len("sys_exit_"):]
            enter = pending.pop(tid, None)
            if enter is None or enter[0] != name or ts is None or enter[1] is None:
                self.r.notes["sys_exit without its sys_enter"] += 1
                continue
            self._ninst += 1
            dur = ts - enter[1]
            self.r.instances.append({
                "id": self._ninst, "syscall": name, "line": enter[2], "tid": tid,
                "comm": enter[3], "ts_ns": enter[1], "dur_ns": dur,
                "layers": Counter({"syscall": dur}), "fs": Counter(), "unclosed": 0,
                "status": None})
            self.r.layer_stacks[name] += dur
            if self.keep_rows:
                self.r.layer_rows.append(dict(line=enter[2], name=name, ts_ns=enter[1],
                                              dur_ns=dur, parent_line=None, tid=tid, pid=None,
                                              comm=enter[3], cpu=None, status=None, fn=[ev]))

    # ------------------------------------------------------------------ stacks
    def _stacks(self, t):
        import pyarrow.compute as pc
        kind = t.column("kind").cast(pa.string()).to_pylist()
        samples = sum(1 for k in kind if k == "sample")
        self.kind = self.kind or ("samples" if samples >= len(kind) / 2 else "stack traces")
        R, res = self.rules, self.r
        weights = pc.fill_null(t.column("weight"), 1).to_pylist()
        dsos = t.column("stack_dso").to_pylist()
        for st, ds, k, w in zip(t.column("stack").to_pylist(), dsos, kind, weights):
            if k != "sample":
                w = 1
            ds = ds or [None] * len(st)
            start = None
            for j, f in enumerate(st):
                sc = R.syscall(f)
                if sc:
                    start, name = j, sc
                    break
            if start is None:
                res.outside += w
                continue
            labels = [name]
            layer, tag = "syscall", ""  # of the innermost frame (the syscall if none below)
            fs = res.fs_of.setdefault(name, Counter())
            for f, d in zip(st[start + 1:], ds[start + 1:]):
                mod = _module(d)
                layer, tag = R.layer(f, mod)
                lab = labels[-1] if layer == "syscall" else R.label(f, mod)
                if lab != labels[-1]:
                    labels.append(lab)
                if layer == "fs" and tag:
                    fs[tag] += 0
                if layer == "unknown":
                    res.unknown[R.split(f)[0]] += w
            e = res.by_syscall.setdefault(name, Counter())
            e[layer] += w
            e["_n"] += 1
            if tag and layer == "fs":
                fs[tag] += w
            res.layer_stacks[";".join(labels)] += w

    def _choose_roots(self):
        """Operations rooted below the syscall count only where the trace has no syscall
        at all (set_graph_function=vfs_fsync_range …); otherwise their calls are outside
        any syscall, as before."""
        res = self.r
        ops = [i for i in res.instances if i.get("kind") == "op"]
        if not ops:
            return
        if any(i.get("kind") == "syscall" for i in res.instances):
            res.instances = [i for i in res.instances if i.get("kind") != "op"]
            res.outside += sum(i["dur_ns"] or 0 for i in ops)
            res.layer_rows = [r for r in res.layer_rows if r.get("kind") != "op"]
            return
        res.layer_stacks.update(self._stacks_of["op"])
        res.notes["no syscall in the trace: operations are the outermost calls of a "
                  "file-system layer (vfs, fs, page cache, block …)"] += len(ops)
        res.roots = "operation"

    # ------------------------------------------------------------------ result
    def result(self) -> FsResult:
        res = self.r
        res.kind = self.kind or "calls"
        self._choose_roots()
        res.figure = {"calls": "ns", "syscall events": "ns", "samples": "weight",
                      "stack traces": "count"}[res.kind]
        if self._user:
            res.user = pa.concat_tables(self._user)
            self._user = []
            _user_figures(res)
        if res.kind == "syscall events" and getattr(self, "_enter", None):
            res.notes["sys_enter without its sys_exit"] += len(self._enter)
        if res.kind in ("calls", "syscall events"):
            for inst in res.instances:
                e = res.by_syscall.setdefault(inst["syscall"], Counter())
                for k, v in inst["layers"].items():
                    e[k] += v
                e["_n"] += 1
                for tag, n in inst["fs"].items():
                    res.fs_of.setdefault(inst["syscall"], Counter())[tag] += n
            unclosed = sum(i["unclosed"] for i in res.instances)
            if unclosed:
                res.notes["calls without a duration (unclosed) left out"] += unclosed
        return res


def merge_results(results) -> FsResult:
    """The layer view of several traces (a dataset's): instances together, per-syscall
    figures, file systems, unknown functions, layer stacks and notes added."""
    results = list(results)
    kinds = {r.kind for r in results if r.instances or r.layer_stacks or r.user is not None}
    if len(kinds) > 1:
        raise UsageError(f"traces of different kinds ({', '.join(sorted(kinds))}): their "
                         "layer views do not add up (--where chooses traces of one kind)")
    first = next((r for r in results if r.kind in kinds), results[0] if results else None)
    out = FsResult(first.kind if first else "calls", first.figure if first else "ns")
    users = [r.user for r in results if r.user is not None]
    out.user = pa.concat_tables(users) if users else None
    for r in results:
        out.instances += r.instances
        for sc, e in r.by_syscall.items():
            out.by_syscall.setdefault(sc, Counter()).update(e)
        for sc, c in r.fs_of.items():
            out.fs_of.setdefault(sc, Counter()).update(c)
        out.unknown.update(r.unknown)
        out.outside += r.outside
        out.layer_stacks.update(r.layer_stacks)
        out.notes.update(r.notes)
        if r.roots == "syscall":
            out.roots = "syscall"
        elif first is not None and r is first:
            out.roots = r.roots
    return out


def summarize(res: FsResult) -> list[dict]:
    """Per syscall: count, total, p50 / p99 duration (calls), share per layer, file system."""
    out = []
    durs = defaultdict(list)
    timed = res.kind in ("calls", "syscall events")
    for inst in res.instances:
        if inst["dur_ns"] is not None:
            durs[inst["syscall"]].append(inst["dur_ns"])
    if res.user is not None:
        u = res.user.select(["syscall", "dur_ns"]).filter(pa.compute.is_valid(
            res.user.column("dur_ns"))).to_pandas()
        for sc, d in u.groupby("syscall", observed=True)["dur_ns"]:
            durs[sc].extend(d.tolist())
    for sc, e in sorted(res.by_syscall.items(), key=lambda kv: -sum(
            v for k, v in kv[1].items() if k != "_n")):
        total = sum(v for k, v in e.items() if k != "_n")
        row = {"syscall": sc, "count": e["_n"], "total": total}
        if timed:
            d = np.array(durs.get(sc, []), dtype=np.int64)
            row["p50_ns"] = int(np.percentile(d, 50)) if len(d) else None
            row["p99_ns"] = int(np.percentile(d, 99)) if len(d) else None
        row["layers"] = {k: e.get(k, 0) for k in LAYERS if e.get(k, 0)}
        row["share"] = {k: (v / total if total else 0.0) for k, v in row["layers"].items()}
        fs = res.fs_of.get(sc, Counter())
        row["fs"] = sorted(fs, key=lambda k: -fs[k])
        out.append(row)
    return out


def files_summary(res: FsResult) -> list[dict]:
    import pandas as pd
    if res.user is None:
        return []
    u = res.user.select(["path", "syscall", "dur_ns", "errno"]).to_pandas()
    u = u[u["path"].notna()]
    if u.empty:
        return []
    g = u.groupby(["path", "syscall"], sort=False, observed=True)
    d = g["dur_ns"]
    out = pd.DataFrame({"count": g.size(), "errors": g["errno"].count(),
                       "total_ns": d.sum(min_count=0), "p50_ns": d.quantile(0.5, "lower"),
                       "max_ns": d.max()}).reset_index()
    out["path"], out["syscall"] = out["path"].astype(str), out["syscall"].astype(str)
    out = out.sort_values(["total_ns", "path", "syscall"], ascending=[False, True, True])
    rows = []
    for r in out.itertuples(index=False):
        rows.append({"path": r.path, "syscall": r.syscall, "count": int(r.count),
                     "errors": int(r.errors), "total_ns": int(r.total_ns),
                     "p50_ns": None if r.p50_ns != r.p50_ns else int(r.p50_ns),
                     "max_ns": None if r.max_ns != r.max_ns else int(r.max_ns)})
    return rows


def _user_figures(res: FsResult):
    """Per-syscall figures and layer stacks of the syscalls seen from user space."""
    u = res.user.select(["syscall", "dur_ns"]).to_pandas()
    g = u.groupby("syscall", observed=True)["dur_ns"]
    for sc, n, total in zip(g.size().index, g.size().tolist(), g.sum(min_count=0).tolist()):
        e = res.by_syscall.setdefault(sc, Counter())
        e["syscall"] += int(total)
        e["_n"] += int(n)
        res.layer_stacks[sc] += int(total)


def instances_table(res: FsResult):
    """One row per syscall instance (calls), or per (syscall, layer) otherwise."""
    import pandas as pd
    if res.kind in ("calls", "syscall events"):
        rows = []
        for inst in res.instances:
            r = {"syscall": inst["syscall"], "line": inst["line"], "tid": inst["tid"],
                 "comm": inst["comm"], "ts_ns": inst["ts_ns"], "dur_ns": inst["dur_ns"],
                 "fs": ",".join(sorted(inst["fs"])) or None, "status": inst["status"]}
            for layer in LAYERS:
                r[f"{layer}_ns"] = inst["layers"].get(layer, 0)
            rows.append(r)
        frame = pd.DataFrame(rows)
        if res.user is not None:
            u = res.user.drop_columns(["pid"]).to_pandas(
                types_mapper={pa.int64(): pd.Int64Dtype()}.get)
            for c in ("syscall", "comm", "status", "path", "errno"):
                u[c] = u[c].astype(object).where(u[c].notna(), None)
            u.insert(6, "fs", None)
            for layer in LAYERS:
                u[f"{layer}_ns"] = u["dur_ns"].fillna(0).astype("int64") if layer == "syscall" \
                    else 0
            u = u[[c for c in u.columns if c not in ("path", "errno")] + ["path", "errno"]]
            frame = u if frame.empty else pd.concat([frame, u], ignore_index=True)
        return frame
    rows = [{"syscall": sc, "layer": k, res.figure: v} for sc, e in res.by_syscall.items()
            for k, v in e.items() if k != "_n"]
    return pd.DataFrame(rows)


def layer_call_table(res: FsResult) -> pa.Table:
    """The layer tree of every instance as normalized call rows: the syscall as the root call,
    each run of same-layer calls as one nested call named by its layer (file systems by name),
    its functions in ``args`` — what the Chrome writer needs."""
    from ..schema import table_from_columns
    rows = res.layer_rows
    cols = {k: [r[k] for r in rows] for k in ("line", "name", "ts_ns", "dur_ns", "parent_line",
                                              "tid", "pid", "comm", "cpu", "status")}
    cols["args"] = ["functions: " + ", ".join(r["fn"]) for r in rows]
    cols["kind"] = [CALL] * len(rows)
    cols["format"] = ["tracefold-fs"] * len(rows)
    cols["status"] = [s if s in ("unclosed", "no_entry") else None for s in cols["status"]]
    t = table_from_columns(cols, len(rows))
    if res.user is None:
        return t
    # syscalls seen from user space: each one call of the syscall layer (those with a time)
    import pyarrow.compute as pc
    u = res.user.filter(pc.and_(pc.is_valid(res.user.column("ts_ns")),
                                pc.is_valid(res.user.column("dur_ns"))))
    names = u.column("syscall")
    ucols = {c: u.column(c) for c in ("line", "ts_ns", "dur_ns", "tid", "pid", "comm", "status")}
    ucols.update(name=names, args=pc.binary_join_element_wise("functions: ", names, ""),
                 kind=[CALL] * u.num_rows, format=["tracefold-fs"] * u.num_rows)
    both = pa.concat_tables([t, table_from_columns(ucols, u.num_rows)])
    return both.take(pc.sort_indices(both.column("line")))
