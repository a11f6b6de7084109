"""Errors raised for bad model input.

Every error names the file, the field path inside it, what is wrong and what was expected, and
renders as one line: ``FILE: field.path: what is wrong (expected ...)``.  Exit codes distinguish
the kinds of failure (see :data:`EXIT_CODES`).
"""
from __future__ import annotations

#: process exit codes used by the CLI and the harness
EXIT_OK = 0                 # success; for ``bridge compare``: every compared backend agrees
EXIT_DISAGREE = 1           # ``bridge compare``: an observable disagrees, or an error does not converge
EXIT_INVALID = 2            # invalid input: model file, option, unknown backend name, ...
EXIT_UNSUPPORTED = 3        # a (required) backend cannot run the model
EXIT_BACKEND_FAILED = 4     # a backend process crashed or returned no result
EXIT_NOTHING_COMPARED = 5   # ``bridge compare``: no backend besides the reference was compared
EXIT_INTERNAL = 6           # an unexpected error inside bridge (a bug: please report it)
EXIT_INTERRUPTED = 130      # SIGINT (Ctrl-C): 128 + the signal number, as shells report it
EXIT_TERMINATED = 143       # SIGTERM (and SIGHUP: 129)

#: every exit code with its meaning (README "Exit codes")
EXIT_CODES = {
    EXIT_OK: "success (bridge compare: everything compared agrees)",
    EXIT_DISAGREE: "backends disagree (bridge compare)",
    EXIT_INVALID: "invalid input",
    EXIT_UNSUPPORTED: "unsupported on a (required) backend",
    EXIT_BACKEND_FAILED: "a backend failed",
    EXIT_NOTHING_COMPARED: "nothing was compared (bridge compare)",
    EXIT_INTERNAL: "internal error in bridge (a bug; the message says how to report it, --debug shows the traceback)",
    EXIT_INTERRUPTED: "interrupted (SIGINT, Ctrl-C): workers stopped, temporary files removed",
    EXIT_TERMINATED: "terminated (SIGTERM): workers stopped, temporary files removed",
}


class BridgeError(Exception):
    """Base class of every error bridge reports to the user without a traceback."""

    exit_code = EXIT_BACKEND_FAILED


class ModelError(BridgeError):
    """Invalid model description.

    Parameters
    ----------
    message
        What is wrong, e.g. ``"unit 'mV' has the wrong dimension"``.
    path
        Dotted field path inside the description, e.g. ``"populations.pre.parameters.tau_m"``.
    expected
        What would have been valid, e.g. ``"a time such as '10 ms'"``.
    source
        The file the description came from (or ``"<model>"`` for the Python API).
    """

    exit_code = EXIT_INVALID

    def __init__(self, message: str, path: str = "", expected: str = "", source: str = "<model>"):
        self.message = message
        self.path = path
        self.expected = expected
        self.source = source
        super().__init__(self.line())

    def line(self) -> str:
        where = f"{self.source}: " + (f"{self.path}: " if self.path else "")
        tail = f" (expected {self.expected})" if self.expected else ""
        return f"{where}{self.message}{tail}"

    def with_source(self, source: str) -> "ModelError":
        """Return a copy of this error that names ``source`` as the file."""
        return ModelError(self.message, self.path, self.expected, source)

    def __str__(self) -> str:
        return self.line()


class UnsupportedError(BridgeError):
    """A backend cannot run a model (``unsupported on <backend>: <reason>``)."""

    exit_code = EXIT_UNSUPPORTED

    def __init__(self, backend: str, reason: str):
        self.backend = backend
        self.reason = reason
        super().__init__(f"unsupported on {backend}: {reason}")


class BackendFailure(BridgeError):
    """A backend process crashed or returned no result."""

    exit_code = EXIT_BACKEND_FAILED


class LimitError(ModelError):
    """A model whose estimated cost (memory, time steps) is above a limit of :mod:`bridge.limits`:
    invalid input (exit 2), refused before anything is allocated; the message gives the estimate
    and how to raise the limit."""
