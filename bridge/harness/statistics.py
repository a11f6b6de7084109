"""Network statistics of one run's spike trains, with Elephant (Denker et al., elephant 1.x).

Per population, over the analysis window of a :class:`~bridge.model.statistics_spec.StatisticsSpec`
(spikes at ``start < t <= stop``):

* ``rate``: each cell's mean firing rate (Hz, ``elephant.statistics.mean_firing_rate``); the run's value
  is the mean over all cells (the population rate), silent cells included;
* ``cv``: coefficient of variation of each cell's inter-spike intervals (``elephant.statistics.isi``,
  ``cv``) for cells with at least ``min_spikes`` spikes; the run's value is their mean;
* ``lv``: local variation (Shinomoto et al. 2003, ``elephant.statistics.lv``), same cells, mean;
* ``fano``: Fano factor of each cell's spike counts in consecutive ``fano.window`` windows
  (``elephant.statistics.fanofactor`` over the window pieces), cells with ``min_spikes``, mean;
* ``correlation``: Pearson correlation coefficient of the spike counts of sampled pairs of cells in
  ``correlation.bin`` bins (``elephant.conversion.BinnedSpikeTrain``,
  ``elephant.spike_train_correlation.correlation_coefficient``); up to ``correlation.pairs`` distinct
  pairs among the cells that fire, drawn with a generator seeded by the population's name (the same
  draw for every backend); the run's value is the mean coefficient;
* ``spectrum``: Welch power spectrum (``elephant.spectral.welch_psd``, Hann window, 50 % overlap,
  segments of 1/resolution, mean removed) of the population rate (``elephant.statistics.time_histogram``
  of all the population's spikes in ``bin`` bins, in Hz per cell); each band's power relative to the
  power in (0, max] is a judged statistic ``<band>_power`` (dimensionless).

A statistic without enough data in a run (a silent population, fewer than ``min_cells`` cells with
``min_spikes`` spikes, fewer than ``min_cells`` pairs with defined coefficients, no power) has value
None and says why; it is never a number that could pass.
"""
from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..model.statistics_spec import StatisticsSpec
from ..result import Result

#: unit of each statistic's value ("" = dimensionless); band powers are dimensionless
UNITS = {"rate": "Hz", "cv": "", "lv": "", "fano": "", "correlation": ""}
#: cells of each population whose spike trains a run keeps for the report's rasters
RASTER_CELLS = 40


@dataclass
class Measured:
    """One statistic of one population in one run: its ``value`` (None: not enough data, see
    ``reason``) and the per-cell (or per-pair) ``samples`` it summarises."""

    value: float | None
    samples: np.ndarray = field(default_factory=lambda: np.empty(0))
    reason: str = ""


@dataclass
class PopulationStatistics:
    """Every statistic of one population in one run, its spectrum and a few cells' spikes."""

    population: str
    cells: int
    spikes: int
    measured: dict[str, Measured]
    frequencies: np.ndarray | None = None   # Hz
    power: np.ndarray | None = None         # Hz^2/Hz (population rate in Hz per cell)
    raster: list[np.ndarray] = field(default_factory=list)


def band_statistic(band: str) -> str:
    """Name of the judged statistic of a band's relative power (``beta`` -> ``beta_power``)."""
    return f"{band}_power"


def statistic_names(spec: StatisticsSpec, measures: tuple[str, ...]) -> list[str]:
    """Judged statistics of a population measured with ``measures``, in report order."""
    names = [m for m in measures if m != "spectrum"]
    if "spectrum" in measures:
        names += [band_statistic(b) for b in spec.bands]
    return names


def windowed(trains: list[np.ndarray], spec: StatisticsSpec) -> list[np.ndarray]:
    """Each train's spikes inside the analysis window (``start < t <= stop``, ms)."""
    out = []
    for train in trains:
        train = np.asarray(train, dtype=float)
        out.append(train[(train > spec.start) & (train <= spec.stop)])
    return out


def measure_run(result: Result, spec: StatisticsSpec) -> dict[str, PopulationStatistics]:
    """The statistics of every population of ``spec`` in ``result`` (population -> statistics)."""
    with warnings.catch_warnings():  # Elephant warns about empty or constant trains, which are handled here
        warnings.simplefilter("ignore")
        return {name: _population(name, windowed(result.spikes(name), spec), spec, measures)
                for name, measures in spec.populations.items()}


def _population(name: str, trains: list[np.ndarray], spec: StatisticsSpec,
                measures: tuple[str, ...]) -> PopulationStatistics:
    counts = np.array([len(t) for t in trains])
    stats = PopulationStatistics(name, len(trains), int(counts.sum()), {}, raster=trains[:RASTER_CELLS])
    silent = "no spikes in the window" if stats.spikes == 0 else ""
    active = [t for t in trains if len(t) >= spec.min_spikes]
    few = f"{len(active)} of {len(trains)} cells with >= {spec.min_spikes} spikes (fewer than {spec.min_cells})"
    for measure in measures:
        if measure == "rate":
            stats.measured["rate"] = _rates(trains, spec, silent)
        elif measure in ("cv", "lv"):
            stats.measured[measure] = _intervals(active, measure, few if len(active) < spec.min_cells else "")
        elif measure == "fano":
            stats.measured["fano"] = _fano(active, spec, few if len(active) < spec.min_cells else "")
        elif measure == "correlation":
            stats.measured["correlation"] = _correlation(name, trains, spec, silent)
        elif measure == "spectrum":
            _spectrum(stats, trains, spec, silent)
    return stats


def _summary(samples: np.ndarray, reason: str, minimum: int, what: str) -> Measured:
    samples = samples[np.isfinite(samples)] if samples.size else samples
    if reason:
        return Measured(None, samples, reason)
    if len(samples) < minimum:
        return Measured(None, samples, f"{len(samples)} {what} (fewer than {minimum})")
    return Measured(float(np.mean(samples)), samples)


def _rates(trains: list[np.ndarray], spec: StatisticsSpec, silent: str) -> Measured:
    from elephant.statistics import mean_firing_rate

    # plain arrays in ms (Elephant's quantities path costs ~0.6 ms per cell, this one ~10 us)
    # (Elephant refuses an empty train: a silent cell's rate is 0 Hz)
    rates = np.array([1000.0 * float(mean_firing_rate(t, t_start=spec.start, t_stop=spec.stop)) if len(t) else 0.0
                      for t in trains])
    return _summary(rates, silent, 1, "cells")


def _intervals(active: list[np.ndarray], measure: str, reason: str) -> Measured:
    from elephant.statistics import cv, isi, lv

    function = cv if measure == "cv" else lv
    values = np.array([float(function(isi(t))) for t in active]) if not reason else np.empty(0)
    return _summary(values, reason, 1, "cells")


def _fano(active: list[np.ndarray], spec: StatisticsSpec, reason: str) -> Measured:
    from elephant.statistics import fanofactor

    edges = spec.start + spec.fano_window * np.arange(int((spec.stop - spec.start) // spec.fano_window + 1e-9) + 1)
    values = []
    if not reason:
        for train in active:
            # consecutive windows: a spike at an edge belongs to the window it ends (as the analysis
            # window's start < t <= stop); spikes after the last whole window are left out
            train = train[train <= edges[-1]]
            pieces = np.split(train, np.searchsorted(train, edges[1:-1], side="right"))
            values.append(float(fanofactor(pieces)))
    return _summary(np.array(values), reason, spec.min_cells if not reason else 1, "cells")


def _correlation(name: str, trains: list[np.ndarray], spec: StatisticsSpec, silent: str) -> Measured:
    if silent:
        return Measured(None, reason=silent)
    import neo
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient

    firing = np.flatnonzero([len(t) > 0 for t in trains])
    if len(firing) < 2:
        return Measured(None, reason=f"{len(firing)} cell(s) fire (a pair needs two)")
    pairs = sample_pairs(len(firing), spec.pairs, name)
    used = np.unique(pairs)
    where = {cell: k for k, cell in enumerate(used)}
    binned = BinnedSpikeTrain([neo.SpikeTrain(trains[firing[c]] * pq.ms, t_start=spec.start * pq.ms,
                                              t_stop=spec.stop * pq.ms) for c in used],
                              bin_size=spec.correlation_bin * pq.ms, t_start=spec.start * pq.ms,
                              t_stop=spec.stop * pq.ms)
    matrix = correlation_coefficient(binned)
    values = np.array([matrix[where[a], where[b]] for a, b in pairs])
    return _summary(values, "", spec.min_cells, "pairs with a defined coefficient")


def sample_pairs(n: int, wanted: int, name: str) -> np.ndarray:
    """Up to ``wanted`` distinct pairs (i < j) of ``n`` items, drawn reproducibly from ``name``."""
    total = n * (n - 1) // 2
    rng = np.random.default_rng(zlib.crc32(f"pairs:{name}".encode()))
    if total <= wanted:
        i, j = np.triu_indices(n, k=1)
        return np.column_stack([i, j])
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < wanted:
        a, b = rng.integers(0, n, size=2)
        if a != b:
            chosen.add((int(min(a, b)), int(max(a, b))))
    return np.array(sorted(chosen))


def _spectrum(stats: PopulationStatistics, trains: list[np.ndarray], spec: StatisticsSpec, silent: str) -> None:
    names = [band_statistic(b) for b in spec.bands]
    if silent:
        stats.measured.update({n: Measured(None, reason=silent) for n in names})
        return
    import neo
    import quantities as pq
    from elephant.spectral import welch_psd
    from elephant.statistics import time_histogram

    merged = np.sort(np.concatenate(trains))
    histogram = time_histogram([neo.SpikeTrain(merged * pq.ms, t_start=spec.start * pq.ms, t_stop=spec.stop * pq.ms)],
                               bin_size=spec.bin * pq.ms, t_start=spec.start * pq.ms, t_stop=spec.stop * pq.ms,
                               output="counts")
    rate = np.asarray(histogram.magnitude, dtype=float).ravel() / (len(trains) * spec.bin / 1000.0)  # Hz per cell
    frequencies, power = welch_psd(rate, frequency_resolution=spec.resolution, fs=1000.0 / spec.bin,
                                   overlap=0.5, window="hann", detrend="constant")
    frequencies, power = np.asarray(frequencies, dtype=float), np.asarray(power, dtype=float)
    stats.frequencies, stats.power = frequencies, power
    inside = (frequencies > 0) & (frequencies <= spec.max_frequency + 1e-9)
    total = float(power[inside].sum())
    for band, (low, high) in spec.bands.items():
        if total <= 0:
            stats.measured[band_statistic(band)] = Measured(None, reason="no power in the population rate")
            continue
        in_band = (frequencies >= low - 1e-9) & (frequencies <= high + 1e-9)
        stats.measured[band_statistic(band)] = Measured(float(power[in_band].sum()) / total)


__all__ = ["Measured", "PopulationStatistics", "RASTER_CELLS", "UNITS", "band_statistic", "measure_run",
           "sample_pairs", "statistic_names", "windowed"]
