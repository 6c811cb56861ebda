"""Every input and output format, one entry each: its name and where its class lives.

Adding a format is one entry here (plus the reader's grammar, module and golden folder).
Nothing heavy is imported until a format is used, so the command line starts fast."""
from __future__ import annotations

import importlib

# input formats: name -> "module:class" (a Reader; its grammar is tracefold/grammars/*.lark)
READERS = {
    "ftrace": "tracefold.readers.ftrace:FtraceReader",
    "trace-cmd": "tracefold.readers.trace_cmd:TraceCmdReader",
    "uftrace": "tracefold.readers.uftrace:UftraceReader",
    "perf-script": "tracefold.readers.perf_script:PerfScriptReader",
    "folded": "tracefold.readers.folded:FoldedReader",
    "strace": "tracefold.readers.strace:StraceReader",
    "bpftrace": "tracefold.readers.bpftrace:BpftraceReader",
    "bcc": "tracefold.readers.bcc:BccReader",
}

# writers of the event table: name -> "module:class"
WRITERS = {
    "parquet": "tracefold.writers.parquet:ParquetWriter",
    "folded": "tracefold.writers.folded:FoldedWriter",
    "chrome": "tracefold.writers.chrome:ChromeWriter",
    "graphml": "tracefold.writers.graph:GraphMLWriter",
    "dot": "tracefold.writers.graph:DotWriter",
    "svg": "tracefold.writers.svg:SvgWriter",
}

# every output format and the suffixes that select it (the one table: the writers above,
# and the table formats of report / diff / fs results, tracefold/writers/table.py)
OUTPUTS = {
    "parquet": (".parquet",),
    "folded": (".folded", ".collapsed"),
    "chrome": (".json",),
    "graphml": (".graphml",),
    "dot": (".dot", ".gv"),
    "svg": (".svg",),
    "jsonl": (".jsonl",),
    "tsv": (".tsv",),
    "csv": (".csv",),
}


def load(spec: str):
    """The class a registry entry names."""
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)
