"""tracefold: offline trace-file analyzer and converter."""
from .api import convert, info, iter_tables, read, read_arrow
from .schema import SCHEMA, SCHEMA_VERSION

__version__ = "0.1.0"
__all__ = ["read", "read_arrow", "info", "convert", "iter_tables", "SCHEMA", "SCHEMA_VERSION"]
