"""What a reaction-network run samples, and how the samples become a result (shared by the backends).

Every recording of the network (``population: <network name>``) samples its variables at
:meth:`~bridge.model.Model.sample_times` (every ``interval``, optionally inside a ``start``/``stop``
window).  Several recordings may list the same variable (e.g. every 10 s over the whole run and every
1 ms over the stimulation): its signal then holds the union of their samples, in time order.  A
backend samples only the species the recorded variables need (:attr:`SamplePlan.species`) at the union
of all sample times (:attr:`SamplePlan.times`), and calls :func:`signals` with those values.

Besides samples, a backend feeds every state its solver stepped through to an
:class:`~bridge.model.reactions.Extremes` (from :func:`extremes`): the true peak and minimum of every
recorded variable, with their times, land in ``result.metadata["extremes"]`` (keys
``"<network>.<variable>"``), whatever the sampling.  Units: times in ms, species in nM.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Model
from ..model.reactions import Extremes
from ..result import Result, Signal


@dataclass
class SamplePlan:
    """``times``: union of every network recording's sample times (ms, sorted); ``species``: the
    species needed by the recorded variables (species order); ``variables``: each recorded variable ->
    its own sample times (ms, a subset of ``times``)."""

    times: np.ndarray
    species: list[str]
    variables: dict[str, np.ndarray]


def network_recordings(model: Model) -> list:
    """The model's recordings of its reaction network."""
    network = model.network
    assert network is not None
    return [r for r in model.recordings.values() if r.population == network.name and r.projection is None]


def sample_plan(model: Model) -> SamplePlan:
    """The sample times and species of every recording of ``model.network``."""
    network = model.network
    assert network is not None
    per_variable: dict[str, list[np.ndarray]] = {}
    for recording in network_recordings(model):
        times = model.sample_times(recording)
        for variable in recording.variables:
            per_variable.setdefault(variable, []).append(times)
    variables = {v: np.unique(np.concatenate(t)) for v, t in per_variable.items()}
    times = np.unique(np.concatenate(list(variables.values()) + [np.empty(0)]))
    return SamplePlan(times, network.species_for(list(variables)), variables)


def extremes(model: Model, plan: SamplePlan) -> Extremes:
    """A tracker of the peak and minimum of every recorded variable (fed by the backend every step)."""
    network = model.network
    assert network is not None
    return Extremes(network, list(plan.variables))


def signals(model: Model, plan: SamplePlan, values: np.ndarray) -> dict[tuple[str, str], Signal]:
    """Signals ``(network name, variable)`` from ``values`` (nM), shape ``(len(plan.times),
    len(plan.species))``: species in nM, read-outs in their unit."""
    network = model.network
    assert network is not None
    if values.shape != (len(plan.times), len(plan.species)):
        raise RuntimeError(f"{values.shape} samples, expected {(len(plan.times), len(plan.species))}")
    out = {}
    for variable, times in plan.variables.items():
        rows = np.searchsorted(plan.times, times)
        concentrations = {s: values[rows, j] for j, s in enumerate(plan.species)}
        data, unit = network.recorded([variable], concentrations)[variable]
        out[(network.name, variable)] = Signal(times, np.asarray(data, float)[:, None], unit, [0])
    return out


def finish(result: Result, model: Model, plan: SamplePlan, values: np.ndarray, tracker: Extremes) -> Result:
    """Put the signals and the extremes (``metadata["extremes"]``) of a network run into ``result``."""
    network = model.network
    assert network is not None
    result.signals.update(signals(model, plan, values))
    result.metadata["extremes"] = {f"{network.name}.{v}": e for v, e in tracker.summary().items()}
    return result


__all__ = ["SamplePlan", "extremes", "finish", "network_recordings", "sample_plan", "signals"]
