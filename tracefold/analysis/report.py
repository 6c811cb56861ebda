"""Per-function and per-sample-group tables, as ``uftrace report`` and ``perf report`` give
them: figures, their share of the whole in percent, several sort keys, a threshold.

* traced calls (function_graph, uftrace …): per function calls, total / self / avg / min /
  max ns (from analysis.callgraph), ``total%`` and ``self%`` of the traced time (the sum
  of self times: every ns counted once);
* stack samples (perf …): per function weight (inclusive) and self weight, ``total%`` and
  ``self%`` of the total weight; or, grouped by the sample's ``comm``, ``dso``, ``sym`` (and
  ``pid`` / ``tid``) of its innermost frame, perf report's ``overhead`` (self weight %).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UsageError
from ..schema import SAMPLE, has_stack, kind_is

UNKNOWN = "[unknown]"       # a frame without a symbol (perf prints none, or [unknown])
# sort keys -> column, per kind of input
CALL_KEYS = {"total": "total_ns", "self": "self_ns", "calls": "calls", "avg": "avg_ns",
             "min": "min_ns", "max": "max_ns", "name": "function", "function": "function",
             "thread": "thread"}
SAMPLE_KEYS = {"total": "weight", "weight": "weight", "self": "self_weight",
               "samples": "samples", "calls": "samples", "name": "function",
               "function": "function", "thread": "thread"}
GROUP_KEYS = ("comm", "pid", "tid", "dso", "sym")
GROUP_FIGURES = {"overhead": "overhead", "samples": "samples", "weight": "weight",
                 "period": "weight"}
TEXT = ("function", "thread", "comm", "dso", "sym")


def parse_keys(text: str) -> list[str]:
    keys = [k.strip() for k in str(text).split(",") if k.strip()]
    if not keys:
        raise UsageError("--sort: give at least one key")
    return keys


def is_grouping(keys) -> bool:
    """perf report's view: the sort keys name sample attributes (comm, dso, sym …)."""
    return any(k in GROUP_KEYS for k in keys)


def function_table(rows: list[dict], source: str | None, keys: list[str]) -> pd.DataFrame:
    """The per-function rows with their shares, sorted by ``keys``."""
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["function"] = df["function"].replace("", UNKNOWN).fillna(UNKNOWN)
    if source == "stacks":
        whole = df["self_weight"].sum()
        df["total%"] = _pct(df["weight"], whole)
        df["self%"] = _pct(df["self_weight"], whole)
        table = SAMPLE_KEYS
    elif "self_ns" in df.columns:
        whole = df["self_ns"].sum()
        df["total%"] = _pct(df["total_ns"], whole)
        df["self%"] = _pct(df["self_ns"], whole)
        table = CALL_KEYS
    else:                       # function entries without durations: calls only
        table = {"total": "calls", "calls": "calls", "name": "function",
                 "function": "function", "thread": "thread"}
    df.attrs["source"] = source
    return sort_table(df, keys, table, source or "this input")


def sort_table(df: pd.DataFrame, keys, table: dict, what: str) -> pd.DataFrame:
    cols = []
    for k in keys:
        c = table.get(k)
        if c is None or c not in df.columns:
            accepted = ", ".join(k for k, c in table.items() if c in df.columns)
            raise UsageError(f"cannot sort by {k!r}: the keys for {what} are {accepted}")
        cols.append(c)
    # names ascending, figures descending; ties by name, so the order never depends on input
    tie = [c for c in ("function", "thread") + GROUP_KEYS if c in df.columns and c not in cols]
    order = cols + tie[:1]
    asc = [c in TEXT for c in order]
    attrs = dict(df.attrs)
    out = df.sort_values(order, ascending=asc, kind="stable").reset_index(drop=True)
    out.attrs.update(attrs)
    return out


def _pct(v, whole):
    return (100.0 * v / whole) if whole else v * 0.0


class SampleGroups:
    """perf report's table: samples grouped by attributes of the sample and its innermost
    frame (``comm``, ``pid``, ``tid``, ``dso``, ``sym``), with the group's share of the
    total weight (``overhead``, perf report's default column), samples and weight."""

    def __init__(self, keys):
        self.keys = [k for k in keys if k in GROUP_KEYS]
        self.parts: list[pd.DataFrame] = []

    def add(self, t: pa.Table):
        sel = pc.or_(kind_is(t, SAMPLE), has_stack(t))
        if not pc.any(sel).as_py():
            return
        t = t.filter(sel)
        cols = {"weight": pc.fill_null(t.column("weight"), 1).to_numpy().astype(np.int64)}
        if "sym" in self.keys:
            cols["sym"] = _names(t.column("name"))
        if "dso" in self.keys:
            dso = t.column("stack_dso").combine_chunks()
            n = pc.fill_null(pc.list_value_length(dso), 0).to_numpy()
            ends = np.cumsum(n) - 1
            flat = pc.list_flatten(dso)
            leaf = [None] * len(t)
            if len(flat):
                vals = flat.take(pa.array(np.maximum(ends, 0))).to_pylist()
                leaf = [v if k else None for v, k in zip(vals, n.tolist())]
            cols["dso"] = _names(pa.array(leaf, pa.string()))
        for k in ("comm", "pid", "tid"):
            if k in self.keys:
                c = t.column(k)
                cols[k] = _names(c) if k == "comm" else c.to_pandas().astype("Int64")
        self.parts.append(pd.DataFrame(cols))

    def sums(self) -> pd.DataFrame:
        """Per group: weight and samples (unsorted) — what merge() adds up."""
        cols = self.keys + ["weight", "samples"]
        if not self.parts:
            return pd.DataFrame(columns=cols)
        df = pd.concat(self.parts, ignore_index=True)
        out = df.groupby(self.keys, dropna=False, sort=False)["weight"].agg(["sum", "size"])
        return out.reset_index().rename(columns={"sum": "weight", "size": "samples"})[cols]

    def table(self, sort_keys) -> pd.DataFrame:
        return self.merge([self.sums()], sort_keys)

    @staticmethod
    def merge(parts, sort_keys) -> pd.DataFrame:
        """The table of several inputs' sums() (merged as they come): overhead, samples,
        weight per group, sorted (perf report: by overhead, unless figure keys say
        otherwise)."""
        out = None
        for p in parts:
            if not len(p):
                continue
            keys = [c for c in p.columns if c not in ("weight", "samples")]
            both = p if out is None else pd.concat([out, p], ignore_index=True)
            out = both.groupby(keys, dropna=False, sort=False)[["weight", "samples"]].sum() \
                .reset_index()
        if out is None:
            return pd.DataFrame()
        keys = [c for c in out.columns if c not in ("weight", "samples")]
        out.insert(0, "overhead", _pct(out["weight"], out["weight"].sum()))
        table = dict(GROUP_FIGURES, **{k: k for k in keys})
        figures = [k for k in sort_keys if k not in GROUP_KEYS]
        out.attrs["source"] = "sample groups"
        return sort_table(out, figures or ["overhead"], table, "sample groups")


def merge_rows(parts) -> tuple[list[dict], str | None]:
    """Per-function rows of several inputs (CallGraphBuilder.report() of each, merged as they
    come) as one: counts, totals and weights added, min / max over all, avg weighted by
    calls."""
    merged: dict = {}
    kinds = set()
    for rows, src in parts:             # one pass: parts may come from a generator
        if src:
            kinds.add(src)
        for r in rows:
            key = (r["function"], r.get("thread"))
            m = merged.get(key)
            if m is None:
                merged[key] = dict(r)
                continue
            calls = (m.get("calls") or 0) + (r.get("calls") or 0)
            if "avg_ns" in r and calls:
                m["avg_ns"] = ((m.get("avg_ns") or 0) * (m.get("calls") or 0)
                               + (r["avg_ns"] or 0) * (r.get("calls") or 0)) / calls
            for k in ("calls", "total_ns", "self_ns", "weight", "self_weight", "samples"):
                if k in r:
                    m[k] = (m.get(k) or 0) + (r[k] or 0)
            for k, f in (("min_ns", min), ("max_ns", max)):
                if r.get(k) is not None:
                    m[k] = r[k] if m.get(k) is None else f(m[k], r[k])
    source = kinds.pop() if len(kinds) == 1 else ("calls" if "calls" in kinds else
                                                  next(iter(kinds), None))
    return list(merged.values()), source


def _names(arr) -> pd.Series:
    s = arr.to_pandas() if hasattr(arr, "to_pandas") else pd.Series(arr)
    return s.replace("", UNKNOWN).fillna(UNKNOWN).astype(object)


def threshold(df: pd.DataFrame, limit: float | None, keys) -> pd.DataFrame:
    """Rows whose share is at least ``limit`` percent: the share of the first sort key that
    has one (total% for total, self% for self, overhead for groups), else total%."""
    if not limit or df.empty:
        return df
    col = None
    for k in keys:
        col = {"total": "total%", "self": "self%", "overhead": "overhead",
               "weight": "total%"}.get(k)
        if col in df.columns:
            break
        col = None
    col = col or next((c for c in ("overhead", "total%", "self%") if c in df.columns), None)
    if col is None:
        raise UsageError("--threshold: this table has no percent column")
    attrs = dict(df.attrs)
    out = df[df[col] >= limit].reset_index(drop=True)
    out.attrs.update(attrs)
    out.attrs["hidden"] = len(df) - len(out)
    return out
