"""Result tables (report, diff and fs rows: pandas DataFrames) as Parquet, JSON Lines, TSV or
CSV files, written atomically (``-`` = stdout)."""
from __future__ import annotations

import json

from .atomic import output_stream

FORMATS = ("parquet", "jsonl", "tsv", "csv")


def jsonable(v):
    """A cell as JSON: NaN → null, ±inf → "inf" / "-inf", numpy scalars → Python."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        if v != v:
            return None
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
    return v


def write_frame(df, output: str, fmt: str):
    """``df`` to ``output`` in ``fmt`` (one of FORMATS); nothing is left behind on an error."""
    with output_stream(output, binary=fmt == "parquet") as f:
        if fmt == "parquet":
            df.to_parquet(f, index=False)
        elif fmt == "jsonl":
            for r in df.to_dict(orient="records"):
                f.write(json.dumps({k: jsonable(v) for k, v in r.items()}) + "\n")
        else:
            df.to_csv(f, sep="\t" if fmt == "tsv" else ",", index=False, lineterminator="\n")
