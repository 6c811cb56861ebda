"""What changed between runs: per function and per call path, one or several runs per side.

Sign convention everywhere: change = new − base (positive = the new run spends more / calls
more). Relative change = change / base (inf when the base is 0).

Figures per run come from the normalized table alone (analysis/callgraph.py and folded.py):
calls, total (inclusive, recursion counted once) and self time in ns for traced calls;
samples, weight (inclusive) and self weight for stack samples.

With several runs per side, each figure becomes the mean (and standard deviation) across the
runs of that side, a function missing from a run counting 0 there. A change is significant
when a moderated Welch two-sample t-test (unequal variances, a 5 % noise floor added to each
side's spread, see _welch) on the per-run values gives
p < alpha after Holm's correction over all rows of the table, computed on the logarithm of
the per-run values (timing noise is multiplicative: a run that is 10 % slower is 10 % slower
in every function, and a change is a ratio). Welch's test suits few runs:
it is exact for normal data at any sample size, needs only 2 runs per side, and does not
assume both sides are equally noisy; rank tests cannot reach p < 0.05 with 3 runs per side
(Mann-Whitney's smallest two-sided p is 0.1). Figures that do not vary within a side (call
counts of a deterministic program) are decided exactly: equal means no change, different
means a change with p = 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import UsageError
from .callgraph import CallGraphBuilder
from ..schema import OFF_CPU_PREFIX
from .folded import FoldOptions, Folder
from .paths import DEEPER

CALL_METRICS = ("calls", "total_ns", "self_ns", "median_ns", "median_self_ns")
# per-call medians: a function missing from a run has no value there (not 0)
MEDIAN_METRICS = ("median_ns", "median_self_ns")
STACK_METRICS = ("samples", "weight", "self_weight")


@dataclass
class Profile:
    """Figures of one run."""
    path: str
    source: str                                  # calls | stacks
    functions: dict = field(default_factory=dict)   # key -> {metric: value}
    paths: dict = field(default_factory=dict)       # "a;b;c" -> {metric: value}
    folded: dict = field(default_factory=dict)      # "a;b;c" -> self weight


def profile(tables, name: str = "?", group: str | None = None,
            fold: FoldOptions | None = None, input_lines=None, paths: bool = True) -> Profile:
    """One pass over a trace's normalized tables (already filtered): per-function and
    per-path figures and its folded stacks. ``group``: None (threads merged), "comm" or "tid"
    (comm-tid). ``input_lines``: the input's line count, or a callable giving it once the
    tables are read (the folded stacks then follow the same rule as ``convert -o x.folded``
    for a last perf sample without its blank line; tracefold.api.profile passes it).
    ``paths``: also the per-call-path figures (``level="path"``); their keys are whole path
    texts (cut at MAX_PATH_DEPTH frames) — not built unless asked."""
    fo = fold or FoldOptions()
    if group == "comm":
        fo.comm_root = True
    elif group == "tid":
        fo.tid = True
    folder = Folder(fo)
    cg = CallGraphBuilder(group=group, hist=True)
    for t in tables:
        folder.add(t)
        cg.add(t)
    folder.finish(input_lines() if callable(input_lines) else input_lines)
    lines = folder.lines()
    rows, src = cg.report()
    p = Profile(str(name), "stacks" if src == "stacks" else "calls")
    medians = cg.call_medians() if p.source == "calls" else {}
    for r in rows:
        key = (r["thread"], r["function"]) if "thread" in r else r["function"]
        if p.source == "calls":
            p.functions[key] = {m: int(r.get(m, 0) or 0) for m in CALL_METRICS[:3]}
            med = medians.get(key, (np.nan, np.nan))
            p.functions[key].update(median_ns=med[0], median_self_ns=med[1])
        else:
            p.functions[key] = {m: int(r.get(m, 0) or 0) for m in STACK_METRICS}
    for ln in lines:
        k, _, w = ln.rpartition(" ")
        p.folded[k] = int(w)
    if paths:
        _add_paths(p, folder, cg)
    return p


def _add_paths(p: Profile, folder: Folder, cg: CallGraphBuilder):
    """Per-call-path figures of a profile."""
    # a path is keyed by its whole text: beyond MAX_PATH_DEPTH frames the deeper frames
    # count as one "…" frame, so that memory stays linear in the stack depth (the texts of
    # all prefixes of a 100,000-frame stack would take tens of GB)
    if folder.mode == "calls":
        a = folder.path_aggregator()
        names = a.strings(max_depth=MAX_PATH_DEPTH)
        # per-call medians of a path, from the call graph's aggregator (same path texts when
        # the tasks are not split; with --by the labels differ and paths get no medians)
        meds = cg.path_medians(max_depth=MAX_PATH_DEPTH)
        for i, nm in enumerate(a.name):
            if nm < 0 or not a.calls[i]:
                continue
            e = p.paths.get(names[i])
            if e is not None:              # deeper paths merged into one "…" path
                for m, v in (("calls", a.calls[i]), ("total_ns", a.dur_ns[i]),
                             ("self_ns", a.self_ns[i])):
                    e[m] += int(v)       # (medians: of the merged histograms already)
                continue
            med = meds.get(names[i], (np.nan, np.nan))
            p.paths[names[i]] = {"calls": int(a.calls[i]), "total_ns": int(a.dur_ns[i]),
                                 "self_ns": int(a.self_ns[i]), "median_ns": med[0],
                                 "median_self_ns": med[1]}
    else:
        # stacks: inclusive weight of a path = weight of the stacks that start with it
        for stack, w in p.folded.items():
            frames = stack.split(";")
            if len(frames) > MAX_PATH_DEPTH:
                frames = frames[:MAX_PATH_DEPTH] + [DEEPER]
            key = ""
            for d, f in enumerate(frames):
                key = f if not d else key + ";" + f
                e = p.paths.setdefault(key, {"samples": 0, "weight": 0, "self_weight": 0})
                e["weight"] += w
            p.paths[key]["self_weight"] += w


MAX_PATH_DEPTH = 512   # deeper than any real kernel or user stack (recursion aside)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (NaN kept)."""
    out = np.full(len(p), np.nan)
    ok = ~np.isnan(p)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    m = len(order)
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


NOISE_FLOOR = 0.05     # σ0 on the log scale: run-to-run timing noise of a few % is not seen
# a time figure whose mean moved by less is not called significant, whatever its p-value: a
# few hundred ns of self time (tracing overhead, cache and page-fault luck of a short call)
# differ between any two sets of runs, consistently enough for a t-test on the logarithm
MIN_DELTA_NS = 1000


def _welch(a: np.ndarray, b: np.ndarray, floor: float = NOISE_FLOOR,
           exact: bool = True) -> np.ndarray:
    """Two-sided moderated Welch t-test p-value per row of (rows, runs) arrays (log values).

    Each side's variance gets ``floor**2`` added (the "fudge factor" of SAM, Tusher et al.
    2001): with three runs a side can be nearly identical by chance, and an unmoderated test
    then calls a 1 % difference significant. Rows without variance on either side are decided
    exactly (equal means: p = 1, else p = 0) when ``exact`` (counts); times are never
    decided that way (two sides can agree to the ns by chance: the floor then speaks). Rows
    with a missing value (NaN) get NaN; NaN with fewer than 2 runs on a side."""
    from scipy import stats
    n = len(a)
    na, nb = a.shape[1], b.shape[1]
    if na < 2 or nb < 2:
        return np.full(n, np.nan)
    va, vb = a.var(axis=1, ddof=1), b.var(axis=1, ddof=1)
    ma, mb = a.mean(axis=1), b.mean(axis=1)
    p = np.full(n, np.nan)
    flat = (a.max(axis=1) == a.min(axis=1)) & (b.max(axis=1) == b.min(axis=1))
    missing = np.isnan(a).any(axis=1) | np.isnan(b).any(axis=1)
    flat &= ~missing & exact
    p[flat] = np.where(a[flat, 0] == b[flat, 0], 1.0, 0.0)
    r = ~flat & ~missing
    if r.any():
        sa, sb = (va[r] + floor ** 2) / na, (vb[r] + floor ** 2) / nb
        t = (mb[r] - ma[r]) / np.sqrt(sa + sb)
        df = (sa + sb) ** 2 / (sa ** 2 / (na - 1) + sb ** 2 / (nb - 1))
        p[r] = 2 * stats.t.sf(np.abs(t), df)
    return p


def compare(base: list[Profile], new: list[Profile], level: str = "function",
            alpha: float = 0.05, min_delta_ns: int = MIN_DELTA_NS) -> pd.DataFrame:
    """One row per function (``level="function"``) or call path (``"path"``), union of both
    sides: base / new figures (mean over runs), change, relative change, status, and with
    several runs per side the standard deviations, p-values and ``significant`` (p < alpha
    for some figure, and for time figures a change of at least ``min_delta_ns``)."""
    sources = {p.source for p in base + new}
    if len(sources) > 1:
        raise UsageError("cannot compare traced calls with stack samples "
                         f"({', '.join(p.path + ': ' + p.source for p in base + new)})")
    source = sources.pop()
    metrics = CALL_METRICS if source == "calls" else STACK_METRICS
    if source == "stacks" and level == "path":
        metrics = ("weight", "self_weight")
    attr = "functions" if level == "function" else "paths"
    keys = sorted({k for p in base + new for k in getattr(p, attr)}, key=str)
    rows = {"key": keys}

    def matrix(side, m):
        miss = np.nan if m in MEDIAN_METRICS else 0
        return np.array([[getattr(p, attr).get(k, {}).get(m, miss) for p in side]
                         for k in keys], dtype=np.float64).reshape(len(keys), len(side))
    present_b = np.array([any(k in getattr(p, attr) for p in base) for k in keys], bool)
    present_n = np.array([any(k in getattr(p, attr) for p in new) for k in keys], bool)
    multi = len(base) > 1 and len(new) > 1
    sig_any = np.zeros(len(keys), bool)
    names = [k[1] if isinstance(k, tuple) else k for k in keys]
    path_leaf = [str(k).rsplit(";", 1)[-1] for k in names]
    # off-CPU rows (docs/diff.md): how often the scheduler switched is not the program's
    # doing (calls never flag them), and being pre-empted is the machine's (never flagged)
    off_cpu = np.array([n.startswith(OFF_CPU_PREFIX) for n in path_leaf], bool)
    preempted = np.array([n.startswith(OFF_CPU_PREFIX) and "pre-empted" in n
                          for n in path_leaf], bool)
    for m in metrics:
        a, b = matrix(base, m), matrix(new, m)
        ma, mb = a.mean(axis=1), b.mean(axis=1)
        rows[f"base_{m}"] = ma
        rows[f"new_{m}"] = mb
        rows[f"delta_{m}"] = mb - ma
        with np.errstate(all="ignore"):
            rows[f"rel_{m}"] = np.where(ma != 0, (mb - ma) / np.where(ma != 0, ma, 1),
                                        np.where(mb != 0, np.inf, 0.0))
        if multi:
            rows[f"base_{m}_sd"] = a.std(axis=1, ddof=1)
            rows[f"new_{m}_sd"] = b.std(axis=1, ddof=1)
            # on the logarithm: run-to-run noise in timings is multiplicative
            p = _holm(_welch(np.log1p(np.maximum(a, 0)), np.log1p(np.maximum(b, 0)),
                             exact=not m.endswith("_ns")))
            rows[f"p_{m}"] = p
            sig = np.nan_to_num(p, nan=1.0) < alpha
            if m.endswith("_ns"):
                with np.errstate(invalid="ignore"):
                    sig &= np.abs(mb - ma) >= min_delta_ns
            else:
                sig &= ~off_cpu
            sig_any |= sig & ~preempted
    df = pd.DataFrame(rows)
    if level == "function" and keys and isinstance(keys[0], tuple):
        df.insert(0, "group", [k[0] for k in keys])
        df["key"] = [k[1] for k in keys]
    changed = np.zeros(len(keys), bool)
    for m in metrics:
        changed |= df[f"delta_{m}"].to_numpy() != 0
    status = np.where(~present_b, "added", np.where(~present_n, "removed",
                                                    np.where(changed, "changed", "same")))
    df["status"] = status
    if multi:
        df["significant"] = sig_any
    df.attrs.update(source=source, level=level, runs=(len(base), len(new)), alpha=alpha,
                    min_delta_ns=min_delta_ns, metrics=metrics)
    return df.rename(columns={"key": "function" if level == "function" else "path"})


IMPACT = {"calls": "total_ns", "stacks": "weight"}


def sort_rows(df: pd.DataFrame, sort: str = "impact") -> pd.DataFrame:
    """impact (|change| of total time or weight), or total, self, calls, rel, name."""
    if df.empty:
        return df
    src = df.attrs.get("source", "calls")
    name_col = "function" if "function" in df.columns else "path"
    m = {"impact": IMPACT[src], "total": IMPACT[src],
         "self": "self_ns" if src == "calls" else "self_weight",
         "calls": "calls" if src == "calls" else "samples"}.get(sort)
    if m is not None and f"delta_{m}" not in df.columns:
        raise UsageError(f"--sort {sort}: not available for this table")
    attrs = dict(df.attrs)
    if sort == "name":
        out = df.sort_values(name_col, kind="stable")
    elif sort == "rel":
        key = df[f"rel_{IMPACT[src]}"].abs().replace(np.inf, np.finfo(float).max)
        out = df.assign(_k=key).sort_values(["_k", name_col], ascending=[False, True],
                                            kind="stable").drop(columns="_k")
    elif m is not None:
        out = df.assign(_k=df[f"delta_{m}"].abs()).sort_values(
            ["_k", name_col], ascending=[False, True], kind="stable").drop(columns="_k")
    else:
        raise UsageError(f"--sort: impact, total, self, calls, rel or name, not {sort!r}")
    out = out.reset_index(drop=True)
    out.attrs.update(attrs)
    return out


def diff_folded(base: list[Profile], new: list[Profile], normalize: bool = False) -> list[str]:
    """difffolded.pl's output: "stack base_weight new_weight" (mean over runs, integers);
    ``normalize`` scales the base weights so that both totals are equal, as ``-n`` does."""
    keys = sorted({k for p in base + new for k in p.folded})
    b = {k: sum(p.folded.get(k, 0) for p in base) / len(base) for k in keys}
    n = {k: sum(p.folded.get(k, 0) for p in new) / len(new) for k in keys}
    t1, t2 = sum(b.values()), sum(n.values())
    out = []
    for k in keys:
        w1, w2 = b[k], n[k]
        if normalize and t1 and t1 != t2:
            w1 = int(w1 * t2 / t1)          # truncated, as difffolded.pl -n does
        out.append(f"{k} {int(round(w1))} {int(round(w2))}")
    return out
