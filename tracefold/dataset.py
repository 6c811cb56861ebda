"""Many traces, one dataset (docs/dataset.md): a folder of Parquet files, one per input trace,
under hive-style partitions of its labels, and a manifest. Conversions run in this process,
in local worker processes (``jobs``) or as tasks on a Dask distributed cluster
(``scheduler``); each input's file is written the same way wherever it runs (temporary file,
then rename), so the dataset is the same bytes whichever way it was made.

Analyses over a dataset run per source trace (a trace's calls nest by its own line numbers)
and merge the per-source results: in this process, or mapped over the same engines."""
from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from . import storage
from .errors import InputError, UsageError

MANIFEST = "_tracefold.json"
DATASET_VERSION = 1
# files in a folder of inputs that are not trace text (binary recordings, outputs, notes)
NOT_TRACES = (".parquet", ".json", ".svg", ".png", ".html", ".md", ".pdf", ".dat", ".data",
              ".py", ".c", ".sh")


# ---------------------------------------------------------------------- inputs and labels
def expand_inputs(args) -> list[str]:
    """Paths, globs and directories (every file under them but hidden ones and those whose
    suffix says they are no trace text, NOT_TRACES) → input paths, sorted, each once."""
    out = []
    for a in args:
        a = str(a)
        if storage.is_url(a):
            if any(c in a for c in "*?["):
                out += storage.glob(a)
            elif storage.isdir(a):
                out += [u for u in storage.find(a) if _is_trace_name(u.rsplit("/", 1)[-1])]
            else:
                out.append(a)
        elif os.path.isdir(a):
            for root, dirs, files in os.walk(a):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out += [os.path.join(root, f) for f in sorted(files) if _is_trace_name(f)]
        elif any(c in a for c in "*?["):
            hits = sorted(glob.glob(a, recursive=True))
            if not hits:
                raise UsageError(f"{a}: no file matches")
            out += [h for h in hits if os.path.isfile(h)]
        else:
            out.append(a)
    return list(dict.fromkeys(out))


def _is_trace_name(name: str) -> bool:
    return not name.startswith(".") and not name.lower().endswith(NOT_TRACES)


_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _reserved() -> set:
    """Names a label cannot have: the dataset's ``source`` and the schema's columns."""
    from .schema import SCHEMA
    return {"source", *SCHEMA.names}


def _check_label(name: str, option: str):
    if not _LABEL.match(name) or name in _reserved():
        raise UsageError(f"{option}: {name!r} cannot be a label name (letters, digits, _; not "
                         "source or a column of the schema such as kind, name, comm)")


def parse_labels(text: str | None) -> dict:
    """``host=web1,build=123`` → {"host": "web1", "build": "123"}."""
    out = {}
    for part in (p.strip() for p in (text or "").split(",") if p.strip()):
        k, eq, v = part.partition("=")
        if not eq:
            raise UsageError(f"--label: NAME=VALUE[,NAME=VALUE…], not {part!r}")
        _check_label(k.strip(), "--label")
        out[k.strip()] = v.strip()
    return out


def label_pattern(pattern: str | None):
    """``{host}/{date}/*.txt`` → a function giving the labels of a path (matched against
    the end of the path: ``{name}`` is one path component or part of one, ``*`` any text
    within a component, ``**`` any components), or None when the path does not match."""
    if not pattern:
        return None
    rx, names = "", []
    for tok in re.split(r"(\{[^}]*\}|\*\*|\*|\?)", pattern):
        if tok.startswith("{") and tok.endswith("}"):
            name = tok[1:-1]
            _check_label(name, "--label-from")
            rx += f"(?P<{name}>[^/]+?)"
            names.append(name)
        elif tok == "**":
            rx += ".*"
        elif tok == "*":
            rx += "[^/]*"
        elif tok == "?":
            rx += "[^/]"
        else:
            rx += re.escape(tok)
    if not names:
        raise UsageError("--label-from: the pattern names no label ({name})")
    compiled = re.compile(r"(?:^|/)" + rx + r"$")

    def labels(path: str):
        m = compiled.search(path.replace(os.sep, "/"))
        return m.groupdict() if m else None
    return labels


# ---------------------------------------------------------------------- conversion
@dataclass
class Task:
    source: str                     # the input as given
    labels: dict = field(default_factory=dict)
    file: str = ""                  # its Parquet file, relative to the dataset folder


def file_for(source: str, labels: dict, partition_by) -> str:
    """The relative path of a source's file: its partitions, then its name and a hash of the
    source (two inputs with one name in different folders stay apart)."""
    parts = [f"{k}={quote(labels[k], safe='')}" for k in partition_by]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(source)) or "input"
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    return "/".join(parts + [f"{stem}-{digest}.parquet"])


def file_hash(path: str) -> str:
    h = hashlib.sha256()
    with storage.open_read(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def convert_one(task: Task, out_dir: str, fmt: str | None, partition_by) -> dict:
    """Convert one input into its dataset file (written to a temporary name, then renamed:
    a worker killed mid-task leaves no partial file). Returns its manifest entry, or
    ``{"source", "error"}`` for an input that cannot be converted."""
    from . import api
    from .errors import OutputError
    path = task.source
    target = storage.join(out_dir, task.file)
    remote = storage.is_url(target)
    try:
        columns = {"source": task.source}
        columns.update({k: v for k, v in task.labels.items() if k not in partition_by})
        if remote:                      # written here, uploaded whole when complete
            import tempfile
            with tempfile.TemporaryDirectory(prefix="tracefold-ds-") as tmp:
                local = os.path.join(tmp, "part.parquet")
                info = api.convert(path, local, fmt, columns=columns)
                storage.upload(local, target)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            info = api.convert(path, target, fmt, columns=columns)
        size = storage.size(path)
        digest = file_hash(path)
    except (InputError, OutputError, UsageError, OSError) as e:
        return {"source": task.source, "error": str(e)}
    info.pop("notes", None)
    info.pop("path", None)
    return {"source": task.source, "file": task.file, "labels": task.labels, "size": size,
            "sha256": digest, "info": info}


def run_tasks(fn, items, jobs: int = 1, scheduler: str | None = None):
    """``fn(item)`` for every item, yielding (item, result, error) as they finish: in this
    process, in ``jobs`` local processes, or on the Dask distributed cluster at
    ``scheduler`` (tcp://HOST:PORT). A task whose worker dies is an error, not a crash."""
    items = list(items)
    if scheduler:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise UsageError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
        with Client(scheduler, timeout="30s") as client:
            futures = client.map(fn, items, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            for fut in as_completed(futures):
                item = items[index[fut.key]]
                try:
                    yield item, fut.result(), None
                except Exception as e:          # a killed worker, an error in the task
                    yield item, None, e
        return
    if jobs > 1 and len(items) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed as done
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as ex:
            futures = {ex.submit(fn, it): it for it in items}
            for fut in done(futures):
                try:
                    yield futures[fut], fut.result(), None
                except Exception as e:          # BrokenProcessPool: a worker died
                    yield futures[fut], None, e
        return
    for it in items:
        try:
            yield it, fn(it), None
        except (InputError, UsageError) as e:
            yield it, None, e


class _Convert:
    """A picklable ``convert_one`` with its fixed arguments (for processes and Dask).
    ``serial``: each conversion on one core — the workers share the cores, so a conversion's
    own threads (parse, read-ahead, writer) would only compete with the other workers."""

    def __init__(self, out_dir, fmt, partition_by, serial=False):
        self.out_dir, self.fmt, self.partition_by = out_dir, fmt, tuple(partition_by)
        self.serial = serial

    def __call__(self, task):
        if self.serial:
            from .readers.pipeline import set_serial
            set_serial()
        return convert_one(task, self.out_dir, self.fmt, self.partition_by)


def convert_many(inputs, out_dir, fmt=None, labels=None, label_from=None, partition_by=(),
                 jobs: int = 1, scheduler: str | None = None, resume: bool = False,
                 progress=None) -> dict:
    """Convert ``inputs`` (paths, globs, directories) into the dataset ``out_dir``.
    ``labels``: {name: value} for every input; ``label_from``: a pattern giving labels from
    each path; ``partition_by``: label names whose values become hive partitions.
    ``resume``: inputs already in the dataset with the same size and content hash are
    skipped. Returns {"converted", "skipped", "failed": [(source, error)], "inputs"}."""
    from . import __version__
    from .schema import SCHEMA_VERSION
    paths = expand_inputs(inputs)
    if not paths:
        raise UsageError("no input")
    tasks, failed = _tasks(paths, labels, label_from, partition_by)
    storage.makedirs(out_dir)
    old = read_manifest(out_dir) if storage.exists(storage.join(out_dir, MANIFEST)) else None
    kept = {}
    if old is not None:
        kept = {e["source"]: e for e in old["inputs"]}
    todo = [t for t in tasks if not (resume and _unchanged(t, kept.get(t.source), out_dir))]
    skipped = len(tasks) - len(todo)
    entries = {s: e for s, e in kept.items() if s not in {t.source for t in todo}}
    fn = _Convert(out_dir, fmt, partition_by, serial=bool(scheduler) or jobs > 1)
    for task, res, err in run_tasks(fn, todo, jobs, scheduler):
        if err is not None:
            failed.append((task.source, f"{type(err).__name__}: {err}"))
        elif "error" in res:
            failed.append((task.source, res["error"]))
        else:
            entries[task.source] = res
        if progress:
            progress(task.source, err or (res or {}).get("error"))
    _drop_failed(entries, failed, out_dir)
    _remove_parts(out_dir)
    write_manifest(out_dir, {"tracefold_version": __version__,
                             "schema_version": SCHEMA_VERSION,
                             "dataset_version": DATASET_VERSION,
                             "partition_by": list(partition_by),
                             "inputs": [entries[s] for s in sorted(entries)]})
    return {"converted": len(todo) - sum(1 for s, _ in failed if s in {t.source for t in todo}),
            "skipped": skipped, "failed": failed, "inputs": len(paths)}


def _tasks(paths, labels, label_from, partition_by):
    """(a Task per input with its labels and file, [(input, why)] of those without)."""
    fixed = dict(labels or {})
    pattern = label_pattern(label_from)
    tasks, failed = [], []
    for p in paths:
        lab = dict(fixed)
        if pattern is not None:
            got = pattern(p)
            if got is None:
                failed.append((p, f"does not match --label-from {label_from!r}"))
                continue
            lab.update(got)
        missing = [k for k in partition_by if k not in lab]
        if missing:
            raise UsageError(f"--partition-by {','.join(missing)}: {p} has no such label "
                             "(--label or --label-from gives labels)")
        tasks.append(Task(p, lab, file_for(p, lab, partition_by)))
    return tasks, failed


def _unchanged(t: Task, e: dict | None, out_dir) -> bool:
    """Whether the dataset holds ``t`` already (--resume): same file and labels, the file
    there, the input of the same size and content hash."""
    return e is not None and e.get("file") == t.file and e.get("labels") == t.labels \
        and storage.exists(storage.join(out_dir, t.file)) and storage.exists(t.source) \
        and storage.size(t.source) == e.get("size") and file_hash(t.source) == e.get("sha256")


def _drop_failed(entries, failed, out_dir):
    """Failed inputs leave the manifest; one converted before loses its old file too (it no
    longer stands for the input)."""
    for src, _ in failed:
        stale = entries.pop(src, None)
        if stale is not None and not storage.is_url(out_dir):
            try:
                os.unlink(os.path.join(out_dir, stale["file"]))
            except OSError:
                pass


def _remove_parts(out_dir):
    """Every task is over: temporaries left in the dataset by a worker killed mid-task (or
    by one the pool stopped after it) are removed. One conversion into a dataset at a time:
    a worker on another machine has a process id that means nothing here."""
    from .writers.atomic import is_part
    if storage.is_url(out_dir):
        return                          # uploads are whole objects: nothing to remove
    for root, _, files in os.walk(out_dir):
        for f in files:
            if is_part(f):
                try:
                    os.unlink(os.path.join(root, f))
                except OSError:
                    pass


# ---------------------------------------------------------------------- manifest
def read_manifest(path) -> dict:
    try:
        with storage.open_read(storage.join(path, MANIFEST)) as f:
            return json.loads(f.read().decode())
    except (OSError, ValueError) as e:
        raise InputError(path, f"not a tracefold dataset ({MANIFEST}: {e})") from None


def write_manifest(path, manifest: dict):
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    if storage.is_url(path):
        import tempfile
        with tempfile.TemporaryDirectory(prefix="tracefold-ds-") as tmp:
            local = os.path.join(tmp, MANIFEST)
            with open(local, "w") as f:
                f.write(text)
            storage.upload(local, storage.join(path, MANIFEST))
        return
    from .writers.atomic import write_text
    write_text(os.path.join(path, MANIFEST), text)


def is_dataset(path) -> bool:
    if isinstance(path, Run) or not isinstance(path, (str, os.PathLike)):
        return False
    if storage.is_url(path):
        try:
            return storage.exists(storage.join(path, MANIFEST))
        except Exception:       # an unknown protocol: not a dataset (reading it says why)
            return False
    return os.path.isdir(str(path)) and os.path.exists(os.path.join(str(path), MANIFEST))


# ---------------------------------------------------------------------- reading
def parse_where(text) -> dict:
    """``host=web1,build=1,2`` → {"host": {"web1"}, "build": {"1", "2"}} (a label's values
    after = separated by commas belong to it; a new NAME= starts the next label)."""
    out: dict = {}
    key = None
    for part in (p.strip() for p in str(text or "").split(",") if p.strip()):
        if "=" in part:
            key, _, v = part.partition("=")
            key = key.strip()
            out.setdefault(key, set()).add(v.strip())
        elif key is not None:
            out[key].add(part)
        else:
            raise UsageError(f"--where: NAME=VALUE[,VALUE…][,NAME=VALUE…], not {text!r}")
    return out


@dataclass(frozen=True)
class Run:
    """One source trace of a dataset: what analyses read as one input."""
    dataset: str
    source: str
    file: str
    labels: tuple = ()          # ((name, value), …)

    def __str__(self):
        return self.source


def runs(path, where=None) -> list[Run]:
    """The source traces of a dataset whose labels match ``where`` ({label: {values}})."""
    m = read_manifest(path)
    want = where or {}
    names = {k for e in m["inputs"] for k in e.get("labels", {})} | {"source"}
    unknown = set(want) - names
    if unknown:
        raise UsageError(f"--where {', '.join(sorted(unknown))}: not a label of {path} "
                         f"(labels: {', '.join(sorted(names))})")
    out = []
    for e in m["inputs"]:
        lab = dict(e.get("labels", {}), source=e["source"])
        if all(lab.get(k) in v for k, v in want.items()):
            out.append(Run(str(path), e["source"], e["file"],
                           tuple(sorted(e.get("labels", {}).items()))))
    return out


def file_of(run: Run) -> str:
    """The path or URL of a source trace's Parquet file."""
    return storage.join(run.dataset, run.file)


def _open_file(run: Run):
    path = file_of(run)
    return storage.open_read(path) if storage.is_url(path) else path


def first_time(run: Run):
    """The smallest timestamp of a source trace (its Parquet statistics), or None."""
    import pyarrow.parquet as pq
    md = pq.ParquetFile(_open_file(run)).metadata
    col = md.schema.to_arrow_schema().get_field_index("ts_ns")
    lows = []
    for i in range(md.num_row_groups):
        st = md.row_group(i).column(col).statistics
        if st is not None and st.has_min_max:
            lows.append(st.min)
    return min(lows) if lows else None


def open_dataset(path, where=None):
    """The dataset as a ``pyarrow.dataset.Dataset`` (hive partitions as columns), filtered
    by ``where`` ({label: {values}}) when given (then a filtered scanner's dataset)."""
    import pyarrow.dataset as pads
    rel = [r.file for r in runs(path, where)]
    if storage.is_url(path):
        from pyarrow.fs import FSSpecHandler, PyFileSystem
        fs, base = storage._fs(path)
        base = base.rstrip("/")
        return pads.dataset([f"{base}/{f}" for f in rel], format="parquet",
                            partitioning="hive", partition_base_dir=base,
                            filesystem=PyFileSystem(FSSpecHandler(fs)))
    return pads.dataset([os.path.join(str(path), f) for f in rel], format="parquet",
                        partitioning="hive", partition_base_dir=str(path))


def read_dataset(path, filters=None, engine: str = "dask"):
    """A dataset as a Dask DataFrame (``engine="dask"``, lazy: one partition per row group)
    or as a ``pyarrow.dataset.Dataset`` (``engine="arrow"``). ``filters``: {label: value or
    values}, or pyarrow/Dask DNF filters ([("host", "==", "web1")])."""
    where = None
    if isinstance(filters, dict):
        where = {k: ({v} if isinstance(v, str) else set(v)) for k, v in filters.items()}
        filters = None
    if engine == "arrow":
        if filters is not None:
            raise UsageError("engine='arrow': give filters as {label: values}")
        return open_dataset(path, where)
    if engine != "dask":
        raise UsageError(f"engine: dask or arrow, not {engine!r}")
    import dask.dataframe as dd
    files = [storage.join(str(path), r.file) for r in runs(path, where)]
    return dd.read_parquet(files, filters=filters, dataset={"partitioning": "hive",
                                                            "partition_base_dir": str(path)})
