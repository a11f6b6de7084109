"""One rank's share of a result, written by each MPI rank and merged by the parent process.

A :class:`RankPart` holds what one process recorded: the samples of its own cells (with their cell
indices) and its cells' spikes as flat (time, cell) arrays.  :func:`merge` puts the parts of all
ranks together into the :class:`~bridge.result.Result` of the model (columns in the order of each
recording's ``indices``, one spike train per cell), and a single-process run is a merge of one part,
so both go through the same code.  A part is written as one NPZ file (:meth:`RankPart.save`): a few
arrays per recorded variable and population, never one per cell.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model import Model, Recording
from ..result import Result, Signal, split_spikes


@dataclass
class PartSignal:
    """Samples of one variable of some cells: ``times`` (ms, (n,)), ``values`` ((n, len(cells)), in
    ``unit``), ``cells`` the cell (or connection) index of each column."""

    times: np.ndarray
    values: np.ndarray
    unit: str
    cells: list[int]


@dataclass
class RankPart:
    """What one rank recorded: ``signals`` by (owner, variable), ``spikes`` by population as
    ``(times ms, cell indices)``, ``metadata`` (timings in s, peak memory in MiB, ...)."""

    rank: int = 0
    ranks: int = 1
    signals: dict[tuple[str, str], PartSignal] = field(default_factory=dict)
    spikes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str) -> None:
        """Write this part to ``path`` (``.npz``), atomically."""
        arrays: dict[str, np.ndarray] = {}
        header: dict[str, Any] = {"rank": self.rank, "ranks": self.ranks, "metadata": self.metadata,
                                  "signals": [], "spikes": list(self.spikes)}
        for i, ((owner, variable), sig) in enumerate(self.signals.items()):
            arrays[f"s{i}_times"], arrays[f"s{i}_values"] = sig.times, sig.values
            arrays[f"s{i}_cells"] = np.asarray(sig.cells, dtype=np.int64)
            header["signals"].append([owner, variable, sig.unit])
        for j, (times, cells) in enumerate(self.spikes.values()):
            arrays[f"p{j}_times"], arrays[f"p{j}_cells"] = times, np.asarray(cells, dtype=np.int64)
        arrays["header"] = np.array(json.dumps(header, default=str))
        tmp = f"{path}.{os.getpid()}.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> "RankPart":
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            part = cls(rank=header["rank"], ranks=header["ranks"], metadata=header["metadata"])
            for i, (owner, variable, unit) in enumerate(header["signals"]):
                part.signals[(owner, variable)] = PartSignal(data[f"s{i}_times"], data[f"s{i}_values"], unit,
                                                             data[f"s{i}_cells"].tolist())
            for j, population in enumerate(header["spikes"]):
                part.spikes[population] = (data[f"p{j}_times"], data[f"p{j}_cells"])
        return part


def part_path(out_file: str, rank: int) -> str:
    """Where rank ``rank`` writes its part of the result that goes to ``out_file``."""
    return f"{out_file}.rank{rank}.npz"


def merge(model: Model, parts: list[RankPart], backend: str) -> Result:
    """The model's result from the parts of every rank (a single part for one process)."""
    parts = sorted(parts, key=lambda p: p.rank)
    result = Result(model=model.name, backend=backend, metadata=dict(parts[0].metadata))
    for key in dict.fromkeys(k for part in parts for k in part.signals):
        recording = _recording_of(model, key)
        pieces = [part.signals[key] for part in parts if key in part.signals]
        column = {cell: (piece, j) for piece in pieces for j, cell in enumerate(piece.cells)}
        missing = [i for i in recording.indices if i not in column]
        if missing:
            raise RuntimeError(f"no rank recorded {key[0]}.{key[1]} of cell {missing[0]}")
        values = np.empty((len(pieces[0].times), len(recording.indices)))
        for k, cell in enumerate(recording.indices):
            piece, j = column[cell]
            values[:, k] = piece.values[:, j]
        result.signals[key] = Signal(pieces[0].times, values, pieces[0].unit, list(recording.indices))
    for population in dict.fromkeys(p for part in parts for p in part.spikes):
        times = np.concatenate([part.spikes[population][0] for part in parts if population in part.spikes])
        cells = np.concatenate([part.spikes[population][1] for part in parts if population in part.spikes])
        result.spike_trains[population] = split_spikes(times, cells, model.populations[population].size)
    if len(parts) > 1:
        peaks = [float(part.metadata.get("maxrss_mib", float("nan"))) for part in parts]
        result.metadata.update(ranks=len(parts), maxrss_mib_per_rank=peaks, maxrss_mib=max(peaks),
                               maxrss_mib_total=float(sum(peaks)),
                               simulate_s=max(float(p.metadata.get("simulate_s", 0.0)) for p in parts),
                               setup_s=max(float(p.metadata.get("setup_s", 0.0)) for p in parts))
    return result


def _recording_of(model: Model, key: tuple[str, str]) -> Recording:
    owner, variable = key
    for recording in model.recordings.values():
        if recording.owner == owner and variable in recording.variables:
            return recording
    raise KeyError(f"no recording of {owner}.{variable}")


__all__ = ["PartSignal", "RankPart", "merge", "part_path"]
