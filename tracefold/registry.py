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
}

# output formats: name -> ("module:class", output suffixes that select it)
WRITERS = {
    "parquet": ("tracefold.writers.parquet:ParquetWriter", (".parquet",)),
    "folded": ("tracefold.writers.folded:FoldedWriter", (".folded", ".collapsed")),
    "chrome": ("tracefold.writers.chrome:ChromeWriter", (".json",)),
    "graphml": ("tracefold.writers.graph:GraphMLWriter", (".graphml",)),
    "dot": ("tracefold.writers.graph:DotWriter", (".dot", ".gv")),
    "svg": ("tracefold.writers.svg:SvgWriter", (".svg",)),
}


def load(spec: str):
    """The class a registry entry names."""
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)
