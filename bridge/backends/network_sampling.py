"""What a reaction-network run samples, and how the samples become a result (shared by the backends).

Every recording of the network (``population: <network name>``) samples its variables at
:meth:`~bridge.model.Model.sample_times` (every ``interval``, optionally inside a ``start``/``stop``
window).  Several recordings may list the same variable (e.g. every 10 s over the whole run and every
1 ms over the stimulation): its signal then holds the union of their samples, in time order.  A
backend samples, for each recording, the species its variables need at its sample times
(:attr:`SamplePlan.groups`), and calls :func:`signals` with them.

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
class SampleGroup:
    """One recording's samples: its ``times`` (ms) and the ``species`` its variables need."""

    times: np.ndarray
    species: list[str]


@dataclass
class SamplePlan:
    """``groups``: one :class:`SampleGroup` per recording of the network; ``species``: every species a
    recorded variable needs (species order; what per-step tracking keeps); ``variables``: each recorded
    variable -> the indices of the groups (recordings) that sample it."""

    groups: list[SampleGroup]
    species: list[str]
    variables: dict[str, list[int]]

    @property
    def samples(self) -> int:
        """Values stored: sample times x species, summed over the groups."""
        return sum(len(g.times) * len(g.species) for g in self.groups)


def network_recordings(model: Model) -> list:
    """The model's recordings of its reaction network."""
    network = model.network
    assert network is not None
    return [r for r in model.recordings.values() if r.population == network.name and r.projection is None]


def sample_plan(model: Model) -> SamplePlan:
    """The sample times and species of every recording of ``model.network``: a recording stores only
    the species its own variables need at its own times (a 1 ms window of Ca costs one value per ms,
    whatever else is recorded sparsely)."""
    network = model.network
    assert network is not None
    groups, variables = [], {}
    for recording in network_recordings(model):
        for variable in recording.variables:
            variables.setdefault(variable, []).append(len(groups))
        groups.append(SampleGroup(model.sample_times(recording), network.species_for(recording.variables)))
    return SamplePlan(groups, network.species_for(list(variables)), variables)


def extremes(model: Model, plan: SamplePlan) -> Extremes:
    """A tracker of the peak and minimum of every recorded variable (fed by the backend every step)."""
    network = model.network
    assert network is not None
    return Extremes(network, list(plan.variables))


def signals(model: Model, plan: SamplePlan, values: list[np.ndarray]) -> dict[tuple[str, str], Signal]:
    """Signals ``(network name, variable)`` from ``values[g]`` (nM), shape ``(len(times), len(species))``
    of group ``g``: species in nM, read-outs in their unit; a variable sampled by several recordings
    gets the union of their samples in time order."""
    network = model.network
    assert network is not None
    for group, data in zip(plan.groups, values):
        if data.shape != (len(group.times), len(group.species)):
            raise RuntimeError(f"{data.shape} samples, expected {(len(group.times), len(group.species))}")
    out = {}
    for variable, indices in plan.variables.items():
        times, data, unit = [], [], "nM"
        for g in indices:
            group = plan.groups[g]
            concentrations = {s: values[g][:, j] for j, s in enumerate(group.species)}
            column, unit = network.recorded([variable], concentrations)[variable]
            times.append(group.times)
            data.append(np.asarray(column, float))
        all_times = np.concatenate(times)
        merged, first = np.unique(all_times, return_index=True)  # sorted; one value per time
        out[(network.name, variable)] = Signal(merged, np.concatenate(data)[first][:, None], unit, [0])
    return out


def finish(result: Result, model: Model, plan: SamplePlan, values: list[np.ndarray], tracker: Extremes) -> Result:
    """Put the signals and the extremes (``metadata["extremes"]``) of a network run into ``result``."""
    network = model.network
    assert network is not None
    result.signals.update(signals(model, plan, values))
    result.metadata["extremes"] = {f"{network.name}.{v}": e for v, e in tracker.summary().items()}
    return result


__all__ = ["SampleGroup", "SamplePlan", "extremes", "finish", "network_recordings", "sample_plan", "signals"]
