"""Running the tracefold of another checkout (`--code DIR` of the benchmarks: a "before"
column). An editable install maps the package through an import finder that PYTHONPATH does
not override, so that finder is dropped and the checkout put first on the path."""
import sys

_CHOOSE = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path "
           "if 'editable' not in repr(f).lower()]; sys.path.insert(0, {!r})")


def use_here(path: str):
    """Make this process import tracefold from ``path`` (before anything imports it)."""
    exec(_CHOOSE.format(str(path)))


def cli(path: str) -> list:
    """The command line that runs ``path``'s tracefold CLI in a fresh Python."""
    return [sys.executable, "-c", _CHOOSE.format(str(path)) + "; import runpy; "
            "sys.argv[0] = 'tracefold'; runpy.run_module('tracefold', run_name='__main__')"]
