"""The ``statistics:`` section of a model file: what ``bridge compare --statistics`` measures.

```yaml
statistics:
  start: 500 ms                 # analysis window (default: the whole run); the transient before it is left out
  stop: 1500 ms
  populations: [fsn, stn]       # default: every population whose spikes are recorded; or a mapping
                                #   population -> list of measures, e.g. {stn: [rate, cv]}
  measures: [rate, cv, lv, fano, correlation, spectrum]   # default: all of them
  bin: 1 ms                     # population-rate histogram bin of the spectrum (Nyquist = 1/(2 bin))
  spectrum: {resolution: 4 Hz, max: 100 Hz}   # Welch frequency resolution; band powers relative to (0, max]
  bands: {beta: [12 Hz, 30 Hz]} # band powers reported and judged (name -> [low, high])
  correlation: {bin: 10 ms, pairs: 200}       # spike-count correlation coefficients of sampled cell pairs
  fano: {window: 100 ms}        # Fano factor of each cell's spike counts in consecutive windows
  min_spikes: 3                 # spikes a cell needs for its CV and LV (>= 3: two intervals)
  min_cells: 3                  # cells (or pairs) a statistic needs in a run, else "not enough data"
```

Every field is optional; :class:`StatisticsSpec` holds the defaults.  Invalid values (a window outside
the run, a band above the Nyquist frequency of ``bin``, a resolution finer than the window allows, an
unknown population or measure, a population whose spikes are not recorded) are input errors naming the
field: ``bridge compare --statistics`` stops with exit 2 before anything runs, and ``bridge validate``
reports them.  ``bridge run`` ignores the section (a shortened run need not fit its window).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .checker import Checker

#: the measures, in report order
MEASURES = ("rate", "cv", "lv", "fano", "correlation", "spectrum")
_FIELDS = {"start", "stop", "populations", "measures", "bin", "spectrum", "bands", "correlation", "fano",
           "min_spikes", "min_cells"}


@dataclass(frozen=True)
class StatisticsSpec:
    """What to measure on each run (times in ms, frequencies in Hz)."""

    start: float
    stop: float
    #: population -> measures (in :data:`MEASURES` order)
    populations: dict[str, tuple[str, ...]]
    bin: float = 1.0
    resolution: float = 4.0
    max_frequency: float = 100.0
    bands: dict[str, tuple[float, float]] = field(default_factory=lambda: {"beta": (12.0, 30.0)})
    correlation_bin: float = 10.0
    pairs: int = 200
    fano_window: float = 100.0
    min_spikes: int = 3
    min_cells: int = 3

    @property
    def duration_s(self) -> float:
        """Length of the analysis window in seconds."""
        return (self.stop - self.start) / 1000.0

    @property
    def nyquist(self) -> float:
        """Highest frequency (Hz) the population-rate histogram resolves."""
        return 500.0 / self.bin


def parse_statistics(value: Any, duration: float, spiking: Mapping[str, bool], check: Checker) -> StatisticsSpec:
    """The :class:`StatisticsSpec` of a model's ``statistics`` section (``value``; None: all defaults).

    ``duration`` is the run's length (ms); ``spiking`` maps each population to whether its spikes are
    recorded (only those can be measured)."""
    spec = check.mapping(value, "statistics", "a mapping of " + ", ".join(sorted(_FIELDS)))
    check.keys(spec, _FIELDS, "statistics")
    start = check.quantity(spec.get("start", "0 ms"), "ms", "statistics.start")
    stop = check.quantity(spec.get("stop", f"{duration} ms"), "ms", "statistics.stop")
    if not 0 <= start < stop <= duration * (1 + 1e-12):
        raise check.fail(f"window [{start:g}, {stop:g}] ms is not inside the run (0 to {duration:g} ms)",
                         "statistics.stop" if stop > duration else "statistics.start",
                         "0 <= start < stop <= simulation.duration")
    window = stop - start
    measures = _measures(spec.get("measures", list(MEASURES)), "statistics.measures", check)
    populations = _populations(spec.get("populations"), measures, spiking, check)
    bin_ms = check.quantity(spec.get("bin", "1 ms"), "ms", "statistics.bin")
    spectrum = check.mapping(spec.get("spectrum"), "statistics.spectrum", "{resolution, max}")
    check.keys(spectrum, {"resolution", "max"}, "statistics.spectrum")
    resolution = check.quantity(spectrum.get("resolution", "4 Hz"), "Hz", "statistics.spectrum.resolution")
    nyquist = 500.0 / bin_ms if bin_ms > 0 else 0.0
    maximum = check.quantity(spectrum.get("max", f"{min(100.0, nyquist)} Hz"), "Hz", "statistics.spectrum.max")
    spec_out = dict(start=start, stop=stop, populations=populations)
    if not 0 < bin_ms <= window / 4:
        raise check.fail(f"bin {bin_ms:g} ms", "statistics.bin", f"a bin > 0 ms and at most a quarter of the "
                         f"{window:g} ms window")
    if not resolution > 0 or 1000.0 / resolution > window * (1 + 1e-9):
        raise check.fail(f"resolution {resolution:g} Hz needs segments of {1000.0 / max(resolution, 1e-300):g} ms, "
                         f"longer than the {window:g} ms window", "statistics.spectrum.resolution",
                         f"a resolution of at least {1000.0 / window:g} Hz")
    if not resolution < maximum <= nyquist * (1 + 1e-12):
        raise check.fail(f"max {maximum:g} Hz is outside ({resolution:g} Hz, {nyquist:g} Hz]", "statistics.spectrum.max",
                         f"a frequency above the resolution and at most the Nyquist frequency 1/(2 bin) = {nyquist:g} Hz")
    bands = {}
    for name, edges in check.named(spec.get("bands", {"beta": ["12 Hz", "30 Hz"]}), "statistics.bands",
                                   "a mapping of band names to [low, high]").items():
        path = f"statistics.bands.{name}"
        if not isinstance(edges, list) or len(edges) != 2:
            raise check.fail(f"{edges!r} is not [low, high]", path, "two frequencies, e.g. [12 Hz, 30 Hz]")
        low, high = (check.quantity(edge, "Hz", f"{path}[{i}]") for i, edge in enumerate(edges))
        if not 0 < low < high:
            raise check.fail(f"band [{low:g}, {high:g}] Hz", path, "0 Hz < low < high")
        if high > maximum * (1 + 1e-12):
            beyond = (f"the Nyquist frequency {nyquist:g} Hz of the {bin_ms:g} ms bin" if high > nyquist * (1 + 1e-12)
                      else f"statistics.spectrum.max ({maximum:g} Hz)")
            raise check.fail(f"band [{low:g}, {high:g}] Hz reaches beyond {beyond}", path,
                             f"a band inside ({resolution:g} Hz, {maximum:g} Hz]")
        if high - low < resolution:
            raise check.fail(f"band [{low:g}, {high:g}] Hz is narrower than the {resolution:g} Hz resolution", path,
                             "a band at least one frequency bin wide")
        bands[name] = (low, high)
    correlation = check.mapping(spec.get("correlation"), "statistics.correlation", "{bin, pairs}")
    check.keys(correlation, {"bin", "pairs"}, "statistics.correlation")
    correlation_bin = check.quantity(correlation.get("bin", "10 ms"), "ms", "statistics.correlation.bin")
    if not 0 < correlation_bin <= window / 2:
        raise check.fail(f"bin {correlation_bin:g} ms", "statistics.correlation.bin",
                         f"a bin > 0 ms and at most half the {window:g} ms window")
    fano = check.mapping(spec.get("fano"), "statistics.fano", "{window}")
    check.keys(fano, {"window"}, "statistics.fano")
    fano_window = check.quantity(fano.get("window", "100 ms"), "ms", "statistics.fano.window")
    if not 0 < fano_window <= window / 2:
        raise check.fail(f"window {fano_window:g} ms", "statistics.fano.window",
                         f"a window > 0 ms and at most half the {window:g} ms analysis window (two counts per cell)")
    return StatisticsSpec(**spec_out, bin=bin_ms, resolution=resolution, max_frequency=maximum, bands=bands,
                          correlation_bin=correlation_bin,
                          pairs=check.integer(correlation.get("pairs", 200), "statistics.correlation.pairs", minimum=1),
                          fano_window=fano_window,
                          min_spikes=check.integer(spec.get("min_spikes", 3), "statistics.min_spikes", minimum=3),
                          min_cells=check.integer(spec.get("min_cells", 3), "statistics.min_cells", minimum=2))


def _measures(value: Any, path: str, check: Checker) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise check.fail(f"{value!r} is not a list of measures", path, "a non-empty list of " + ", ".join(MEASURES))
    for i, item in enumerate(value):
        if item not in MEASURES:
            raise check.fail(f"unknown measure {item!r}", f"{path}[{i}]", "one of " + ", ".join(MEASURES))
    return tuple(m for m in MEASURES if m in value)


def _populations(value: Any, measures: tuple[str, ...], spiking: Mapping[str, bool],
                 check: Checker) -> dict[str, tuple[str, ...]]:
    path = "statistics.populations"
    if value is None:
        return {name: measures for name, recorded in spiking.items() if recorded}
    if isinstance(value, list):
        value = {name: None for name in value}
    if not isinstance(value, dict) or not value:
        raise check.fail(f"{value!r} is not a list or mapping of populations", path,
                         "a list of populations, or a mapping population -> list of measures")
    chosen = {}
    for name, own in value.items():
        if name not in spiking:
            raise check.fail(f"unknown population {name!r}", f"{path}.{name}", "one of " + ", ".join(spiking))
        if not spiking[name]:
            raise check.fail(f"the spikes of {name!r} are not recorded", f"{path}.{name}",
                             f"a population with a recording {{population: {name}, spikes: true}}")
        chosen[name] = measures if own is None else _measures(own, f"{path}.{name}", check)
    return chosen


__all__ = ["MEASURES", "StatisticsSpec", "parse_statistics"]
