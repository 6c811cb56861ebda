"""Parquet writer: streaming row groups, schema version and read statistics in the metadata."""
from __future__ import annotations

import json
import shutil
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from ..schema import SCHEMA, SCHEMA_VERSION
from .atomic import AtomicFile


class ParquetWriter:
    suffix = ".parquet"

    def __init__(self, target):
        self.target = str(target)
        self._atomic = AtomicFile(target)
        self._writer = None
        self._info = {}

    def __enter__(self):
        self.tmp = self._atomic.__enter__()
        path = self.tmp
        if self.target == "-":
            import tempfile
            self._spool = tempfile.NamedTemporaryFile(suffix=".parquet")
            path = self._spool.name
        self._path = path
        self._writer = pq.ParquetWriter(path, SCHEMA, compression="zstd")
        return self

    def write(self, table: pa.Table):
        self._writer.write_table(table.cast(SCHEMA) if table.schema != SCHEMA else table,
                                 row_group_size=1 << 20)

    def set_info(self, info: dict):
        self._info = info

    def __exit__(self, exc_type, exc, tb):
        try:
            if self._writer is not None:
                # key/value metadata must be known when the footer is written
                self._writer.add_key_value_metadata({
                    "tracefold.schema_version": SCHEMA_VERSION,
                    "tracefold.info": json.dumps(self._info),
                })
                self._writer.close()
            if self.target == "-" and exc_type is None:
                with open(self._path, "rb") as f:
                    shutil.copyfileobj(f, sys.stdout.buffer)
        finally:
            self._atomic.__exit__(exc_type, exc, tb)
        return False
