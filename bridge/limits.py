"""Resource limits: the cost of a model is estimated while it is validated, before anything large
is allocated, and a model above a limit is refused (:class:`~bridge.errors.LimitError`, exit 2)
with the estimate in the message.

Two limits, each overridable:

* **memory** (``--max-memory SIZE``, ``$BRIDGE_MAX_MEMORY``; default: the machine's physical
  memory): the estimated peak memory of one backend run, summed over the model's parts as they are
  read: cells, connections (counted from the rule before a single pair is drawn), input spikes
  (Poisson trains: size x rate x time, before they are drawn), recorded samples and NEST threads,
  each at the per-item cost below (measured: see the constants);
* **time steps** (``--max-steps N``, ``$BRIDGE_MAX_STEPS``; default :data:`DEFAULT_MAX_STEPS`):
  ``duration / dt``, refused before the grid is checked (``dt: 1e-300 ms`` would never finish).

From Python::

    from bridge import limits
    with limits.using(max_memory="64 GiB", max_steps=10**10):
        model = bridge.load("big.yaml")

The estimate of a loaded model is ``model.estimate`` (:class:`Estimate`).
"""
from __future__ import annotations

import math
import os
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator

from .errors import LimitError, ModelError

#: bytes per connection: NEURON's NetCon with its weight vector is the largest (measured 350 B per
#: synapse with the 16k-cell E/I network, benchmarks/results/scaling.md; NEST 110 B, Brian2 50 B),
#: plus the (source, target) pair bridge draws
BYTES_PER_CONNECTION = 400
#: bytes per cell (a NEURON point process in its host section, a NEST node, Brian2's state arrays)
BYTES_PER_CELL = 2048
#: bytes per input spike: bridge's train, its copy in the job file, the simulator's queue or vector
BYTES_PER_INPUT_SPIKE = 32
#: bytes per injection pulse of a reaction network (its pulse object and the simulator's switch events)
BYTES_PER_PULSE = 512
#: bytes per recorded value (one variable of one cell at one sample time): the simulator's buffer,
#: bridge's result array and the copy it saves; measured with 8e6 values of one cell (worker's peak
#: memory): Brian2 104 B (its StateMonitor's growing arrays), NEST 74, the reference 17, NEURON 12
BYTES_PER_SAMPLE = 112
#: bytes per recorded value and time step: NEURON's fixed step records every step (and takes the
#: samples after the run), so a value sampled every ``interval`` costs this much per step meanwhile
BYTES_PER_STEP_VALUE = 8
#: bytes per time step of a DC stimulus: Brian2 holds its amplitude for every step (a TimedArray)
BYTES_PER_DC_STEP = 8
#: bytes of a worker before the model: the interpreter and a simulator (measured: NEST 85 MiB,
#: NEURON 43 MiB, Brian2 145 MiB warm and up to 380 MiB while it compiles)
BYTES_BASE = 200 << 20
#: bytes per NEST thread (measured 0.75 MiB each, 1024 threads: 0.8 GB)
BYTES_PER_THREAD = 1 << 20
#: the default limit of time steps per run (duration / dt)
DEFAULT_MAX_STEPS = 10**9
#: the most threads a model may ask for (NEST crashes allocating a million)
MAX_THREADS = 1024

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")


def physical_memory() -> int:
    """Bytes of physical memory of this machine (8 GiB when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def parse_size(text: str | int | float, field: str = "--max-memory", source: str = "command line") -> int:
    """Bytes of ``"8 GiB"``, ``"500MB"``, ``"2e9"`` (bytes), or a number of bytes."""
    expected = "a positive size such as '8 GiB', '500 MB' or a number of bytes"
    if isinstance(text, bool):
        raise ModelError(f"{text!r} is not a size", field, expected, source)
    if isinstance(text, (int, float)):
        number, unit = float(text), ""
    else:
        match = _SIZE.match(str(text))
        if match is None or match.group(2).lower() not in _UNITS:
            raise ModelError(f"{text!r} is not a size", field, expected, source)
        number, unit = float(match.group(1)), match.group(2).lower()
    size = number * _UNITS[unit]
    if not (math.isfinite(size) and size >= 1):
        raise ModelError(f"{text!r} is not a positive size", field, expected, source)
    return int(size)


def parse_count(text: str | int | float, field: str = "--max-steps", source: str = "command line") -> int:
    """A positive whole number from ``"1e10"``, ``"5000000"`` or a number."""
    try:
        number = float(text) if not isinstance(text, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number >= 1 and number == int(number)):
        raise ModelError(f"{text!r} is not a positive whole number", field, "a number of steps such as 1e10", source)
    return int(number)


def format_bytes(size: float) -> str:
    """``"1.5 GiB"``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size:.0f} B"


@dataclass(frozen=True)
class Limits:
    """``max_memory`` (bytes) and ``max_steps`` (time steps per run) of one run."""

    max_memory: int
    max_steps: int

    @classmethod
    def default(cls) -> "Limits":
        """From ``$BRIDGE_MAX_MEMORY`` / ``$BRIDGE_MAX_STEPS``, else the machine's physical memory and
        :data:`DEFAULT_MAX_STEPS`."""
        memory = os.environ.get("BRIDGE_MAX_MEMORY")
        steps = os.environ.get("BRIDGE_MAX_STEPS")
        return cls(parse_size(memory, "BRIDGE_MAX_MEMORY", "environment") if memory else physical_memory(),
                   parse_count(steps, "BRIDGE_MAX_STEPS", "environment") if steps else DEFAULT_MAX_STEPS)


_current: ContextVar[Limits | None] = ContextVar("bridge_limits", default=None)


def current() -> Limits:
    """The limits in force (:func:`using`, else :meth:`Limits.default`)."""
    return _current.get() or Limits.default()


@contextmanager
def using(limits: Limits | None = None, *, max_memory: str | int | None = None,
          max_steps: str | int | None = None) -> Iterator[Limits]:
    """Limits in force inside the block: ``limits``, or the current ones with ``max_memory`` (a size,
    e.g. ``"64 GiB"``) and/or ``max_steps`` replaced."""
    base = limits or current()
    chosen = Limits(parse_size(max_memory, "max_memory", "<call>") if max_memory is not None else base.max_memory,
                    parse_count(max_steps, "max_steps", "<call>") if max_steps is not None else base.max_steps)
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


@dataclass
class Estimate:
    """The estimated cost of a model, accumulated while it is read: ``steps`` (duration / dt), counts
    of ``cells``, ``connections``, ``input_spikes`` and recorded ``samples`` (values), and
    ``bytes`` (:data:`BYTES_BASE` plus their memory at the per-item costs above, plus NEST's
    threads); ``pulses``: injection pulses of a reaction network."""

    steps: float = 0.0
    cells: float = 0.0
    connections: float = 0.0
    input_spikes: float = 0.0
    samples: float = 0.0
    pulses: float = 0.0
    bytes: float = BYTES_BASE
    parts: list[tuple[str, float]] = field(default_factory=list)

    def summary(self) -> str:
        """``"1e+04 steps, 2 cells, 1 connections, 20 input spikes, 2e+04 samples: about 1.2 MiB"``."""
        parts = [f"{self.steps:.3g} steps"] + [f"{value:.3g} {name.replace('_', ' ')}" for name, value in
                                              (("cells", self.cells), ("connections", self.connections),
                                               ("input_spikes", self.input_spikes), ("pulses", self.pulses))
                                              if value]
        return f"{', '.join(parts)}, {self.samples:.3g} samples: about {format_bytes(self.bytes)}"


class Budget:
    """Counts a model's cost part by part (:class:`Estimate`) and refuses it, naming the field that
    crossed a limit, as soon as it is above one (so that nothing larger is allocated)."""

    def __init__(self, source: str, limits: Limits | None = None):
        self.source = source
        self.limits = limits or current()
        self.estimate = Estimate()
        if self.limits.max_memory < BYTES_BASE:
            raise LimitError(f"the memory limit of {format_bytes(self.limits.max_memory)} is below the "
                             f"{format_bytes(BYTES_BASE)} any run needs", "", f"a limit of at least "
                             f"{format_bytes(BYTES_BASE)} (--max-memory SIZE or BRIDGE_MAX_MEMORY)", self.source)

    def steps(self, count: float, path: str, what: str) -> None:
        """``count`` time steps (``what`` says how they come about)."""
        self.estimate.steps = count
        if not count <= self.limits.max_steps:
            raise LimitError(f"{what} makes {count:.3g} time steps, above the limit of {self.limits.max_steps:.3g}",
                             path, "fewer steps (a shorter duration or a larger dt), or a higher limit: "
                             "--max-steps N or BRIDGE_MAX_STEPS", self.source)

    def add(self, kind: str, count: float, each: int, path: str, what: str) -> None:
        """``count`` items of ``kind`` (an :class:`Estimate` field; another word: memory only) at
        ``each`` bytes."""
        if kind in Estimate.__dataclass_fields__ and kind not in ("bytes", "parts", "steps"):
            setattr(self.estimate, kind, getattr(self.estimate, kind) + count)
        cost = float(count) * each
        self.estimate.bytes += cost
        self.estimate.parts.append((path, cost))
        if not self.estimate.bytes <= self.limits.max_memory:
            total = "" if cost == self.estimate.bytes else f" ({format_bytes(self.estimate.bytes)} with the rest so far)"
            raise LimitError(f"{what}: about {format_bytes(cost)}{total}, above the memory limit of "
                             f"{format_bytes(self.limits.max_memory)}", path,
                             "a smaller model, or a higher limit: --max-memory SIZE or BRIDGE_MAX_MEMORY", self.source)


__all__ = ["Limits", "Estimate", "Budget", "current", "using", "parse_size", "parse_count", "format_bytes",
           "physical_memory", "MAX_THREADS", "DEFAULT_MAX_STEPS"]
