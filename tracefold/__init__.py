"""tracefold: offline trace-file analyzer and converter."""
from . import _memory

_memory.tune()
from .api import callgraph, convert, diff, fs, info, iter_tables, read, read_arrow, report
from .schema import SCHEMA, SCHEMA_VERSION

__version__ = "0.1.0"
__all__ = ["read", "read_arrow", "info", "convert", "iter_tables", "callgraph", "report", "diff", "fs",
           "SCHEMA", "SCHEMA_VERSION"]
