"""tracefold: offline trace-file analyzer and converter.

The public functions (``read``, ``convert``, …, from tracefold.api) are imported on first
use, so that ``import tracefold`` (and the command line's start) stays light."""
_API = ("callgraph", "convert", "convert_many", "diff", "diff_folded", "fold", "fs", "info",
        "iter_tables", "read", "read_arrow", "read_dataset", "report", "profile", "to_pandas")
_SCHEMA = ("SCHEMA", "SCHEMA_VERSION")

__version__ = "0.1.0"
__all__ = ["read", "read_arrow", "info", "convert", "convert_many", "iter_tables", "callgraph",
           "report", "diff", "diff_folded", "fold", "fs", "read_dataset", "SCHEMA",
           "SCHEMA_VERSION"]


def __getattr__(name):
    import importlib
    if name in _API:
        return getattr(importlib.import_module("tracefold.api"), name)
    if name in _SCHEMA:
        return getattr(importlib.import_module("tracefold.schema"), name)
    if name in ("api", "schema", "readers", "writers", "analysis", "cli", "dataset"):
        return importlib.import_module(f"tracefold.{name}")
    raise AttributeError(f"module 'tracefold' has no attribute {name!r}")
