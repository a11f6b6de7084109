"""Connections and Poisson input trains, drawn per block of targets from their own random streams.

Every random choice of a model comes from a stream derived from (model seed, name, block): the
connections of projection ``P`` onto targets ``[b*B, (b+1)*B)`` (``B`` = :data:`TARGET_BLOCK`) from
``default_rng([seed, crc32("projection:P"), b])``, the Poisson trains ``[b*B, (b+1)*B)`` of stimulus
``S`` from ``default_rng([stimulus seed, crc32(S), b])``.  A process that simulates some of the
targets (one MPI rank) draws only the blocks that hold them, so no process draws or holds the whole
network, and the network is the same for any number of ranks and threads.  Nothing is drawn when a
model is loaded: a :class:`Connector` and a :class:`PoissonDraw` are small descriptions that travel
to the worker processes.

Order of a projection's connections (the "connection index" of a recording of a continuous
synapse): block by block; within a block by target, then source, for ``all_to_all`` and
``fixed_probability``; by target for ``one_to_one``; as listed for ``list``.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..timegrid import grid_times

#: targets (or Poisson trains) per random stream
TARGET_BLOCK = 256
#: relative slack when testing that a time lies on the dt grid (a spike time on the grid stays there)
GRID_EPS = 1e-6


def block_stream(seed: int, key: str, block: int) -> np.random.Generator:
    """The random stream of ``block`` of the projection or stimulus named by ``key``."""
    return np.random.default_rng([int(seed) % 2**63, zlib.crc32(key.encode()), int(block)])


def blocks_of(indices: np.ndarray) -> np.ndarray:
    """The distinct blocks holding ``indices`` (sorted)."""
    return np.unique(np.asarray(indices, dtype=np.int64) // TARGET_BLOCK)


def block_span(block: int, size: int) -> tuple[int, int]:
    """First and one-past-last index of ``block`` among ``size`` elements."""
    return block * TARGET_BLOCK, min(size, (block + 1) * TARGET_BLOCK)


@dataclass(frozen=True)
class Connector:
    """The connections of one projection, drawn on demand per block of targets.

    ``rule`` is ``one_to_one``, ``all_to_all``, ``fixed_probability`` (each pair independently with
    probability ``p``, autapses allowed, from the stream of ``key``) or ``list`` (``given`` pairs).
    """

    rule: str
    key: str
    n_source: int
    n_target: int
    seed: int = 0
    p: float = 1.0
    given: np.ndarray | None = None

    def count(self) -> int:
        """Number of connections (draws them for ``fixed_probability`` with p < 1)."""
        if self.rule == "one_to_one":
            return self.n_target
        if self.rule == "all_to_all" or (self.rule == "fixed_probability" and self.p >= 1):
            return self.n_source * self.n_target
        if self.rule == "list":
            return len(self.given)
        return sum(len(block) for block in self.blocks())

    def sources_onto(self, targets: np.ndarray) -> np.ndarray | None:
        """The source indices of the connections onto ``targets`` without drawing them, or None for
        "possibly every source" (``all_to_all``, ``fixed_probability``)."""
        if self.rule == "one_to_one":
            return np.asarray(targets, dtype=np.int64)
        if self.rule == "list":
            pairs = np.asarray(self.given).reshape(-1, 2)
            return np.unique(pairs[np.isin(pairs[:, 1], targets), 0])
        return None

    def pairs(self, targets: np.ndarray | None = None) -> np.ndarray:
        """``(n, 2)`` (source, target) index pairs onto ``targets`` (sorted target indices; None:
        every target), in the projection's order; int32 when the indices fit."""
        parts = list(self.blocks(targets))
        if not parts:
            return np.empty((0, 2), dtype=_index_type(self.n_source, self.n_target))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def blocks(self, targets: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """The pairs onto ``targets`` one block at a time (temporary memory bounded by one block)."""
        if self.rule == "list":
            pairs = np.asarray(self.given).reshape(-1, 2)
            if targets is not None:
                pairs = pairs[np.isin(pairs[:, 1], targets)]
            yield pairs.astype(_index_type(self.n_source, self.n_target))
            return
        wanted = None if targets is None else np.asarray(targets, dtype=np.int64)
        blocks = (range(math.ceil(self.n_target / TARGET_BLOCK)) if wanted is None else blocks_of(wanted).tolist())
        for block in blocks:
            pairs = self._block(int(block))
            if wanted is not None:
                lo, hi = block_span(int(block), self.n_target)
                mine = wanted[(wanted >= lo) & (wanted < hi)]
                if len(mine) < hi - lo:
                    keep = np.zeros(hi - lo, dtype=bool)
                    keep[mine - lo] = True
                    pairs = pairs[keep[pairs[:, 1] - lo]]
            if len(pairs):
                yield pairs

    def _block(self, block: int) -> np.ndarray:
        """Every connection onto the targets of ``block``, by target then source."""
        lo, hi = block_span(block, self.n_target)
        dtype = _index_type(self.n_source, self.n_target)
        if self.rule == "one_to_one":
            targets = np.arange(lo, hi, dtype=dtype)
            return np.column_stack([targets, targets])
        total = self.n_source * (hi - lo)
        if self.rule == "all_to_all" or self.p >= 1:
            linear = np.arange(total, dtype=np.int64)
        else:
            linear = bernoulli_indices(block_stream(self.seed, self.key, block), total, self.p)
        pairs = np.empty((len(linear), 2), dtype=dtype)
        np.remainder(linear, self.n_source, out=pairs[:, 0], casting="unsafe")
        np.floor_divide(linear, self.n_source, out=pairs[:, 1], casting="unsafe")
        pairs[:, 1] += lo
        return pairs


def bernoulli_indices(rng: np.random.Generator, total: int, p: float) -> np.ndarray:
    """The indices in ``[0, total)`` chosen independently with probability ``p``, drawn as geometric
    gaps (memory and time proportional to the number chosen), sorted."""
    chunks, last = [], -1
    while last < total - 1:
        expected = p * (total - 1 - last)
        gaps = rng.geometric(p, size=int(expected + 6 * math.sqrt(expected) + 100))
        linear = last + np.cumsum(gaps)
        last = int(linear[-1])
        chunks.append(linear[linear < total])
    return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]


def _index_type(n_source: int, n_target: int) -> type:
    return np.int32 if max(n_source, n_target) < 2**31 else np.int64


@dataclass(frozen=True)
class PoissonDraw:
    """``size`` Poisson trains of ``rate_hz`` on ``[start, stop)`` ms, rounded up to the grid of
    ``dt`` ms, drawn per block of trains from the streams of (``seed``, ``key``)."""

    key: str
    size: int
    rate_hz: float
    start: float
    stop: float
    dt: float
    seed: int

    def trains(self, indices: np.ndarray | None = None) -> list[np.ndarray]:
        """The trains ``indices`` (sorted; None: all), in that order, drawing only their blocks."""
        wanted = np.arange(self.size) if indices is None else np.asarray(indices, dtype=np.int64)
        out: list[np.ndarray] = []
        for block in blocks_of(wanted).tolist():
            lo, hi = block_span(block, self.size)
            drawn = self._block(block)
            out += [drawn[i - lo] for i in wanted[(wanted >= lo) & (wanted < hi)].tolist()]
        return out

    def _block(self, block: int) -> list[np.ndarray]:
        lo, hi = block_span(block, self.size)
        rate = self.rate_hz / 1000.0
        if rate <= 0 or self.stop <= self.start:
            return [np.empty(0) for _ in range(lo, hi)]
        rng = block_stream(self.seed, self.key, block)
        expected = rate * (self.stop - self.start)
        trains = []
        for _ in range(lo, hi):
            intervals = rng.exponential(1.0 / rate, size=int(expected + 10 * math.sqrt(expected) + 20))
            times = self.start + np.cumsum(intervals)
            times = round_up_to_grid(times[times < self.stop], self.dt)
            trains.append(times[times <= self.stop])
        return trains


def round_up_to_grid(times_ms: np.ndarray, dt: float) -> np.ndarray:
    """Round spike times up to the next grid point (a time on the grid stays), never below dt."""
    k = np.ceil(np.asarray(times_ms) / dt - GRID_EPS)
    return grid_times(np.maximum(k, 1), dt)


__all__ = ["TARGET_BLOCK", "Connector", "PoissonDraw", "block_stream", "bernoulli_indices", "round_up_to_grid"]
