"""The errors tracefold reports to the user as one line (no traceback). Light: the command
line imports them before anything heavy."""


class InputError(Exception):
    """A problem with the input that the user must fix; printed as one line, no traceback."""

    def __init__(self, path, message, line=None):
        self.path, self.message, self.line = str(path), message, line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")

    def __reduce__(self):           # raised in a worker process, re-raised in the main one
        return (InputError, (self.path, self.message, self.line))


class OutputError(Exception):
    """An output could not be written (full disk, read-only or missing folder …): nothing was
    committed, an existing file at ``path`` is unchanged."""

    def __init__(self, path, message):
        self.path, self.message = str(path), message
        super().__init__(f"{path}: {message}")

    def __reduce__(self):
        return (OutputError, (self.path, self.message))


class UsageError(ValueError):
    """A bad option or option value (exit status 2 on the command line). Our own errors about
    what the user asked for are this type; any other ValueError (from Arrow, numpy …) is an
    internal error, never reported as a usage error."""
