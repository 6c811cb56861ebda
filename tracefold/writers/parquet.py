"""Parquet writer: streaming row groups, schema version and read statistics in the metadata."""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from ..schema import SCHEMA, SCHEMA_VERSION
from .base import Writer


@dataclass
class ParquetOptions:
    # constant string columns added after the schema's (a dataset's ``source`` and labels,
    # docs/dataset.md); the rows are the same
    columns: dict | None = None


class ParquetWriter(Writer):
    name = "parquet"
    binary = True
    description = "the normalized call-event table (docs/schema.md)"
    Options = ParquetOptions

    def begin(self):
        self._spool = None
        path = self.tmp
        if path is None:            # stdout: Parquet needs a seekable file, spool it
            self._spool = tempfile.NamedTemporaryFile(suffix=".parquet")
            path = self._spool.name
        self._path = path
        # integer columns (line numbers, times, durations, ids) mostly grow or repeat: delta
        # encoding stores them in a fraction of the space of dictionary / plain pages, and
        # writes faster (bench/README.md); strings keep dictionary pages
        ints = [f.name for f in SCHEMA if pa.types.is_integer(f.type)]
        self._extra = dict(self.o.columns or {})
        self._schema = SCHEMA
        for name in self._extra:
            self._schema = self._schema.append(pa.field(name, pa.string()))
        self._writer = pq.ParquetWriter(
            path, self._schema, compression="zstd",
            use_dictionary=[f.name for f in self._schema if f.name not in ints],
            column_encoding={c: "DELTA_BINARY_PACKED" for c in ints},
            # min/max statistics where filters use them; on stacks, texts and maps they only
            # cost time (a fifth of the write for perf samples)
            write_statistics=ints + ["format", "kind", "event", "name", "comm", "status"])

    # Row groups are encoded and compressed in a thread (Arrow releases the GIL), one table
    # behind the caller: on a second core the writing overlaps the reading of the next chunk.
    _thread = None

    def write(self, table: pa.Table):
        table = table.cast(SCHEMA) if table.schema != SCHEMA else table
        for name, value in self._extra.items():
            table = table.append_column(name, pa.array([value] * table.num_rows, pa.string()))
        from ..readers import pipeline
        if pipeline.SERIAL:             # one core per conversion: no writer thread
            self._writer.write_table(table, row_group_size=1 << 20)
            return
        self._wait()
        import threading
        self._error = None
        self._thread = threading.Thread(target=self._write_group, args=(table,),
                                        name="tracefold-parquet", daemon=True)
        self._thread.start()

    def _write_group(self, table):
        try:
            self._writer.write_table(table, row_group_size=1 << 20)
        except BaseException as e:          # raised in the caller's thread (_wait)
            self._error = e

    def _wait(self):
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            if self._error is not None:
                raise self._error

    def end(self):
        self._wait()
        # key/value metadata must be known when the footer is written
        self._writer.add_key_value_metadata({
            "tracefold.schema_version": SCHEMA_VERSION,
            "tracefold.info": json.dumps(self.info),
        })
        self._writer.close()
        if self._spool is not None:
            with open(self._path, "rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            self._spool.close()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and getattr(self, "_writer", None) is not None:
            if self._thread is not None:
                self._thread.join()
            try:
                self._writer.close()
            except Exception:
                pass
        return super().__exit__(exc_type, exc, tb)
