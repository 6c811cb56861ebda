"""The normalized call-event table: the contract between readers, Parquet and every export.

Documented column by column in docs/schema.md; bump SCHEMA_VERSION on any change.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

SCHEMA_VERSION = "2"

# kind values
CALL = "call"          # a complete call: ts_ns (if known) + dur_ns
ENTRY = "entry"        # a function entry without a matching exit (function tracer, probes)
EXIT = "exit"          # a function return seen alone (kretprobe / uretprobe)
SAMPLE = "sample"      # a stack sample (perf) with weight
INSTANT = "instant"    # tracepoint / print / syscall event
MARKER = "marker"      # something the trace says about itself: lost events, comments
SYSCALL = "syscall"    # event of a call row that is a syscall traced from user space (strace)
KINDS = (CALL, ENTRY, EXIT, SAMPLE, INSTANT, MARKER)

# status values (null = normal)
UNCLOSED = "unclosed"  # call entered but its exit never appeared (end of trace, lost events)
NO_ENTRY = "no_entry"  # exit seen without its entry (trace started inside the call, filters)

FIELDS = [
    pa.field("line", pa.int64(), nullable=False),
    pa.field("end_line", pa.int64()),
    pa.field("format", pa.dictionary(pa.int8(), pa.string())),
    pa.field("kind", pa.dictionary(pa.int8(), pa.string())),
    pa.field("event", pa.string()),
    pa.field("name", pa.string()),
    pa.field("ts_ns", pa.int64()),
    pa.field("ts_res_ns", pa.int64()),
    pa.field("dur_ns", pa.int64()),
    pa.field("dur_res_ns", pa.int64()),
    pa.field("pid", pa.int64()),
    pa.field("tid", pa.int64()),
    pa.field("comm", pa.string()),
    pa.field("cpu", pa.int32()),
    pa.field("depth", pa.int32()),
    pa.field("parent_line", pa.int64()),
    pa.field("caller", pa.string()),
    pa.field("stack", pa.list_(pa.string())),
    pa.field("stack_addr", pa.list_(pa.string())),
    pa.field("stack_dso", pa.list_(pa.string())),
    pa.field("args", pa.string()),
    pa.field("retval", pa.string()),
    pa.field("fields", pa.map_(pa.string(), pa.string())),
    pa.field("text", pa.string()),
    pa.field("flags", pa.string()),
    pa.field("weight", pa.int64()),
    pa.field("status", pa.dictionary(pa.int8(), pa.string())),
]
SCHEMA = pa.schema(FIELDS)
NAMES = [f.name for f in FIELDS]


def table_from_columns(cols: dict, n: int | None = None) -> pa.Table:
    """Build a table in SCHEMA from a dict of column -> Arrow array / Python list
    (missing = null)."""
    if cols.get("line") is not None:
        n = len(cols["line"])
    arrays = []
    for f in FIELDS:
        v = cols.get(f.name)
        if v is None:
            arrays.append(pa.nulls(n, f.type))
            continue
        if isinstance(v, (pa.Array, pa.ChunkedArray)):
            if v.type != f.type:
                v = v.cast(f.type) if not pa.types.is_dictionary(f.type) else \
                    v.cast(pa.string()).dictionary_encode().cast(f.type)
            arrays.append(v)
        else:
            if pa.types.is_dictionary(f.type):
                arrays.append(pa.array(v, pa.string()).dictionary_encode().cast(f.type))
            else:
                arrays.append(pa.array(v, f.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


STRING = pa.string()


def choose(index: np.ndarray, values: list, type=STRING) -> pa.Array:
    """``values[index[i]]`` for each row, built without Python objects: a dictionary array of
    the few ``values`` (kept as such for dictionary columns, decoded for string ones)."""
    d = pa.DictionaryArray.from_arrays(pa.array(np.asarray(index, np.int8)),
                                       pa.array(values, pa.string()))
    return d if pa.types.is_dictionary(type) else d.cast(type)


def repeat(value: str, n: int, type=STRING) -> pa.Array:
    """``n`` copies of one string."""
    return choose(np.zeros(n, np.int8), [value], type)


# fields key of a differential folded line's base count (readers/folded.py); its weight is
# the new count
BASE_WEIGHT = "base_weight"
FORMAT_T = pa.dictionary(pa.int8(), pa.string())      # format, kind and status columns


def kind_is(t: pa.Table, kind: str):
    """Boolean mask of the rows of one kind (never null)."""
    import pyarrow.compute as pc
    return pc.fill_null(pc.equal(t.column("kind").cast(pa.string()), kind), False)


OFF_CPU_PREFIX = "linux:schedule"   # uftrace's "linux:schedule", "linux:schedule (pre-empted)"


def is_off_cpu(t: pa.Table):
    """Boolean mask of the off-CPU rows: calls that are the time a thread spent scheduled out
    (uftrace's sched events), never null."""
    import pyarrow.compute as pc
    return pc.and_(kind_is(t, CALL),
                   pc.fill_null(pc.starts_with(t.column("name"), OFF_CPU_PREFIX), False))


def has_stack(t: pa.Table):
    """Boolean mask of the rows with at least one stack frame (never null)."""
    import pyarrow.compute as pc
    return pc.fill_null(pc.greater(pc.list_value_length(t.column("stack")), 0), False)
