"""Signals as exceptions, so that an interrupted run cleans up on the way out.

SIGINT already arrives as :class:`KeyboardInterrupt`; :func:`handled` makes SIGTERM and SIGHUP
arrive as :class:`Terminated` (a subclass of it), so every ``finally`` block runs (temporary files
removed) and :func:`bridge.backends.runner.stop_all` can stop the worker processes.  The command
line exits with 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a
process killed by that signal.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

#: signals turned into :class:`Terminated` by :func:`handled`
TERMINATING = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP received (``signum``)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def signal_number(exc: BaseException) -> int:
    """The signal behind an interrupt: ``exc.signum`` for :class:`Terminated`, else SIGINT."""
    return int(getattr(exc, "signum", signal.SIGINT))


def signal_name(signum: int) -> str:
    """``"SIGSEGV (Segmentation fault)"`` for 11."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
    description = signal.strsignal(signum)
    return f"{name} ({description})" if description else name


def _raise(signum: int, frame) -> None:  # noqa: ARG001 - the signal-handler signature
    raise Terminated(signum)


@contextmanager
def handled() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` inside the block (main thread only; elsewhere
    the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise) for s in TERMINATING}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Ignore SIGINT, SIGTERM and SIGHUP inside the block (a second Ctrl-C while workers are being
    stopped must not leave them running); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, *TERMINATING)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
