"""Showing the progress of running workers (the command line's display of ``run``, ``compare`` and
``sweep``).

A display gets each job's :class:`~bridge.progress.Status` from :func:`bridge.backends.runner.run_all`
and shows, for every run still going after :data:`DELAY_S` seconds, its phase (starting,
generating code, compiling, building the network, integrating) and, while integrating, the
simulated time / total, the speed (simulated ms per second) and the ETA:

* on a terminal, one ``tqdm`` progress bar per running job (:class:`BarDisplay`);
* otherwise (a log file, a pipe, CI) plain lines (:class:`LineDisplay`): one when a run enters a
  phase and, while it integrates, one at most every :data:`LINE_EVERY_S` seconds.

``$BRIDGE_PROGRESS`` chooses: ``bars``, ``lines`` or ``off`` (only the lines about finished runs);
``$BRIDGE_PROGRESS_DELAY`` and ``$BRIDGE_PROGRESS_EVERY`` (seconds) replace :data:`DELAY_S` and
:data:`LINE_EVERY_S` (a log file may want a line a minute).
A display is also called with whole lines (``display("...")``) and prints each notice of the
workers once.
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import time
from typing import Any, TextIO

from .errors import ModelError
from .progress import Status, format_seconds

#: seconds a run goes on before its progress is shown (short runs stay quiet)
DELAY_S = 2.0
#: plain lines: the shortest time between two progress lines of one integrating run
LINE_EVERY_S = 10.0


class Display:
    """Lines only: finished runs (``display(line)``) and notices, no progress of running ones."""

    #: whether running jobs are shown (the workers then report their simulated time)
    live = False

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.shown_notices: set[str] = set()

    def __call__(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def notice(self, text: str) -> None:
        """Print ``text`` (from any worker) once."""
        if text not in self.shown_notices:
            self.shown_notices.add(text)
            self(f"bridge: {text}")

    def started(self, job: Any) -> None:
        """``job`` (a :class:`~bridge.backends.runner.Job`) started."""

    def update(self, job: Any) -> None:
        """``job``'s status may have changed."""
        for text in job.status.notices:
            self.notice(text)

    def finished(self, job: Any) -> None:
        """``job`` ended."""
        self.update(job)

    def close(self) -> None:
        """Remove whatever is still shown."""


class LineDisplay(Display):
    """Plain progress lines (not a terminal): ``nest: integrating 450/1000 ms (45 %), 180 ms/s, ETA 3 s``."""

    live = True

    def __init__(self, stream: TextIO | None = None, delay: float = DELAY_S, every: float = LINE_EVERY_S):
        super().__init__(stream)
        self.delay, self.every = delay, every
        self.shown: dict[int, tuple[int, float]] = {}  # job -> (phases shown, time of its last line)

    def update(self, job: Any) -> None:
        super().update(job)
        status: Status = job.status
        if status.elapsed < self.delay or job.stopping:
            return
        shown, last = self.shown.get(id(job), (0, 0.0))
        now = time.monotonic()
        if shown:  # phases passed through since the last line (once the delay is over)
            for phase in status.phases[shown:-1]:
                self(f"{status.label}: {phase}")
        if len(status.phases) > shown or (status.phase == "integrating" and now - last >= self.every):
            self(f"{status.label}: {status.describe()}")
            self.shown[id(job)] = (len(status.phases), now)

    def finished(self, job: Any) -> None:
        super().finished(job)
        self.shown.pop(id(job), None)


class BarDisplay(Display):
    """One ``tqdm`` bar per running job (a terminal)."""

    live = True

    def __init__(self, stream: TextIO | None = None, delay: float = DELAY_S):
        super().__init__(stream)
        self.delay = delay
        self.bars: dict[int, Any] = {}

    def __call__(self, line: str) -> None:
        from tqdm import tqdm

        tqdm.write(line, file=self.stream)

    def update(self, job: Any) -> None:
        super().update(job)
        status: Status = job.status
        if status.elapsed < self.delay or job.stopping:
            return
        bar = self.bars.get(id(job))
        if bar is None:
            from tqdm import tqdm

            sized = _columns(self.stream) > 0  # a terminal that reports no size gets the default width
            bar = self.bars[id(job)] = tqdm(
                total=status.total or None, unit="ms", file=self.stream, leave=False, dynamic_ncols=sized,
                ncols=None if sized else shutil.get_terminal_size().columns,
                nrows=None if sized else shutil.get_terminal_size().lines,
                bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.6g}/{total:.6g} ms{postfix}")
        bar.n = min(status.t, status.total or status.t) if status.phase == "integrating" else 0
        bar.set_description_str(f"{status.label}: {status.phase}", refresh=False)
        speed, eta = status.speed(), status.eta()
        if status.phase != "integrating":
            bar.set_postfix_str(f"{time.monotonic() - status.phase_started:.0f} s", refresh=False)
        else:
            bar.set_postfix_str(", ".join(([f"{speed:.3g} ms/s"] if speed else [])
                                          + ([f"ETA {format_seconds(eta)}"] if eta is not None else [])),
                                refresh=False)
        bar.refresh()

    def finished(self, job: Any) -> None:
        super().finished(job)
        bar = self.bars.pop(id(job), None)
        if bar is not None:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def _columns(stream: TextIO) -> int:
    """Width of the terminal ``stream`` writes to (0 when it reports none)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


def for_stream(stream: TextIO | None = None) -> Display:
    """The display for ``stream`` (default standard error): bars on a terminal, lines otherwise;
    ``$BRIDGE_PROGRESS`` (``bars``, ``lines``, ``off``) overrides the choice."""
    stream = stream or sys.stderr
    choice = os.environ.get("BRIDGE_PROGRESS", "").strip().lower()
    if choice not in ("", "bars", "lines", "off"):
        raise ModelError(f"{choice!r} is not a kind of progress display", "BRIDGE_PROGRESS", "bars, lines or off",
                         "environment")
    delay, every = _seconds("BRIDGE_PROGRESS_DELAY", DELAY_S), _seconds("BRIDGE_PROGRESS_EVERY", LINE_EVERY_S)
    if choice == "off":
        return Display(stream)
    if choice == "lines":
        return LineDisplay(stream, delay, every)
    terminal = hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM", "") != "dumb"
    return BarDisplay(stream, delay) if choice == "bars" or terminal else LineDisplay(stream, delay, every)


def _seconds(variable: str, default: float) -> float:
    """A number of seconds >= 0 from the environment variable ``variable`` (``default`` when unset)."""
    text = os.environ.get(variable)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ModelError(f"{text!r} is not a number of seconds", variable, "a number of seconds >= 0", "environment")
    return value


__all__ = ["Display", "LineDisplay", "BarDisplay", "for_stream", "DELAY_S", "LINE_EVERY_S"]
