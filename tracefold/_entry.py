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
        interrupted(e)
    finally:
        if own_process:
            # the work is over (committed or not): a signal during the interpreter's exit
            # would only print "Exception ignored …" lines
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)


def interrupted(e: KeyboardInterrupt):
    """One line for Ctrl-C (exit 130) or SIGTERM (exit 143); outputs were not committed."""
    term = isinstance(e, Terminated)
    sys.stderr.write(f"tracefold: {'terminated' if term else 'interrupted'}; "
                     "no output written\n")
    sys.exit(143 if term else 130)
