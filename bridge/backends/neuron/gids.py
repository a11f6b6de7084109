"""Global ids (gids) of a model's spiking elements in NEURON, the same on every MPI rank, and the
tiny delay offsets that put simultaneous events in one order whatever the number of ranks.

Cells get gids ``0 .. N-1`` in the model's population order (:func:`~..partition.offsets`), the
trains of the spike sources the gids after them.  Events that reach one cell in the same step are
summed into its pending receptor jump in the order NEURON delivers them; on one process that is the
order in which they were queued (spike detection order), on several ranks a spike from another rank
is queued only at the next exchange, after the local ones.  Floating-point sums depend on the order,
so every connection's delay gets ``gid * tie_step`` added, with ``tie_step = dt / (4 * number of
gids)`` (at most dt/4 in all, so every event stays in its step): NEURON's queue delivers events in
time order, hence by source gid, on any number of ranks.  The offsets change spike-arrival times by
less than dt/4 inside the step (the mechanism applies the jump at the grid point regardless) and the
interval ``h`` a Tsodyks–Markram rule sees by nothing between spikes of one connection (and by at
most dt/4 for its first spike, since the start).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...model import Model
from ..partition import offsets, total_cells


@dataclass(frozen=True)
class GidMap:
    """``first`` gid of each population and spike source; ``count`` gids in all; ``dt`` in ms."""

    first: dict[str, int]
    count: int
    dt: float

    @classmethod
    def for_model(cls, model: Model) -> "GidMap":
        first = dict(offsets(model))
        gid = total_cells(model)
        for name, stimulus in model.spike_sources().items():
            first[name], gid = gid, gid + stimulus.size
        return cls(first, gid, model.simulation.dt)

    def of(self, name: str, indices: np.ndarray) -> np.ndarray:
        """The gids of elements ``indices`` of population or spike source ``name`` (int64)."""
        return np.asarray(indices, dtype=np.int64) + self.first[name]

    @property
    def tie_step(self) -> float:
        """Delay offset (ms) per gid: events of one step are delivered in gid order."""
        return self.dt / (4.0 * max(self.count, 1))

    def resolution_problem(self, horizon_ms: float) -> str | None:
        """Why the offsets cannot order events up to ``horizon_ms`` (the offsets of two gids must be
        several units of the last place apart at that time), or None."""
        ulp = np.spacing(float(horizon_ms) + self.dt)
        if self.tie_step < 8 * ulp:
            return (f"{self.count} spike sources over {horizon_ms:g} ms at dt = {self.dt:g} ms: events of one step "
                    "cannot be ordered by source within double precision (a shorter run, fewer cells or a larger dt)")
        return None


__all__ = ["GidMap"]
