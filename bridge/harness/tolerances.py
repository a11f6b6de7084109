"""Tolerance policy: what counts as agreement, declared per observable in the model file.

```yaml
tolerances:
  post.V_m: {atol: 1e-6 mV, rtol: 0, backends: {neuron: {atol: 1e-3 mV}}, note: why}
  post.V_m: {settle: 5 ms}                # also skip 5 ms after a spike whose time differs
  cell.spikes: {window: 0.1 ms, count: 0}
  pre_post.events: {atol: 1e-6 pA}      # per-spike amplitude of the target's receptor jump
  stn.rate: {rtol: 0.05}                # network statistics (bridge compare --statistics)
  stn.spectrum: {atol: 0.02}            # every band power of stn (stn.beta_power: one band)
```

An analog (or event) observable passes when ``max|x - x_ref| <= limit`` with

* an explicit ``atol`` and/or ``rtol``: ``limit = atol + rtol * range(x_ref)``, exactly as
  written (a missing ``atol`` is 0, a missing ``rtol`` 1e-3);
* neither (the default): ``limit = max(1e-3 * range(x_ref), 1e-8 * max|x_ref|)``.  The second
  term is the resolution floor :data:`SOLVER_RTOL`: no backend's solver is asked for more than
  this relative accuracy (the reference integrates at rtol 1e-10, NEURON's CVODE at 1e-8), so a
  signal that hardly changes (a conserved total, a clamped variable) is not judged on round-off.

A spike observable passes when every cell's spike count differs by at most ``count`` and every
matched spike lies within ``window`` (default: ``dt``).

Samples around spikes whose times differ (matched within the window but not equal, or
unmatched) are left out of the analog comparison, because a reset one step apart is a spike-time
difference, already judged by the spike observable:

* for ``located`` threshold types (AdEx, Izhikevich, QIF), automatically: the samples from one
  step before the earlier of the two spike times up to (not including) the later one, where one
  run is on the upstroke or reset and the other not yet (these cells reset at the located crossing
  inside the step, so once both have reset their traces agree again);
* for any type, ``settle`` (ms, per analog observable) also leaves out the ``settle`` ms after the
  later of the two (grid-threshold cells reset at the grid, so their traces stay apart for a while).

A network statistic (``rate``, ``cv``, ``lv``, ``fano``, ``correlation``, ``<band>_power``; fields
``atol``, ``rtol``, ``note``) is judged against the seed-to-seed spread of the model itself
(:mod:`bridge.harness.ensemble`); ``atol`` (the statistic's unit: Hz for ``rate``, else a plain number)
and ``rtol`` (of the ensemble's mean) widen that limit, both 0 by default.

Every entry is checked (:func:`check_tolerances`): an unknown observable or field is an error, not
a tolerance silently unused.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..model import Model
from ..errors import ModelError
from ..units import to_internal

DEFAULT_RTOL = 1e-3
"""Default relative tolerance on the reference's range."""
SOLVER_RTOL = 1e-8
"""Resolution floor of the default tolerance, relative to max|x_ref| (see the module docstring)."""

ANALOG_FIELDS = frozenset({"atol", "rtol", "settle", "note"})
SPIKE_FIELDS = frozenset({"window", "count", "note"})
STATISTIC_FIELDS = frozenset({"atol", "rtol", "note"})
#: network statistics of a spiking population (``bridge compare --statistics``) and their units;
#: ``spectrum`` sets the default of every ``<band>_power`` of that population
STATISTICS = {"rate": "Hz", "cv": "1", "lv": "1", "fano": "1", "correlation": "1", "spectrum": "1"}


@dataclass(frozen=True)
class AnalogTolerance:
    """Limit on max|x - x_ref| of an analog or event observable (units of the signal; ms for settle)."""

    atol: float = 0.0
    rtol: float = DEFAULT_RTOL
    settle: float = 0.0
    note: str = ""
    floor: float = SOLVER_RTOL  # relative to max|x_ref|; 0 when atol or rtol is given

    def limit(self, reference_range: float, reference_magnitude: float = 0.0) -> float:
        """The limit for a reference signal of ``reference_range`` (max - min) and
        ``reference_magnitude`` (max |x|), in the signal's unit."""
        return self.atol + max(self.rtol * reference_range, self.floor * reference_magnitude)


@dataclass(frozen=True)
class SpikeTolerance:
    """Spike matching window (ms) and allowed spike-count difference per cell."""

    window: float
    count: int = 0
    note: str = ""


@dataclass(frozen=True)
class StatisticTolerance:
    """Widening of a statistic's seed-spread limit (see :mod:`bridge.harness.ensemble`): ``atol`` in the
    statistic's unit (Hz for ``rate``, else dimensionless) plus ``rtol`` times |ensemble mean|; 0 by default."""

    atol: float = 0.0
    rtol: float = 0.0
    note: str = ""


def statistic_tolerance(model: Model, population: str, statistic: str, backend: str) -> StatisticTolerance:
    """Tolerance of ``population.statistic`` for ``backend``; a band power ``<band>_power`` without an
    entry of its own uses the population's ``spectrum`` entry."""
    key = f"{population}.{statistic}"
    if key not in model.tolerances and statistic.endswith("_power"):
        key = f"{population}.spectrum"
    entry = _entry(model, key, backend)
    unit = STATISTICS.get(statistic, "1")
    path = f"tolerances.{key}"
    return StatisticTolerance(
        atol=to_internal(entry.get("atol", f"0 {unit}" if unit != "1" else 0), unit, f"{path}.atol", model.source),
        rtol=to_internal(entry.get("rtol", 0), "1", f"{path}.rtol", model.source),
        note=str(entry.get("note", "")))


def statistic_names(model: Model) -> dict[str, str]:
    """The statistics a tolerance entry may name for a spiking population: name -> unit (the band
    powers of the model's ``statistics.bands``, or of the default beta band)."""
    section = model.document.get("statistics")
    bands = (section or {}).get("bands") if isinstance(section, Mapping) else None
    names = dict(STATISTICS)
    names.update({f"{band}_power": "1" for band in (bands if isinstance(bands, Mapping) else {"beta": None})})
    return names


def _entry(model: Model, key: str, backend: str) -> dict[str, Any]:
    entry = model.tolerances.get(key) or {}
    if not isinstance(entry, Mapping):
        raise ModelError(f"{entry!r} is not a mapping", f"tolerances.{key}", "atol/rtol/window fields", model.source)
    merged = {k: v for k, v in entry.items() if k != "backends"}
    merged.update((entry.get("backends") or {}).get(backend) or {})
    return merged


def analog_tolerance(model: Model, key: str, unit: str, backend: str) -> AnalogTolerance:
    """Tolerance of the analog observable ``key`` (``"owner.variable"`` in ``unit``) for ``backend``."""
    entry = _entry(model, key, backend)
    path = f"tolerances.{key}"
    explicit = "atol" in entry or "rtol" in entry
    return AnalogTolerance(
        atol=to_internal(entry.get("atol", f"0 {unit}" if unit not in ("", "1") else 0), unit, f"{path}.atol", model.source),
        rtol=to_internal(entry.get("rtol", DEFAULT_RTOL), "1", f"{path}.rtol", model.source),
        settle=to_internal(entry.get("settle", "0 ms"), "ms", f"{path}.settle", model.source),
        note=str(entry.get("note", "")),
        floor=0.0 if explicit else SOLVER_RTOL,
    )


def spike_tolerance(model: Model, population: str, backend: str) -> SpikeTolerance:
    entry = _entry(model, f"{population}.spikes", backend)
    path = f"tolerances.{population}.spikes"
    window = to_internal(entry.get("window", f"{model.simulation.dt} ms"), "ms", f"{path}.window", model.source)
    count = entry.get("count", 0)
    if not isinstance(count, int) or count < 0:
        raise ModelError(f"{count!r} is not a count", f"{path}.count", "an integer >= 0", model.source)
    return SpikeTolerance(window=window, count=count, note=str(entry.get("note", "")))


def observables(model: Model) -> dict[str, dict[str, str]]:
    """What a tolerance entry may name: owner -> {observable: unit} (state variables, ``spikes`` of
    a spiking population in ms and its network statistics (:func:`statistic_names`), ``events`` of an
    event projection in its target's weight unit, species (nM) and read-outs of a network)."""
    found: dict[str, dict[str, str]] = {}
    statistics = statistic_names(model)
    for name, population in model.populations.items():
        kind = population.neuron_type
        spiking = {"spikes": "ms"} | statistics if kind.threshold is not None else {}
        found[name] = spiking | {s.name: s.unit for s in kind.states}
    for name, projection in model.projections.items():
        kind = projection.synapse.synapse_type
        found[name] = {s.name: s.unit for s in kind.states} if kind.continuous else {
            "events": model.populations[projection.target].neuron_type.weight_unit}
    if model.network is not None:
        network = model.network
        found[network.name] = {s: "nM" for s in network.species} | {r: o.unit for r, o in network.readouts.items()}
    return found


def check_tolerances(model: Model) -> None:
    """Raise :class:`ModelError` for a tolerance entry naming an unknown observable or field, or
    holding a value of the wrong kind or dimension (for the default and every backend it names)."""
    known = observables(model)
    for key, entry in model.tolerances.items():
        path = f"tolerances.{key}"
        owner, _, variable = str(key).rpartition(".")
        if owner not in known or variable not in known[owner]:
            choices = sorted(f"{o}.{v}" for o, variables in known.items() for v in variables)
            raise ModelError(f"{key!r} is not an observable of this model", path,
                             "one of " + ", ".join(choices), model.source)
        is_state = variable in {s.name for s in model.populations[owner].neuron_type.states} \
            if owner in model.populations else True
        statistic = owner in model.populations and not is_state and variable in statistic_names(model)
        fields = SPIKE_FIELDS if variable == "spikes" else STATISTIC_FIELDS if statistic else ANALOG_FIELDS
        if not isinstance(entry, Mapping):
            raise ModelError(f"{entry!r} is not a mapping", path, "a mapping of " + ", ".join(sorted(fields)),
                             model.source)
        _check_fields(entry, fields | {"backends"}, path, model)
        overrides = entry.get("backends") or {}
        if not isinstance(overrides, Mapping):
            raise ModelError(f"{overrides!r} is not a mapping", f"{path}.backends", "backend: {fields}", model.source)
        for backend, override in overrides.items():
            if not isinstance(override, Mapping):
                raise ModelError(f"{override!r} is not a mapping", f"{path}.backends.{backend}",
                                 "a mapping of " + ", ".join(sorted(fields)), model.source)
            _check_fields(override, fields, f"{path}.backends.{backend}", model)
        for backend in ["reference", *overrides]:  # parse every value (units, counts)
            if variable == "spikes":
                spike_tolerance(model, owner, backend)
            elif statistic:
                statistic_tolerance(model, owner, variable, backend)
            else:
                analog_tolerance(model, key, known[owner][variable], backend)


def _check_fields(entry: Mapping, allowed: frozenset[str] | set[str], path: str, model: Model) -> None:
    for name in entry:
        if name not in allowed:
            raise ModelError(f"unknown field {name!r}", f"{path}.{name}", "one of " + ", ".join(sorted(allowed)),
                             model.source)
