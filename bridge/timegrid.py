"""Times on the simulation grid, written the same way by every backend.

A grid time is ``k*dt`` (ms) for an integer number of steps ``k``.  Computed in floating point,
``991*0.1`` is ``99.10000000000001``; bridge instead reports the double nearest to the decimal
value ``k*dt`` rounded to the decimals of ``dt`` (``99.1``), so that spike and sample times print
as users write them and are bit-identical across backends.  Every backend converts step counts
to times with :func:`grid_times` (or :func:`to_grid` for times that are grid times up to
round-off); nothing else in bridge multiplies a step count by ``dt`` for output.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

MAX_DECIMALS = 12
"""A ``dt`` with more decimals than this (e.g. 0.1/3 ms) is not decimal: times are ``k*dt`` as computed."""


@lru_cache(maxsize=64)
def grid_decimals(dt: float) -> int | None:
    """Number of decimals of ``dt`` (ms): 1 for 0.1, 3 for 0.025; None when it has more than
    :data:`MAX_DECIMALS` (then grid times are not rounded)."""
    for decimals in range(MAX_DECIMALS + 1):
        if round(dt, decimals) == dt:
            return decimals
    return None


def grid_times(ticks, dt: float) -> np.ndarray:
    """Times (ms) of the grid points ``ticks`` (integer step counts): the doubles nearest to
    ``k*dt`` in decimal, e.g. ``grid_times([991], 0.1) == [99.1]``.

    Computed exactly: ``k * round(dt*10**d)`` is an integer below 2**53 for any realistic run, and
    dividing it by ``10**d`` rounds once, to the nearest double."""
    ticks = np.asarray(ticks)
    decimals = grid_decimals(float(dt))
    if decimals is None:
        return ticks.astype(float) * dt
    scale = 10 ** decimals
    return (np.rint(ticks).astype(np.int64) * int(round(dt * scale))) / float(scale)


def to_grid(times_ms, dt: float) -> np.ndarray:
    """The grid times nearest to ``times_ms`` (times that are grid points up to round-off)."""
    return grid_times(np.rint(np.asarray(times_ms, dtype=float) / dt), dt)


def occurrence_rank(keys) -> np.ndarray:
    """For each element, how many equal elements come before it: ``[3, 5, 3, 3] -> [0, 0, 1, 2]``.

    Several spikes of one train on one grid point are processed one after the other, each seeing
    the synapse state the previous one left (README "Time grid"); rank r is the r-th of them."""
    keys = np.asarray(keys)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new_run = np.ones(len(keys), dtype=bool)
    new_run[1:] = ordered[1:] != ordered[:-1]
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = rank_in_runs(new_run)
    return rank


def rank_in_runs(new_run: np.ndarray) -> np.ndarray:
    """Position of each element within its run, runs starting where ``new_run`` is True (the first
    element always starts one): ``[T, F, F, T, F] -> [0, 1, 2, 0, 1]``."""
    position = np.arange(len(new_run))
    return position - np.maximum.accumulate(np.where(new_run, position, 0))
