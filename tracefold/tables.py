"""Arrow table helpers shared by readers and analyses (a lower layer: imports only numpy,
pyarrow and the schema)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def grouped_lists(n: int, owner: np.ndarray, values_list, reverse: bool):
    """List columns of ``n`` rows from items that each name their row (``owner``, ascending
    within a row in input order): one ListArray per array in ``values_list``; rows without
    items are null. ``reverse`` flips each row's items (callchains printed innermost first)."""
    order = np.argsort(owner, kind="stable")
    owner = owner[order]
    counts = np.bincount(owner, minlength=n) if len(owner) else np.zeros(n, np.int64)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    if reverse:
        k = np.arange(len(owner)) - offsets[owner]
        perm = np.empty(len(owner), np.int64)
        perm[offsets[owner] + counts[owner] - 1 - k] = order
    else:
        perm = order
    take = pa.array(perm)
    empty = pa.array(counts == 0)
    off = pa.array(offsets.astype(np.int32))
    lists = [pa.ListArray.from_arrays(off, v.take(take), mask=empty) for v in values_list]
    return lists, offsets, counts


def last_items(lists: pa.ListArray, offsets=None, counts=None) -> pa.Array:
    """The last item of each list (a stack's leaf frame), null for empty or null rows.
    ``offsets`` / ``counts``: the lists' value offsets and lengths when already known (as
    grouped_lists gives them)."""
    if counts is None:
        counts = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
        offsets = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
    vals = lists.flatten()
    if len(vals) == 0:
        return pa.nulls(len(counts), pa.string())
    idx = np.maximum(offsets[1:] - 1, 0)
    return pc.if_else(pa.array(counts == 0), pa.nulls(len(counts), pa.string()),
                      vals.take(pa.array(idx)))
