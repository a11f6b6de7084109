"""The validated model description: plain dataclasses, every quantity a float in internal units.

Build one with :func:`bridge.model.loader.load` (YAML/JSON file) or
:func:`bridge.model.loader.from_dict` (Python API); both check names, units and ranges.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .drawing import Connector, PoissonDraw
from .reactions import ReactionNetwork

from ..timegrid import grid_times
from ..catalog.base import NeuronType, StimulusType, SynapseType
from ..catalog.stimuli import STIMULI
from ..limits import Estimate


def steps(time_ms: float, dt_ms: float) -> int:
    """Number of whole time steps in ``time_ms`` (for times known to lie on the grid)."""
    return int(round(time_ms / dt_ms))


@dataclass
class Simulation:
    """Simulation settings: ``duration`` and ``dt`` in ms, ``seed`` for random inputs, ``threads``
    per process (NEST) and MPI ``ranks`` (NEURON, NEST built with MPI)."""

    duration: float
    dt: float
    seed: int = 0
    threads: int = 1
    ranks: int = 1

    @property
    def n_steps(self) -> int:
        return steps(self.duration, self.dt)


@dataclass
class Population:
    """``size`` cells of the neuron type ``neuron_type`` (named ``type``, built-in or declared by
    the model); ``parameters``/``initial`` complete, in internal units."""

    name: str
    type: str
    size: int
    parameters: dict[str, float]
    initial: dict[str, float]
    neuron_type: NeuronType


@dataclass
class Stimulus:
    """A current stimulus (``target`` set) or a spike source of ``size`` trains (times in ms on the
    grid): ``explicit`` trains as written in the model, or Poisson trains drawn on demand by ``poisson``
    (per block of trains, see :mod:`bridge.model.drawing`)."""

    name: str
    type: str
    parameters: dict[str, float]
    target: str | None = None
    indices: list[int] | range | None = None
    size: int = 0
    explicit: list[np.ndarray] | None = None
    poisson: PoissonDraw | None = None
    _drawn: list[np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def stimulus_type(self) -> StimulusType:
        return STIMULI[self.type]

    @property
    def trains(self) -> list[np.ndarray]:
        """Every train (drawn on first use and kept; a worker that needs only some uses :meth:`trains_of`)."""
        if self._drawn is None:
            self._drawn = self.trains_of(None)
        return self._drawn

    def trains_of(self, indices: np.ndarray | None) -> list[np.ndarray]:
        """The trains ``indices`` (sorted; None: all), drawing only the blocks that hold them."""
        if self.poisson is not None:
            return self.poisson.trains(indices)
        trains = self.explicit or []
        return list(trains) if indices is None else [trains[i] for i in np.asarray(indices).tolist()]

    def release_trains(self) -> None:
        """Drop the drawn trains (``size`` stays): for a backend worker once its simulator holds a copy."""
        self._drawn = []

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_drawn": None}  # drawn trains never travel: the worker draws them


@dataclass
class Synapse:
    """The synapse type ``synapse_type`` (named ``type``) with complete ``parameters`` and ``initial``
    state (internal units)."""

    type: str
    parameters: dict[str, float]
    initial: dict[str, float]
    synapse_type: SynapseType


@dataclass
class Projection:
    """Connections from ``source`` (population or spike source) to ``target`` population.

    ``connector`` draws the connections per block of targets (:mod:`bridge.model.drawing`);
    :attr:`pairs` is all of them as an ``(n, 2)`` integer array of (source index, target index).
    ``weight`` is in the target's weight unit (pA or nS; negative = inhibitory), ``delay`` in ms (a
    multiple of dt).  ``receptor`` is the target's port an event synapse acts on
    (``excitatory``/``inhibitory`` by the weight's sign unless the model names one; empty for
    continuous synapses).
    """

    name: str
    source: str
    target: str
    rule: str
    connector: Connector
    synapse: Synapse
    weight: float
    delay: float
    receptor: str = ""
    #: factor the model's ``scale`` multiplied the written weight by (see :mod:`bridge.model.scaling`)
    weight_factor: float = 1.0
    _drawn: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def pairs(self) -> np.ndarray:
        """Every connection (drawn on first use and kept; a worker that simulates some targets uses
        ``connector.blocks(targets)``)."""
        if self._drawn is None:
            self._drawn = self.connector.pairs()
        return self._drawn

    def jump(self, target_type: NeuronType) -> tuple[str, float]:
        """(receptor state of ``target_type``, factor of the weight) of this event projection: a
        negative weight is multiplied by the target's ``inhibitory_sign`` (conductances add |w|)."""
        sign = float(target_type.inhibitory_sign) if self.weight < 0 else 1.0
        return target_type.receptors[self.receptor], sign

    def release_pairs(self) -> None:
        """Drop the drawn connection pairs (:attr:`pairs` is then empty): for a backend worker once its
        simulator holds a copy."""
        self._drawn = np.empty((0, 2), dtype=np.int32)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_drawn": None}  # drawn pairs never travel: the worker draws them


@dataclass
class Recording:
    """What to record: state ``variables`` every ``interval`` ms and/or ``spikes`` of a population,
    or the state of a continuous synapse (``projection`` set; ``indices`` are connection indices).

    ``owner`` (the population or projection name) is the first part of the result's signal keys.
    ``start``/``stop`` (ms; reaction networks only) restrict the samples to a window.
    """

    name: str
    population: str
    variables: list[str]
    spikes: bool
    indices: list[int] | range
    interval: float
    projection: str | None = None
    start: float = 0.0
    stop: float | None = None

    @property
    def owner(self) -> str:
        return self.projection or self.population


@dataclass
class Model:
    """A complete, validated model."""

    name: str
    simulation: Simulation
    populations: dict[str, Population]
    stimuli: dict[str, Stimulus]
    projections: dict[str, Projection]
    recordings: dict[str, Recording]
    description: str = ""
    tolerances: dict[str, Any] = field(default_factory=dict)
    source: str = "<model>"
    document: dict[str, Any] = field(default_factory=dict)
    #: a well-mixed reaction network (see :mod:`bridge.model.reactions`), or None
    network: "ReactionNetwork | None" = None
    #: the types the model file declares itself or includes (name -> type), not the built-in ones
    types: dict[str, NeuronType | SynapseType] = field(default_factory=dict)
    #: the cost estimated while the model was read (:mod:`bridge.limits`)
    estimate: Estimate = field(default_factory=Estimate)

    def size_of(self, name: str) -> int:
        """Number of cells (population) or trains (spike source) called ``name``."""
        if name in self.populations:
            return self.populations[name].size
        return self.stimuli[name].size

    def sample_times(self, recording: Recording) -> np.ndarray:
        """Recording sample times (ms): interval, 2*interval, ..., up to the duration; with a window,
        the multiples of the interval in [start, stop] (and <= the duration); grid times, see
        :mod:`bridge.timegrid`."""
        n = steps(self.simulation.duration, recording.interval)
        every = steps(recording.interval, self.simulation.dt)
        if recording.start == 0 and recording.stop is None:
            multiples = np.arange(1, n + 1)
        else:
            first = max(1, int(np.ceil(recording.start / recording.interval - 1e-9)))
            stop = self.simulation.duration if recording.stop is None else min(recording.stop, self.simulation.duration)
            multiples = np.arange(first, min(n, int(np.floor(stop / recording.interval + 1e-9))) + 1)
        return grid_times(multiples * every, self.simulation.dt)

    def spike_sources(self) -> dict[str, Stimulus]:
        return {k: s for k, s in self.stimuli.items() if s.stimulus_type.spike_source}

    def current_stimuli(self) -> dict[str, Stimulus]:
        return {k: s for k, s in self.stimuli.items() if not s.stimulus_type.spike_source}
