"""Which cells one process simulates when a model runs on several MPI ranks.

The model's cells, taken population by population in model order, get global indices 0 .. N-1
(the NEURON gids); rank ``r`` of ``R`` owns the contiguous run ``[N*r//R, N*(r+1)//R)``, so every
rank owns at least one cell when N >= R and each rank's cells are a contiguous index range of each
population (the connections onto them are a few blocks of :mod:`bridge.model.drawing`).  One rank
(R = 1) owns everything: the single-process run is the same code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Model


@dataclass(frozen=True)
class Partition:
    """Rank ``rank`` of ``ranks``."""

    rank: int = 0
    ranks: int = 1

    def owned(self, model: Model) -> dict[str, range]:
        """Population name -> the range of its cell indices this rank simulates (possibly empty)."""
        total = total_cells(model)
        lo, hi = total * self.rank // self.ranks, total * (self.rank + 1) // self.ranks
        ranges = {}
        for name, first in offsets(model).items():
            size = model.populations[name].size
            ranges[name] = range(min(max(lo - first, 0), size), min(max(hi - first, 0), size))
        return ranges

    def owned_array(self, model: Model, population: str) -> np.ndarray:
        """The cell indices of ``population`` this rank simulates, as a sorted int64 array."""
        span = self.owned(model)[population]
        return np.arange(span.start, span.stop, dtype=np.int64)


def offsets(model: Model) -> dict[str, int]:
    """Population name -> global index of its first cell (populations in model order)."""
    out, first = {}, 0
    for name, population in model.populations.items():
        out[name] = first
        first += population.size
    return out


def total_cells(model: Model) -> int:
    """Number of cells of all populations."""
    return sum(p.size for p in model.populations.values())


__all__ = ["Partition", "offsets", "total_cells"]
