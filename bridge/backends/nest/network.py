"""One model built in NEST's kernel: nodes, devices, connections and recorders, and its result.

On several MPI ranks (a NEST built with MPI) every rank creates every node and device (NEST places
each node on one virtual process), but sets the spike trains of, connects onto, and reports the
samples and spikes of its own nodes only, drawing only their connections and trains
(:mod:`bridge.model.drawing`); its share of the result is a :class:`~..parts.RankPart`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...model import Model, Population, Projection, Recording, Stimulus, steps
from ...progress import reporter
from ...timegrid import grid_times, to_grid
from ..parts import PartSignal, RankPart
from ..substeps import substeps
from .mapping import (CONNECT_CHUNK, TUM_MODEL, TUM_RECEPTOR, dc_edges, dc_parameter, is_tum_projection, native,
                      nest_parameters, quirks, receptor_and_weight, tics_per_ms)
from .nestml import install_models


@dataclass
class NestNetwork:
    """One model built in NEST's kernel: nodes, devices and recorders."""

    nest: Any
    model: Model
    nodes: dict[str, np.ndarray] = field(default_factory=dict)
    #: the indices of the nodes of each population and spike source that live on this rank
    local: dict[str, np.ndarray] = field(default_factory=dict)
    rank: int = 0
    ranks: int = 1
    multimeters: dict[str, Any] = field(default_factory=dict)
    spike_recorders: dict[str, Any] = field(default_factory=dict)
    _copies: dict = field(default_factory=dict)  # synapse-model copies made by connect(), by defaults
    #: NESTML modules compiled for this run (the others came from the cache)
    compiled: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._reset_kernel()
        # after the reset, which unloads extension modules
        self.compiled = install_models(self.nest, [p.neuron_type for p in self.model.populations.values()])
        tum_targets = {p.target for p in self.model.projections.values() if is_tum_projection(self.model, p)}
        for name, population in self.model.populations.items():
            self.nodes[name] = self._create_population(population, name in tum_targets)
            self.local[name] = self._local_indices(self.nodes[name])
        for name, stimulus in self.model.spike_sources().items():
            self.nodes[name] = self._create_spike_source(stimulus)
        for stimulus in self.model.current_stimuli().values():
            self._create_dc(stimulus)
        for projection in self.model.projections.values():
            self._connect_projection(projection)
        for recording in self.model.recordings.values():
            self._create_recorders(recording)

    # ------------------------------------------------------------------ kernel and nodes
    @property
    def dt(self) -> float:
        return self.model.simulation.dt

    def _reset_kernel(self) -> None:
        simulation = self.model.simulation
        self.nest.ResetKernel()
        self.nest.set(tics_per_ms=tics_per_ms(simulation.dt), resolution=simulation.dt,
                      local_num_threads=simulation.threads, rng_seed=simulation.seed % (2**32 - 2) + 1)

    def _create_population(self, population: Population, tum_target: bool) -> np.ndarray:
        """Create the NEST nodes of ``population``; ``tum_target``: it receives iaf_tum_2000 spikes."""
        kind = population.neuron_type
        mapping = native(kind)
        model = TUM_MODEL if tum_target else mapping.model
        params = nest_parameters(kind, population.parameters)
        unsettable = quirks(kind).unsettable
        params.update({mapping.name_of(k): v for k, v in population.initial.items()
                       if mapping.name_of(k) not in unsettable})
        if "I_e" in params:
            params["I_e"] *= self.current_weight(population.name)
        if "substeps_parameter" in mapping.options:  # a generated NESTML model: NEURON's Runge–Kutta sub-steps
            params[mapping.options["substeps_parameter"]] = substeps(population, self.dt)
        nodes = self.nest.Create(model, population.size, params=params)
        return np.asarray(nodes.tolist(), dtype=int)

    def _local_indices(self, nodes: np.ndarray) -> np.ndarray:
        """Indices (into ``nodes``, ascending node ids) of the nodes that live on this rank."""
        if self.ranks == 1:
            return np.arange(len(nodes), dtype=np.int64)
        # NodeCollection.local is one flag per node, but a bare bool for a single node (which makes
        # nest.GetLocalNodeCollection fail on a one-cell population that lives on another rank)
        flags = np.atleast_1d(np.asarray(self.nest.NodeCollection(nodes.tolist()).local, dtype=bool))
        return np.flatnonzero(flags).astype(np.int64)

    def _local_of(self, population: str, indices) -> np.ndarray:
        """The distinct cell ``indices`` of ``population`` that live on this rank, ascending (int64)."""
        return np.intersect1d(np.asarray(indices, dtype=np.int64), self.local[population])

    def current_weight(self, population: str) -> float:
        """Factor applied to a current (pA) injected into ``population`` (1/C_m for izhikevich)."""
        pop = self.model.populations[population]
        scale = native(pop.neuron_type).options.get("current_scale")
        return 1.0 / pop.parameters[scale] if scale else 1.0

    def _create_spike_source(self, stimulus: Stimulus) -> np.ndarray:
        """One spike_train_injector per train; times on the grid (ms), drawn and set for this rank's
        injectors only."""
        created = self.nest.Create(native(stimulus.stimulus_type).model, stimulus.size)
        nodes = np.asarray(created.tolist(), dtype=int)
        self.local[stimulus.name] = local = self._local_indices(nodes)
        if len(local):
            mine = self.nest.NodeCollection(nodes[local].tolist())
            mine.set([{"spike_times": to_grid(train, self.dt)} for train in stimulus.trains_of(local)])
        return nodes

    def _create_dc(self, stimulus: Stimulus) -> None:
        """A DC step as its edges: one from 0 ms adds to I_e (a NESTML model's ``bridge_I_e``), a later
        one is a dc_generator started dt early, because the device connection delays its current by dt."""
        cells = self.nodes[stimulus.target][self._local_of(stimulus.target, stimulus.indices)]
        weight = self.current_weight(stimulus.target)
        parameter = dc_parameter(self.model.populations[stimulus.target].neuron_type)
        for start, change in dc_edges(stimulus, self.model.simulation.duration):
            if steps(start, self.dt) == 0:
                if not len(cells):
                    continue
                targets = self.nest.NodeCollection(cells.tolist())
                targets.set({parameter: [i + change * weight for i in np.atleast_1d(targets.get(parameter))]})
                continue
            generator = self.nest.Create(native(stimulus.stimulus_type).model,
                                         params={"amplitude": change, "start": start - self.dt})
            self.connect(np.full(len(cells), generator.global_id), cells, "static_synapse",
                         weight=weight, delay=self.dt)

    # ------------------------------------------------------------------ connections
    def connect(self, sources: np.ndarray, targets: np.ndarray, synapse_model: str, weight: float,
                delay: float, **parameters: float) -> None:
        """Connect ``sources[i]`` to ``targets[i]`` (NEST node ids); weight, delay (ms) and synapse
        parameters are the same for every connection.

        They become the defaults of a copy of ``synapse_model`` (one per call), so that NEST's array
        connection gets no per-connection parameter arrays (8 bytes per connection and parameter in
        Python, and a parameter dictionary per connection in NEST: 1.6 M tsodyks2 connections took
        3.2 s and 425 MiB that way, 0.6 s and 257 MiB with the copy).  The copy is made even when
        there is nothing to connect, so that every MPI rank has the same synapse models."""
        n = len(sources)
        defaults = {"weight": float(weight), "delay": float(delay),
                    **{key: float(value) for key, value in parameters.items() if key != "receptor_type"}}
        key = (synapse_model, tuple(sorted(defaults.items())))
        copy = self._copies.get(key)
        if copy is None:
            copy = self._copies[key] = f"bridge_{synapse_model}_{len(self._copies)}"
            self.nest.CopyModel(synapse_model, copy, defaults)
        if n == 0:
            return
        syn_spec: dict[str, Any] = {"synapse_model": copy}
        if "receptor_type" in parameters:  # a connection property, not a synapse-model default
            syn_spec["receptor_type"] = np.full(n, float(parameters["receptor_type"]))
        self.nest.Connect(np.asarray(sources, dtype=np.int64), np.asarray(targets, dtype=np.int64),
                          conn_spec="one_to_one", syn_spec=syn_spec)

    def _connect_projection(self, projection: Projection) -> None:
        synapse = projection.synapse
        mapping = native(synapse.synapse_type)
        parameters = nest_parameters(synapse.synapse_type, synapse.parameters)
        parameters.update({mapping.name_of(k): v for k, v in synapse.initial.items()})
        receptor, weight = receptor_and_weight(self.model, projection)
        if receptor is not None:
            parameters["receptor_type"] = receptor
        if is_tum_projection(self.model, projection):
            parameters["receptor_type"] = TUM_RECEPTOR
        sources, targets = self.nodes[projection.source], self.nodes[projection.target]
        self.connect(sources[:0], targets[:0], mapping.model, weight, projection.delay, **parameters)
        # the connections onto this rank's nodes, one block of targets at a time
        for pairs in projection.connector.blocks(self.local[projection.target]):
            for start in range(0, len(pairs), CONNECT_CHUNK):  # bounded temporary node-id arrays
                block = pairs[start:start + CONNECT_CHUNK]
                self.connect(sources[block[:, 0]], targets[block[:, 1]], mapping.model,
                             weight, projection.delay, **parameters)

    # ------------------------------------------------------------------ recording
    def _create_recorders(self, recording: Recording) -> None:
        if recording.variables:
            mapping = native(self.model.populations[recording.population].neuron_type)
            meter = self.nest.Create("multimeter", params={"record_from": [mapping.name_of(v) for v in recording.variables],
                                                           "interval": recording.interval})
            cells = sorted(set(recording.indices))
            self.nest.Connect(meter, self.nest.NodeCollection(self.nodes[recording.population][cells].tolist()))
            self.multimeters[recording.name] = meter
        if recording.spikes and recording.population not in self.spike_recorders:
            recorder = self.nest.Create("spike_recorder", params={"time_in_steps": True})
            self.nest.Connect(self.nest.NodeCollection(self.nodes[recording.population].tolist()), recorder)
            self.spike_recorders[recording.population] = recorder

    def simulate(self) -> None:
        """Run to ``duration + dt``: NEST hands over the sample of the last step one step late.  While
        progress is displayed, in pieces (``nest.Run`` inside one ``RunManager``, the same steps
        as one ``Simulate``) after each of which the simulated time is reported."""
        report = reporter()
        report.phase("integrating", self.model.simulation.duration)
        end = self.model.simulation.duration + self.dt
        if not report.live:
            self.nest.Simulate(end)
            return
        with self.nest.RunManager():
            previous = 0
            for done, _ in report.stops(end, self.dt):
                self.nest.Run((done - previous) * self.dt)
                previous = done

    def part(self) -> RankPart:
        """This rank's samples and spikes (its own nodes')."""
        part = RankPart(rank=self.rank, ranks=self.ranks)
        for recording in self.model.recordings.values():
            if recording.name in self.multimeters:
                part.signals.update(self._signals(recording))
        for population, recorder in self.spike_recorders.items():
            part.spikes[population] = self._spikes(population, recorder)
        return part

    def _signals(self, recording: Recording) -> dict[tuple[str, str], PartSignal]:
        """Samples of this rank's recorded cells, as (sample, cell) arrays at the model's sample times."""
        events = self.multimeters[recording.name].events
        times = self.model.sample_times(recording)
        row = np.rint(np.asarray(events["times"]) / recording.interval).astype(int) - 1
        keep = (row >= 0) & (row < len(times))
        cells = self._local_of(recording.population, recording.indices).tolist()
        column_of = {int(node): j for j, node in enumerate(self.nodes[recording.population][cells])}
        column = np.array([column_of[int(s)] for s in np.asarray(events["senders"])[keep]], dtype=int)
        kind = self.model.populations[recording.population].neuron_type
        states = {s.name: s.unit for s in kind.states}
        signals = {}
        for variable in recording.variables:
            values = np.full((len(times), len(cells)), np.nan)
            values[row[keep], column] = np.asarray(events[native(kind).name_of(variable)], dtype=float)[keep]
            if np.isnan(values).any():
                raise RuntimeError(f"NEST returned incomplete samples of {recording.population}.{variable}")
            signals[(recording.population, variable)] = PartSignal(times, values, states[variable], cells)
        return signals

    def _spikes(self, population: str, recorder: Any) -> tuple[np.ndarray, np.ndarray]:
        """(spike times ms, cell indices) of this rank's cells, from a recorder in steps, up to the duration."""
        events = recorder.events
        senders = np.asarray(events["senders"], dtype=int)
        times = grid_times(np.asarray(events["times"]), self.dt)
        keep = times <= self.model.simulation.duration + 0.5 * self.dt
        return times[keep], np.searchsorted(self.nodes[population], senders[keep]).astype(np.int64)
