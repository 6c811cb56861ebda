"""`tracefold` command line (typer): one module per command. Thin: a command parses its
options, makes one call into tracefold.api and hands the result to a writer or prints it."""
from __future__ import annotations

import os
import re
import sys
from typing import Optional

# plain help text: typer's rich formatting alone costs ~70 ms of start-up (issue 14.6), and
# its markup would swallow "[k]" / "[j]" in the help texts
os.environ.setdefault("TYPER_USE_RICH", "0")
import typer  # noqa: E402

from .. import __version__  # noqa: E402
from .._entry import interrupted  # noqa: E402
from . import convert, diff, fs, graph, info, report  # noqa: E402,F401  (register commands)
from .common import app  # noqa: E402


def _version(value: bool):
    if value:
        typer.echo(f"tracefold {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Optional[bool] = typer.Option(None, "--version", callback=_version,
                                                  is_eager=True, help="print the version")):
    """Read ftrace / trace-cmd / uftrace / perf script text (or folded stacks) into one
    normalized call-event table and export it: Parquet, folded stacks, SVG flame graphs,
    Chrome JSON (Perfetto), call graphs, reports, diffs, the file-system layer view."""


_INT_LIST = re.compile(r"^\d+(,\d+)*$")


# a bare --pid / --tid means "tell the tasks apart" in every command: in root frames
# (convert: stackcollapse-perf.pl's flags), a row / node per thread (report, graph), a
# comparison per thread (diff)
_BARE = {"convert": lambda a: [a + "-frames"], "report": lambda a: ["--per-thread"],
         "graph": lambda a: ["--per-thread"], "diff": lambda a: ["--by", "tid"]}


def _bare(nxt) -> bool:
    """Whether --pid / --tid before ``nxt`` is the bare flag: nothing follows, an option, or
    an input file; anything else is its value (numbers, or a bad value the filter refuses)."""
    if nxt is None or _INT_LIST.match(nxt):
        return nxt is None
    return (nxt.startswith("-") and nxt != "-") or os.path.exists(nxt)


def fix_argv(argv: list[str]) -> list[str]:
    """A bare ``--pid`` / ``--tid`` (no number after it) tells the tasks apart (_BARE); with
    numbers it is the filter.
    ``diff --base a1 a2 --new b1 b2``: each run after --base / --new belongs to it."""
    out = []
    side, taken = None, 0
    for i, a in enumerate(argv):
        if a in ("--base", "--new"):
            if side is not None and not taken:
                out.append(side)        # "--base" with nothing after it: the parser complains
            side, taken = a, 0
            continue
        if side is not None:
            if not a.startswith("-") or a == "-":
                out += [side, a]
                taken += 1
                continue
            if not taken:
                out.append(side)
            side = None
        if a in ("--pid", "--tid") and _bare(argv[i + 1] if i + 1 < len(argv) else None):
            out += _BARE.get(argv[0] if argv else None, lambda a: [a])(a)
        else:
            out.append(a)
    if side is not None and not taken:
        out.append(side)
    return out


# commands whose work never needs pandas: pyarrow imports it on its first pa.array() call
# (0.15-0.25 s, a third of a small conversion), which is kept from happening for them
_NO_PANDAS = ("convert", "info", "check")


class _NoPandas:
    """Import hook: ``import pandas`` fails, so pyarrow takes it as not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not loaded for this tracefold command")
        return None


def main(argv=None):
    """The command line (the console script enters through tracefold._entry, which handles
    signals first). Called with ``argv`` (in-process, e.g. from Python) it leaves imports
    alone."""
    own_process = argv is None
    argv = fix_argv(sys.argv[1:] if argv is None else list(argv))
    cmd = next((a for a in argv if not a.startswith("-")), None)
    if own_process and cmd is not None and not {"--help", "-h"} & set(argv):
        from .. import _memory          # Arrow's allocator for this process (not for --help)
        _memory.tune()
    if own_process and cmd in _NO_PANDAS and "pandas" not in sys.modules:
        sys.meta_path.insert(0, _NoPandas())
    try:
        app(args=argv, prog_name="tracefold")
    except BrokenPipeError:
        sys.exit(141)
    except SystemExit as e:
        # typer turns a Ctrl-C or SIGTERM anywhere in a command into a silent exit 130
        ki = _interrupt_in(e)
        if ki is None:
            raise
        interrupted(ki)


def _interrupt_in(e):
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, KeyboardInterrupt):
            return e
        e = e.__cause__ or e.__context__
    return None


if __name__ == "__main__":
    main()
