"""The console script's first code: signal handling before anything heavy is imported, so
that Ctrl-C or SIGTERM at any moment ends with one line and no output (never a traceback)."""
import signal
import sys


class Terminated(KeyboardInterrupt):
    """SIGTERM: unwinds like Ctrl-C (outputs not committed, temporaries removed)."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv=None):
    own_process = argv is None
    if own_process:
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from .cli import main as cli_main
        return cli_main(argv)
    except KeyboardInterrupt as e:
        term = isinstance(e, Terminated)
        sys.stderr.write(f"tracefold: {'terminated' if term else 'interrupted'}; "
                         "no output written\n")
        sys.exit(143 if term else 130)
