"""The result of one run: sampled signals and spike trains in stated units, plus run metadata."""
from __future__ import annotations

import csv
import functools
import io
import json
import os
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from .outputs import atomic_file


@dataclass
class Signal:
    """Samples of one variable: ``times`` (ms, shape (n,)), ``values`` (shape (n, cells)) in ``unit``.

    ``indices`` are the cell (or connection) indices of the columns of ``values``.
    """

    times: np.ndarray
    values: np.ndarray
    unit: str
    indices: list[int]


@dataclass
class Result:
    """What a backend returns.

    ``signals`` maps ``(population or projection, variable)`` to a :class:`Signal`; ``spike_trains``
    maps a population to one array of spike times (ms) per cell; ``metadata`` holds the backend
    name and version, dt, and timings (s) of set-up and simulation.
    """

    model: str
    backend: str
    signals: dict[tuple[str, str], Signal] = field(default_factory=dict)
    spike_trains: dict[str, list[np.ndarray]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def signal(self, population: str, variable: str, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(times_ms, values)`` of ``variable`` of cell ``index`` of ``population``."""
        try:
            sig = self.signals[(population, variable)]
        except KeyError:
            known = ", ".join(f"{p}.{v}" for p, v in self.signals) or "none"
            raise KeyError(f"{population}.{variable} was not recorded (recorded: {known})") from None
        if index not in sig.indices:
            raise KeyError(f"cell {index} of {population} was not recorded (recorded: {sig.indices})")
        return sig.times, sig.values[:, sig.indices.index(index)]

    def spikes(self, population: str) -> list[np.ndarray]:
        """Spike times (ms) of every cell of ``population``, one array per cell."""
        try:
            return self.spike_trains[population]
        except KeyError:
            raise KeyError(f"spikes of {population} were not recorded "
                           f"(recorded: {', '.join(self.spike_trains) or 'none'})") from None

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> None:
        """Write to ``.npz`` (complete, reloadable) or ``.csv`` (one row per sample or spike),
        atomically (:func:`bridge.outputs.atomic_file`)."""
        path = os.fspath(path)
        if path.endswith(".csv"):
            with atomic_file(path, "w", newline="", encoding="utf-8") as handle:
                self._write_csv(handle)
        elif path.endswith(".npz"):
            with atomic_file(path) as handle:
                self._write_npz(handle)
        else:
            raise ValueError(f"{path}: unknown result format (expected a .npz or .csv file name)")

    def npz_bytes(self) -> bytes:
        """The ``.npz`` file :meth:`save` writes, as bytes."""
        buffer = io.BytesIO()
        self._write_npz(buffer)
        return buffer.getvalue()

    def _write_npz(self, handle: IO[bytes]) -> None:
        arrays: dict[str, np.ndarray] = {}
        header = {"model": self.model, "backend": self.backend, "metadata": self.metadata,
                  "signals": [], "spikes": {}}
        for i, ((owner, variable), sig) in enumerate(self.signals.items()):
            arrays[f"signal{i}_times"] = sig.times
            arrays[f"signal{i}_values"] = sig.values
            header["signals"].append({"owner": owner, "variable": variable, "unit": sig.unit, "indices": sig.indices})
        for population, trains in self.spike_trains.items():
            header["spikes"][population] = len(trains)
            for j, train in enumerate(trains):
                arrays[f"spikes_{population}_{j}"] = np.asarray(train, dtype=float)
        arrays["header"] = np.array(json.dumps(header, default=_json_default))
        np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike | IO[bytes]) -> "Result":
        """Read a result written by :meth:`save` to ``.npz`` (a path or a binary file object)."""
        source = path if hasattr(path, "read") else os.fspath(path)  # type: ignore[arg-type]
        with np.load(source, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            result = cls(model=header["model"], backend=header["backend"], metadata=header["metadata"])
            for i, entry in enumerate(header["signals"]):
                result.signals[(entry["owner"], entry["variable"])] = Signal(
                    data[f"signal{i}_times"], data[f"signal{i}_values"], entry["unit"], list(entry["indices"]))
            for population, count in header["spikes"].items():
                result.spike_trains[population] = [data[f"spikes_{population}_{j}"] for j in range(count)]
        return result

    def _write_csv(self, handle: IO[str]) -> None:
        writer = csv.writer(handle)
        writer.writerow(["kind", "owner", "variable", "index", "time_ms", "value", "unit"])
        for (owner, variable), sig in self.signals.items():
            for column, index in enumerate(sig.indices):
                for t, v in zip(sig.times, sig.values[:, column]):
                    writer.writerow(["signal", owner, variable, index, repr(float(t)), repr(float(v)), sig.unit])
        for population, trains in self.spike_trains.items():
            for index, train in enumerate(trains):
                for t in train:
                    writer.writerow(["spike", population, "", index, repr(float(t)), "", "ms"])

    # ------------------------------------------------------------------ interchange
    def to_neo(self):
        """Convert to a Neo ``Block`` (one ``Segment``; AnalogSignals and SpikeTrains with units)."""
        import neo
        import quantities as pq

        block = neo.Block(name=self.model, backend=self.backend)
        segment = neo.Segment(name=f"{self.model} on {self.backend}")
        block.segments.append(segment)
        stop = float(self.metadata.get("duration_ms", 0.0))
        for (owner, variable), sig in self.signals.items():
            if len(sig.times) == 0:
                continue
            steps = np.diff(sig.times)
            regular = len(steps) == 0 or np.allclose(steps, steps[0], rtol=1e-9, atol=0)
            if regular:  # every `interval`; a network signal merging recording windows is irregular
                step = float(steps[0]) if len(steps) else float(sig.times[0])
                segment.analogsignals.append(neo.AnalogSignal(
                    sig.values, units=_neo_unit(sig.unit), sampling_period=step * pq.ms,
                    t_start=float(sig.times[0]) * pq.ms, name=f"{owner}.{variable}",
                    array_annotations={"index": np.asarray(sig.indices)}))
            else:
                segment.irregularlysampledsignals.append(neo.IrregularlySampledSignal(
                    np.asarray(sig.times) * pq.ms, sig.values, units=_neo_unit(sig.unit), time_units=pq.ms,
                    name=f"{owner}.{variable}", array_annotations={"index": np.asarray(sig.indices)}))
            stop = max(stop, float(sig.times[-1]))
        for population, trains in self.spike_trains.items():
            for index, train in enumerate(trains):
                segment.spiketrains.append(neo.SpikeTrain(
                    np.asarray(train) * pq.ms, t_stop=max(stop, float(np.max(train, initial=0.0))) * pq.ms,
                    name=f"{population}[{index}]", population=population, index=index))
        return block


def split_spikes(times: np.ndarray, cells: np.ndarray, size: int) -> list[np.ndarray]:
    """Spike ``times`` (ms) of cell indices ``cells`` (0 .. size-1) as one sorted array per cell,
    the layout of :attr:`Result.spike_trains` (one sort, not one boolean mask per cell)."""
    order = np.lexsort((times, cells))
    times, cells = np.asarray(times)[order], np.asarray(cells)[order]
    bounds = np.searchsorted(cells, np.arange(size + 1))
    return [times[bounds[c]:bounds[c + 1]].copy() for c in range(size)]


@functools.lru_cache(maxsize=None)
def _neo_unit(unit: str):
    import quantities as pq

    if unit in ("", "1", "particles"):
        return pq.dimensionless
    if unit == "nM":  # quantities has mM and uM but no nM (reaction-network concentrations)
        return getattr(pq, "nM", None) or pq.UnitQuantity("nanomolar", 1e-3 * pq.uM, symbol="nM")
    return pq.CompoundUnit(unit) if "/" in unit else getattr(pq, unit)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
