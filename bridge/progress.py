"""Progress of a run: what a backend worker reports to its parent, and what the parent knows of it.

A worker (:mod:`bridge.backends.worker`) writes one JSON object per line to a pipe its parent
opened (:class:`Reporter`): the **phase** (``generating code``, ``compiling``, ``building the
network``, ``integrating`` with the simulated time in ms), the simulated time **at** intervals
of at least :data:`INTERVAL_S` of wall time while integrating, **notices** (a damaged cache entry
discarded, a cache that is not writable) and the **error** that ends a failed run.  The parent
(:mod:`bridge.backends.runner`) keeps each job's :class:`Status`, from which a display
(:mod:`bridge.progress_display`) shows the phase, simulated time / total, speed and ETA.

Backends integrate in pieces so that they can report (:meth:`Reporter.stops`): pieces of about
:data:`TARGET_CHUNK_S` of wall time on the dt grid, and a single piece when nobody watches (the
Python API without a display), so a run's result never depends on whether it was watched (a test
checks this bit for bit).  This module imports nothing heavy: every worker imports it.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

#: shortest wall time (s) between two reports of the simulated time
INTERVAL_S = 0.25
#: wall time (s) a piece of integration aims at (:meth:`Reporter.stops`)
TARGET_CHUNK_S = 0.5
#: the phases, in the order a run goes through them
PHASES = ("starting", "generating code", "compiling", "building the network", "integrating", "collecting results",
          "saving the result")


class Reporter:
    """The worker's side: messages to the parent on the pipe ``fd`` (None: nobody listens; notices
    then go to ``sink``, by default standard error).  ``live``: the parent displays progress, so
    the simulated time is worth reporting (and integrating in pieces)."""

    def __init__(self, fd: int | None = None, live: bool = False):
        self.fd = fd
        self.live = live and fd is not None
        self.last = 0.0
        self.pieces = 0  # pieces of integration handed out by stops() (a run's metadata keeps it)
        self.sink: Callable[[str], None] = _stderr

    def send(self, kind: str, **fields: Any) -> None:
        """One message; a parent that is gone (closed pipe) silences the reporter."""
        if self.fd is None:
            return
        data = (json.dumps({"kind": kind, **fields}, default=str) + "\n").encode()
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:
            self.fd = None
            self.live = False

    def phase(self, name: str, total: float | None = None) -> None:
        """The run entered phase ``name`` (``total``: simulated ms, for ``integrating``)."""
        self.send("phase", phase=name, total=total)
        self.last = time.monotonic()

    def at(self, t_ms: float) -> None:
        """The integration reached ``t_ms`` (sent at most every :data:`INTERVAL_S` seconds)."""
        if self.live:
            now = time.monotonic()
            if now - self.last >= INTERVAL_S:
                self.last = now
                self.send("at", t=float(t_ms))

    def notice(self, text: str) -> None:
        """A one-line notice for the user (the parent prints it once)."""
        if self.fd is None:
            self.sink(text)
        else:
            self.send("notice", text=text)

    def stops(self, end_ms: float, dt_ms: float, start_ms: float = 0.0) -> Iterator[tuple[int, float]]:
        """Integrate from ``start_ms`` to ``end_ms`` in pieces: yields (steps done, time reached in ms)
        after each piece, on the dt grid (the last one is ``end_ms`` itself); the caller integrates
        up to that time before asking for the next.  One piece when not :attr:`live`; otherwise the
        first is 1/200 of the run and each next one aims at :data:`TARGET_CHUNK_S` of wall time
        (at most 4 times the previous), reporting the time reached after each."""
        total = max(1, int(round((end_ms - start_ms) / dt_ms)))
        if not self.live:
            self.pieces += 1
            yield total, end_ms
            return
        done, chunk = 0, max(1, total // 200)
        while done < total:
            piece = min(chunk, total - done)
            began = time.monotonic()
            done += piece
            self.pieces += 1
            reached = end_ms if done == total else start_ms + done * dt_ms
            yield done, reached
            elapsed = time.monotonic() - began
            self.at(reached)
            rate = piece / elapsed if elapsed > 0 else float("inf")
            chunk = int(max(1, min(rate * TARGET_CHUNK_S, 4 * piece)))


def _stderr(text: str) -> None:
    print(f"bridge: {text}", file=sys.stderr, flush=True)


_reporter = Reporter()


def reporter() -> Reporter:
    """This process's reporter (a worker installs one on its pipe; elsewhere notices go to stderr)."""
    return _reporter


def install(new: Reporter) -> None:
    """Make ``new`` this process's reporter (the worker, at start)."""
    global _reporter
    _reporter = new


def notice(text: str) -> None:
    """Tell the user ``text`` once (from a worker: through its parent)."""
    _reporter.notice(text)


@dataclass
class Status:
    """What the parent knows of one running job: its ``phase``, simulated time ``t`` and ``total``
    (ms), and when (``time.monotonic``) it started, entered its phase and started integrating."""

    label: str
    total: float | None = None
    phase: str = "starting"
    t: float = 0.0
    started: float = field(default_factory=time.monotonic)
    phase_started: float = field(default_factory=time.monotonic)
    integrating_started: float | None = None
    t_reported: float = 0.0  # when (time.monotonic) ``t`` was reported
    notices: list[str] = field(default_factory=list)
    #: every phase entered so far, in order (a display may not see short ones as the current phase)
    phases: list[str] = field(default_factory=lambda: ["starting"])

    def apply(self, message: dict[str, Any]) -> None:
        """Take in one message of the worker."""
        kind = message.get("kind")
        if kind == "phase":
            self.phase = str(message.get("phase"))
            self.phases.append(self.phase)
            self.phase_started = time.monotonic()
            if message.get("total") is not None:
                self.total = float(message["total"])
            if self.phase == "integrating":
                self.integrating_started, self.t = self.phase_started, 0.0
        elif kind == "at":
            self.t = float(message.get("t", self.t))
            self.t_reported = time.monotonic()
        elif kind == "notice":
            self.notices.append(str(message.get("text")))

    @property
    def elapsed(self) -> float:
        """Seconds since the job started."""
        return time.monotonic() - self.started

    def speed(self) -> float | None:
        """Simulated ms per wall second from the start of the integration to the last report of the
        simulated time (None before any)."""
        if self.integrating_started is None or self.t <= 0:
            return None
        wall = self.t_reported - self.integrating_started
        return self.t / wall if wall > 0 else None

    def eta(self) -> float | None:
        """Seconds until the integration ends at that speed (None when unknown)."""
        speed = self.speed()
        if speed is None or self.total is None:
            return None
        return max(0.0, (self.total - self.t) / speed - (time.monotonic() - self.t_reported))

    def describe(self) -> str:
        """``"integrating 450/1000 ms (45 %), 180 ms/s, ETA 3 s"`` or ``"compiling (12 s)"``."""
        if self.phase != "integrating" or self.total is None:
            return f"{self.phase} ({time.monotonic() - self.phase_started:.0f} s)"
        text = f"integrating {self.t:.6g}/{self.total:.6g} ms ({100 * self.t / self.total:.0f} %)" \
            if self.total > 0 else "integrating"
        speed, eta = self.speed(), self.eta()
        if speed is not None:
            text += f", {speed:.3g} ms/s"
        if eta is not None:
            text += f", ETA {format_seconds(eta)}"
        return text


def format_seconds(seconds: float) -> str:
    """``"42 s"``, ``"3 min 20 s"``, ``"2 h 05 min"``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


__all__ = ["Reporter", "Status", "reporter", "install", "notice", "format_seconds", "PHASES", "INTERVAL_S"]
