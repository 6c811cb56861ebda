"""The Python API; the CLI only calls these."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Callable, Iterator

import pyarrow as pa

from . import dataset, readers
from .schema import SCHEMA
from .readers.order import InputOrder
from .readers import pipeline
from .readers.pipeline import jobs_for, parsed_chunks
from .source import InputError, iter_chunks, prefetch


@dataclass
class ReadResult:
    format: str
    stats: dict
    source: str | None = None      # the original trace (for Parquet input: the one it came from)


def iter_tables(path, format: str | None = None, progress: Callable[[int], None] | None = None,
                result: ReadResult | None = None, chunk_bytes: int | None = None
                ) -> Iterator[pa.Table]:
    """Stream the normalized table of one input as a sequence of Arrow tables (one per chunk
    of about ``chunk_bytes`` of text, the reader's ``CHUNK_BYTES`` by default; the result never
    depends on it)."""
    if str(path) == "-" or _is_pipe(path):
        # stdin or a FIFO is read twice (format sniffing, then parsing): spool it to a
        # temporary file (removed when done, also on Ctrl-C)
        import shutil
        import sys
        import tempfile
        name = "<stdin>" if str(path) == "-" else str(path)
        with tempfile.NamedTemporaryFile(prefix="tracefold-stdin-") as tmp:
            if str(path) == "-":
                shutil.copyfileobj(sys.stdin.buffer, tmp)
            else:
                with open(path, "rb") as src:
                    shutil.copyfileobj(src, tmp)
            tmp.flush()
            try:
                yield from iter_tables(tmp.name, format, progress, result, chunk_bytes)
            except InputError as e:
                raise InputError(name, e.message, e.line) from None
        return
    if format == "parquet" or _is_parquet(path):
        yield from _parquet_tables(path, result)
        return
    fmt = format or readers.guess_format(path)
    reader = readers.get_reader(fmt)(path)
    order = InputOrder()
    chunks = iter_chunks(path, hold=reader.hold, chunk_bytes=chunk_bytes or reader.CHUNK_BYTES,
                         progress=progress)
    try:
        # chunks stitched (nesting) in a thread one table ahead of the row order and the
        # writer here: the work that releases the GIL overlaps (not with worker processes:
        # they are forked from the thread that stitches, before any other thread starts)
        jobs = jobs_for(path, reader)
        stitched = _stitched(reader, chunks, jobs)
        for t, open_min in (prefetch(stitched) if jobs == 1 and not pipeline.SERIAL
                            else stitched):
            for out in order.push(t, open_min):
                reader.stats.add_table(out)
                yield out
    finally:
        order.close()
    st = reader.stats
    if st.unrecognized and (st.lines == st.unrecognized or (format and not st.event_lines)):
        first = st.first_unrecognized[0][0] if st.first_unrecognized else 1
        raise InputError(path, f"no event in {st.lines} lines read as {fmt} "
                               f"({st.unrecognized} unrecognized); wrong --from?", line=first)
    if result is not None:
        result.format = fmt
        result.stats = reader.stats.as_dict()


def _is_parquet(path) -> bool:
    """A Parquet file, known by its content (magic bytes "PAR1"), whatever its name."""
    from . import storage
    try:
        with storage.open_read(path) as f:
            return f.read(4) == b"PAR1"
    except (OSError, ValueError, InputError):
        return False


def _parquet_tables(path, result):
    """The rows of a Parquet file tracefold wrote (a local path or URL; its schema's columns
    only: a dataset's file has source and label columns after them), and in ``result`` the
    format and statistics of the conversion that wrote it."""
    import pyarrow.parquet as pq
    from . import storage
    try:
        pf = pq.ParquetFile(storage.open_read(path) if storage.is_url(path) else path)
    except Exception as e:
        raise InputError(path, f"not a readable Parquet file: {e}") from None
    meta = pf.metadata.metadata or {}
    if b"tracefold.schema_version" not in meta:
        raise InputError(path, "Parquet file was not written by tracefold (no schema version)")
    names = set(pf.schema_arrow.names)
    columns = [c for c in SCHEMA.names if c in names]
    for i in range(pf.num_row_groups):
        yield pf.read_row_group(i, columns=columns)
    if result is not None:
        info = json.loads(meta.get(b"tracefold.info", b"{}"))
        result.format = info.get("format", "?")
        result.stats = info.get("stats", {})
        result.source = info.get("source")


def read_arrow(path, format: str | None = None) -> pa.Table:
    """The normalized call-event table of a trace file as one Arrow table."""
    tables = list(iter_tables(path, format))
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def read(path, format: str | None = None):
    """The normalized call-event table of a trace file as a pandas DataFrame. The dtypes do
    not depend on the file (docs/schema.md): integer columns are pandas' nullable ``Int64`` /
    ``Int32`` (a missing value is ``pd.NA``, never a float NaN that loses nanoseconds beyond
    2^53), ``format`` / ``kind`` / ``status`` are ``category``, the other columns ``object``."""
    return to_pandas(read_arrow(path, format))


def to_pandas(table: pa.Table):
    """A normalized Arrow table as a DataFrame with the dtypes of ``read()``."""
    import pandas as pd
    ints = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}
    table = table.cast(SCHEMA) if table.schema != SCHEMA else table
    return table.to_pandas(types_mapper=ints.get)


def info(path, format: str | None = None) -> dict:
    """Counts for one input: every line is an event line, skipped for a reason, or unrecognized."""
    res = ReadResult("?", {})
    for _ in iter_tables(path, format, result=res):
        pass
    out = {"path": str(path), "format": res.format}
    out.update(res.stats)
    return out


def convert(path, output, format: str | None = None, progress=None, to: str | None = None,
            filters=None, force: bool = False, **options) -> dict:
    """Convert one input to ``output`` (format from ``to`` or the extension: parquet, folded,
    chrome, …), streaming and atomically. ``filters`` is an analysis.filters.Filters;
    ``options`` go to the writer. An output that is the input file itself is refused unless
    ``force`` (the input is read whole before the new file replaces it). Returns the info dict,
    with the writer's ``notes`` and ``rows_written`` (the rows the filters left)."""
    from . import writers
    from .analysis.filters import RowFilter
    if not force:
        _not_the_input(path, output)
    fmt_out = writers.format_for(str(output), to)
    if dataset.is_dataset(path):
        return _dataset_timeline(path, output, fmt_out, filters, options.pop("where", None),
                                 options)
    W = writers.get_writer(fmt_out)
    rf = RowFilter(filters, wall=getattr(W, "timeline", False)) \
        if filters is not None and filters.active() else None
    res = ReadResult("?", {})
    written = 0
    with W(output, **options) as w:
        for t in iter_tables(path, format, progress=progress, result=res):
            if rf is not None:
                t = rf(t)
            if t.num_rows:
                w.write(t)
                written += t.num_rows
        out = {"path": str(path), "format": res.format, "rows_written": written}
        out.update(res.stats)
        w.set_info({"format": res.format, "source": res.source or str(path), "stats": res.stats})
    out["notes"] = dict(w.notes)
    return out


def _dataset_timeline(path, output, fmt_out, filters, where, options) -> dict:
    """Chrome JSON of a dataset: every source trace as processes of its own (pids and tids
    moved to a range per trace, names prefixed ``[k]``, the trace's own per-CPU tracks), each
    trace starting at 0 unless ``absolute_ts``."""
    from . import writers
    from .analysis.filters import RowFilter
    from .errors import UsageError
    from .writers.chrome import MAX_TRACES, as_own_processes
    if fmt_out != "chrome":
        raise UsageError(f"a dataset converts to folded stacks, SVG or Chrome JSON, not "
                         f"{fmt_out} (its Parquet files are the tables; `tracefold graph` "
                         "draws its call graph)")
    runs = dataset.runs(path, where)
    if len(runs) > MAX_TRACES:
        raise UsageError(f"Chrome JSON of at most {MAX_TRACES} traces ({len(runs)} "
                         "here; --where chooses)")
    W = writers.get_writer(fmt_out)
    rf = RowFilter(filters, wall=True) if filters is not None and filters.active() else None
    written = 0
    with W(output, **options) as w:
        for k, run in enumerate(runs):
            t0 = None if options.get("absolute_ts") else dataset.first_time(run)
            for t in _tables(run):
                if rf is not None:
                    t = rf(t)
                if t.num_rows:
                    w.write(as_own_processes(t, k, t0))
                    written += t.num_rows
        w.set_info({"format": "tracefold-dataset", "source": str(path),
                    "stats": {"traces": len(runs)}})
    return {"path": str(path), "format": "dataset", "rows_written": written,
            "events": written, "notes": dict(w.notes)}


def _stitched(reader, chunks, jobs):
    """(rows of each chunk in input order, the smallest line still open after it), then the
    rows the reader holds at the end (with None)."""
    from .readers.base import drain_out_of_range
    drain_out_of_range()
    for parsed, st, oor in parsed_chunks(reader, chunks, jobs,
                                         None if pipeline.SERIAL else prefetch):
        if st is not None:
            reader.stats.merge(st)
        t = reader.stitch(parsed)
        n = drain_out_of_range() + oor
        if n:
            reader.stats.warnings["numbers too long for their column read as missing"] += n
        yield t, reader.open_min_line()
    yield reader.finish(), None


def _is_pipe(path) -> bool:
    import os
    import stat
    try:
        return stat.S_ISFIFO(os.stat(str(path)).st_mode)
    except OSError:
        return False


def _not_the_input(path, output):
    """Refuse an output that is the input file itself (also through links): the conversion
    would replace the trace it reads."""
    import os
    from .writers.atomic import OutputError
    if str(output) == "-" or str(path) == "-" or not os.path.exists(str(output)):
        return
    try:
        same = os.path.samefile(str(path), str(output))
    except OSError:
        return
    if same:
        raise OutputError(output, "is the input file; refusing to replace it (choose another "
                                  "-o, or --force)")


def _tables(source, format=None, result: ReadResult | None = None):
    """Normalized tables of a path, Parquet file, Arrow table, DataFrame or a source trace
    of a dataset (dataset.Run)."""
    if isinstance(source, dataset.Run):
        yield from _parquet_tables(dataset.file_of(source), result)
        return
    if isinstance(source, pa.Table):
        yield source
        return
    if hasattr(source, "to_parquet"):            # a pandas DataFrame
        yield pa.Table.from_pandas(source, schema=SCHEMA, preserve_index=False)
        return
    yield from iter_tables(source, format, result=result)


def _filtered(source, format, filters, result: ReadResult | None = None):
    """Tables of a path, Parquet file, Arrow table or DataFrame, filtered."""
    from .analysis.filters import RowFilter
    rf = RowFilter(filters) if filters is not None and filters.active() else None
    for t in _tables(source, format, result):
        if rf is not None:
            t = rf(t)
        if t.num_rows:
            yield t


def callgraph(source, format: str | None = None, per_thread: bool = False, filters=None,
              where=None, jobs: int = 1, scheduler: str | None = None):
    """The call graph of a trace (path, Parquet file, Arrow table or DataFrame) as an
    ``nx.DiGraph``: a node per function (per thread and function with ``per_thread``) with
    calls, total / self / avg / min / max ns, or sample weights; an edge caller → callee with
    calls and inclusive time (see analysis.callgraph.CallGraphBuilder). A dataset's graph
    merges the graphs of its source traces (``where``, ``jobs``, ``scheduler`` as for
    report)."""
    fn = functools.partial(_graph_part, format=format, per_thread=per_thread, filters=filters)
    if dataset.is_dataset(source):
        from .analysis.callgraph import merge_graphs
        return merge_graphs((g for _, g in _each_run(dataset.runs(source, where), fn, jobs,
                                                     scheduler)), ordered=True)
    return fn(source)


def _graph_part(source, format, per_thread, filters):
    from .analysis.callgraph import CallGraphBuilder
    b = CallGraphBuilder(per_thread)
    for t in _filtered(source, format, filters):
        b.add(t)
    return b.graph()


def report(source, format: str | None = None, per_thread: bool = False, filters=None,
           sort: str = "total", threshold: float | None = None, where=None, jobs: int = 1,
           scheduler: str | None = None):
    """Per-function table like ``uftrace report``: calls, total, self, avg, min, max (ns) and
    total% / self% for traced calls; weight (inclusive), self_weight, samples and their
    shares for stack samples. A recursive function's total counts its outermost calls only;
    avg is the mean duration of its calls. ``sort``: keys separated by commas (``self,calls``;
    figures descending, names ascending). Keys naming sample attributes (``comm,dso,sym``)
    group the samples as ``perf report`` does (overhead = share of the weight). ``threshold``:
    leave out rows whose share (of the first sort key) is below that percent. Returns a
    pandas DataFrame (``attrs["source"]``: calls, stacks, entries or sample groups).

    ``source`` may be a dataset folder (docs/dataset.md): its source traces matching
    ``where`` ({label: {values}}) are read one by one — in this process, in ``jobs`` local
    processes or on the Dask cluster at ``scheduler`` — and their figures merged."""
    from .analysis import report as R
    keys = R.parse_keys(sort)
    grouping = R.is_grouping(keys)
    if dataset.is_dataset(source):
        fn = functools.partial(_report_part, format=None, per_thread=per_thread,
                               filters=filters, keys=tuple(keys) if grouping else None)
        parts = (res for _, res in _each_run(dataset.runs(source, where), fn, jobs, scheduler))
        if grouping:
            df = R.SampleGroups.merge(parts, keys)
        else:
            rows, src = R.merge_rows(parts)
            df = R.function_table(rows, src, keys)
        return R.threshold(df, threshold, keys)
    if grouping:
        df = R.SampleGroups.merge([_report_part(source, format, per_thread, filters,
                                                tuple(keys))], keys)
    else:
        rows, src = _report_part(source, format, per_thread, filters, None)
        df = R.function_table(rows, src, keys)
    return R.threshold(df, threshold, keys)


def _report_part(source, format, per_thread, filters, keys):
    """One input's report figures before sorting: (rows, source kind), or with sample-group
    ``keys`` the grouped sums (a DataFrame) — what a dataset merges over its traces."""
    from .analysis import report as R
    if keys is not None:
        g = R.SampleGroups(keys)
        for t in _filtered(source, format, filters):
            g.add(t)
        return g.sums()
    from .analysis.callgraph import CallGraphBuilder
    b = CallGraphBuilder(per_thread)
    for t in _filtered(source, format, filters):
        b.add(t)
    return b.report()


def _map_runs(path, where, fn, jobs=1, scheduler=None) -> list:
    """``fn(run)`` for every source trace of a dataset, the results in source order; an
    input that fails stops it with its name."""
    runs = dataset.runs(path, where)
    out = {}
    for run, res in _each_run(runs, fn, jobs, scheduler):
        out[run] = res
    return [out[r] for r in runs]


def _each_run(runs, fn, jobs=1, scheduler=None):
    """(run, ``fn(run)``) as the tasks finish (any order): for results merged as they come,
    so that memory holds the merge, not every trace's result."""
    for run, res, err in dataset.run_tasks(fn, runs, jobs, scheduler):
        if err is not None:
            if isinstance(err, InputError):
                raise err
            raise InputError(run.source, f"{type(err).__name__}: {err}")
        yield run, res


def fold(source, format: str | None = None, filters=None, where=None, jobs: int = 1,
         scheduler: str | None = None, **options):
    """Folded stacks of a trace or of a dataset's source traces (merged: weights of equal
    stacks added), with ``options`` as ``convert -o x.folded`` takes them. Returns (an
    iterator of the lines in stack order, the unit of the weights). Over a dataset, each
    trace's stacks wait sorted in a temporary file as its task finishes and the files are
    merged as the lines are read: memory holds one trace's stacks, not the dataset's."""
    if options.get("flamechart"):
        from .errors import UsageError
        raise UsageError("--flamechart follows one trace's time: not over a dataset")
    fn = functools.partial(_fold_part, format=format, filters=filters, options=options)
    if not dataset.is_dataset(source):
        counts, unit = fn(source)
        return iter([f"{k} {v}" for k, v in sorted(counts.items()) if v > 0]), unit
    import tempfile
    spills, units = [], set()
    try:
        for _, (counts, unit) in _each_run(dataset.runs(source, where), fn, jobs, scheduler):
            units.add(unit)
            f = tempfile.TemporaryFile("w+", encoding="utf-8", prefix="tracefold-fold-")
            f.writelines(f"{k} {v}\n" for k, v in sorted(counts.items()))
            f.seek(0)
            spills.append(f)
            del counts
    except BaseException:
        for f in spills:
            f.close()
        raise
    unit = units.pop() if len(units) == 1 else ("samples" if not units else "mixed units")
    return _merged_lines(spills), unit


def _merged_lines(files):
    """Sorted "stack weight" lines of several files, equal stacks added (then closed)."""
    import heapq
    try:
        key, total = None, 0
        for ln in heapq.merge(*files, key=lambda x: x.rstrip("\n").rpartition(" ")[0]):
            k, _, w = ln.rstrip("\n").rpartition(" ")
            if k != key:
                if key is not None and total > 0:
                    yield f"{key} {total}"
                key, total = k, 0
            total += int(w)
        if key is not None and total > 0:
            yield f"{key} {total}"
    finally:
        for f in files:
            f.close()


def _fold_part(source, format, filters, options):
    from .analysis.folded import FoldOptions, Folder
    folder = Folder(FoldOptions(**options))
    res = ReadResult("?", {})
    for t in _filtered(source, format, filters, result=res):
        folder.add(t)
    folder.finish(res.stats.get("lines"))
    counts = {}
    for ln in folder.iter_lines():
        k, _, w = ln.rpartition(" ")
        counts[k] = counts.get(k, 0) + int(w)
    return counts, folder.unit()


def profile(source, format: str | None = None, group=None, filters=None,
            level: str = "path"):
    """One run's figures for ``diff`` (analysis.diff.Profile): read, filtered, folded by the
    same code as ``convert -o x.folded``; per-path figures only for ``level="path"``."""
    from .analysis.diff import profile as _profile
    res = ReadResult("?", {})
    return _profile(_filtered(source, format, filters, result=res), str(source), group,
                    input_lines=lambda: res.stats.get("lines"), paths=level == "path")


def _profiles(side, format, group, filters, level, where, jobs, scheduler) -> list:
    """The profiles of one side's runs: each trace, and each source trace of a dataset."""
    side = side if isinstance(side, (list, tuple)) else [side]
    out = []
    for x in side:
        fn = functools.partial(profile, format=format, group=group, filters=filters,
                               level=level)
        if dataset.is_dataset(x):
            out += _map_runs(x, where, fn, jobs, scheduler)
        else:
            out.append(fn(x))
    return out


def diff(base, new, format: str | None = None, level: str = "function", group=None,
         filters=None, alpha: float = 0.05, sort: str = "impact", min_delta_ns: int = 1000,
         where=None, jobs: int = 1, scheduler: str | None = None):
    """Compare runs: ``base`` and ``new`` are a trace (path, Parquet, table), a dataset (each
    of its source traces is one run) or a list of them (several runs per side). Returns a
    pandas DataFrame, one row per function (or call path with ``level="path"``); change =
    new − base. With several runs per side a row is ``significant`` when a figure's p-value
    is below ``alpha`` (and, for times, it moved by ``min_delta_ns`` or more). ``group``:
    comm or tid (rows per task), or a dataset label: one comparison per value of it (the
    runs of that value on each side), in a ``group`` column. See analysis/diff.py."""
    from .analysis.diff import compare, sort_rows
    label = _label_group(base, new, group)
    if label is not None:
        return _diff_by_label(base, new, label, format, level, filters, alpha, sort,
                              min_delta_ns, where, jobs, scheduler)
    pb = _profiles(base, format, group, filters, level, where, jobs, scheduler)
    pn = _profiles(new, format, group, filters, level, where, jobs, scheduler)
    return sort_rows(compare(pb, pn, level=level, alpha=alpha, min_delta_ns=min_delta_ns),
                     sort)


def _label_group(base, new, group):
    """``group`` when it names a dataset label rather than comm / tid."""
    if group in (None, "comm", "tid"):
        return None
    sides = [x for s in (base, new) for x in (s if isinstance(s, (list, tuple)) else [s])]
    if not all(dataset.is_dataset(x) for x in sides):
        from .errors import UsageError
        raise UsageError(f"--by {group}: comm, tid, or a label of the datasets compared")
    return group


def _diff_by_label(base, new, label, format, level, filters, alpha, sort, min_delta_ns,
                   where, jobs, scheduler):
    import pandas as pd
    from .analysis.diff import compare, sort_rows
    b_side = base if isinstance(base, (list, tuple)) else [base]
    n_side = new if isinstance(new, (list, tuple)) else [new]
    values = sorted({dict(r.labels).get(label) for x in b_side + n_side
                     for r in dataset.runs(x, where)} - {None})
    frames = []
    for v in values:
        w = dict(where or {}, **{label: {v}})
        pb = _profiles(b_side, format, None, filters, level, w, jobs, scheduler)
        pn = _profiles(n_side, format, None, filters, level, w, jobs, scheduler)
        if pb and pn:
            df = sort_rows(compare(pb, pn, level=level, alpha=alpha,
                                   min_delta_ns=min_delta_ns), sort)
            frames.append(df.assign(group=v))
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(frames[0].attrs)
    return out


def diff_folded(base, new, format: str | None = None, group=None, filters=None,
                normalize: bool = False, where=None, jobs: int = 1,
                scheduler: str | None = None):
    """Differential folded stacks of runs (``base`` / ``new``: a trace, a dataset or a list
    of them, several runs averaged), as difffolded.pl writes them: ("stack base new" lines,
    the unit of the weights: ns of self time for calls, else samples). ``normalize``: base
    weights scaled to the new total (difffolded.pl -n)."""
    from .analysis.diff import diff_folded as _diff_folded
    pb = _profiles(base, format, group, filters, "function", where, jobs, scheduler)
    pn = _profiles(new, format, group, filters, "function", where, jobs, scheduler)
    unit = "ns" if all(p.source == "calls" for p in pb + pn) else "samples"
    return _diff_folded(pb, pn, normalize), unit


def convert_many(inputs, output, format: str | None = None, labels=None, label_from=None,
                 partition_by=(), jobs: int = 1, scheduler: str | None = None,
                 resume: bool = False, progress=None) -> dict:
    """Convert many traces into a Parquet dataset (docs/dataset.md); see
    tracefold.dataset.convert_many."""
    return dataset.convert_many(inputs, output, format, labels, label_from, partition_by,
                                jobs, scheduler, resume, progress)


def read_dataset(path, filters=None, engine: str = "dask"):
    """A dataset as a Dask DataFrame (or, ``engine="arrow"``, a pyarrow dataset); see
    tracefold.dataset.read_dataset."""
    return dataset.read_dataset(path, filters, engine)


def fs(source, format: str | None = None, rules=None, filters=None, keep_rows: bool = False,
       where=None, jobs: int = 1, scheduler: str | None = None):
    """The file-system layer view of a trace (see analysis/fs.py): an FsResult with the
    syscall instances, per-syscall layer figures, unknown functions and layer stacks (and the
    layer-run tree of every instance with ``keep_rows``, for the Chrome export). A dataset's
    view adds up those of its source traces (``where``, ``jobs``, ``scheduler`` as for
    report)."""
    from .analysis.fs import Rules, merge_results
    rules = Rules(rules) if not isinstance(rules, Rules) else rules
    fn = functools.partial(_fs_part, format=format, rules=rules, filters=filters,
                           keep_rows=keep_rows)
    if dataset.is_dataset(source):
        if keep_rows:
            from .errors import UsageError
            raise UsageError("Chrome JSON of a dataset's layers: not made (one trace at a time)")
        return merge_results(_map_runs(source, where, fn, jobs, scheduler))
    return fn(source)


def _fs_part(source, format, rules, filters, keep_rows):
    from .analysis.fs import FsAnalyzer
    a = FsAnalyzer(rules, keep_rows)
    for t in _filtered(source, format, filters):
        a.add(t)
    return a.result()
