"""A cell model built as Brian2 objects (groups, spike sources, synapses, monitors) and the conversion
of the monitors to a :class:`~bridge.result.Result` (the semantics are described in
:mod:`bridge.backends.brian2`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...catalog.base import NeuronType, SynapseType
from ...model import Model, Population, Projection, Recording, steps
from ...result import Result, Signal, split_spikes
from ...timegrid import rank_in_runs, to_grid
from . import codegen as gen
from .methods import LINEAR_METHOD, LOCATED_METHOD, NONLINEAR_METHOD, integrator

SCHEDULE = ["start", "groups", "synapses", "thresholds", "resets", "end"]
CONNECT_CHUNK = 1 << 21
"""Connections per ``Synapses.connect`` call (see :meth:`Brian2Network._connect`)."""
CONNECTION_INDEX = "connection_syn"
"""Per-synapse index of its connection in a shared-state group (see :meth:`Brian2Network._shared_state`)."""


def max_multiplicity(trains: list[np.ndarray]) -> int:
    """Largest number of spikes of one train on one grid point."""
    ticks = [np.round(np.asarray(t) * 1e6).astype(np.int64) for t in trains if len(t)]
    counts = [np.unique(t, return_counts=True)[1] for t in ticks]
    return max((int(c.max()) for c in counts), default=1)


@dataclass
class _Recorder:
    """Monitors of one recording."""

    recording: Recording
    states: Any = None
    spikes: Any = None


@dataclass
class Brian2Network:
    """The Brian2 objects of one model, and the conversion of their monitors to a :class:`Result`."""

    b2: Any
    model: Model
    method_override: str | None
    groups: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # name -> (offset, size, layers)
    source_group: Any = None
    shared_spikes: dict[str, tuple[Any, int, int]] = field(default_factory=dict)
    clocks: dict[float, Any] = field(default_factory=dict)
    synapses: dict[str, Any] = field(default_factory=dict)
    recorders: list[_Recorder] = field(default_factory=list)
    methods: dict[str, str] = field(default_factory=dict)
    collected: dict[str, Any] = field(default_factory=dict)
    #: free each event projection's pairs and each spike source's trains once Brian2 holds them (the
    #: model is the worker's private copy): 8 B per synapse, 8 B per input spike
    release_model_arrays: bool = False

    def __post_init__(self) -> None:
        b2 = self.b2
        self.dt = self.model.simulation.dt
        self.run_time = (self.model.simulation.duration + self.dt) * b2.ms
        self.placement: dict[str, tuple[Any, int]] = {}  # population -> (its NeuronGroup, first index)
        objects: list[Any] = []
        continuous = self._continuous_currents()
        for members in self._population_sets(continuous):
            objects += self._neuron_group(members, continuous.get(members[0].name, []))
        sources = self.model.spike_sources()
        if sources:
            objects.append(self._spike_sources(sources))
            if self.release_model_arrays:
                for stimulus in sources.values():
                    stimulus.release_trains()
        for projections in self._projection_sets():
            objects += self._projection(projections)
        objects += self._spike_monitors()
        for recording in self.model.recordings.values():
            objects += self._recorder(recording)
        self.network = b2.Network(objects)
        self.network.schedule = SCHEDULE

    def _population_sets(self, continuous: dict[str, list[str]]) -> list[list[Population]]:
        """Populations simulated by one NeuronGroup each (as subgroups, in model order).

        Brian2 calls every code object from Python at every step, so populations of one type with
        the same parameters share a group (as in a hand-written script): the same per-cell
        arithmetic, fewer objects.  Populations receiving continuous-synapse currents stay alone.
        """
        sets: dict[Any, list[Population]] = {}
        for population in self.model.populations.values():
            values = tuple(sorted((k, gen.uniform(v)) for k, v in population.parameters.items()))
            mergeable = population.name not in continuous and all(v is not None for _, v in values)
            key = (population.type, values) if mergeable else ("alone", population.name)
            sets.setdefault(key, []).append(population)
        return list(sets.values())

    # ------------------------------------------------------------------ neurons
    def _continuous_currents(self) -> dict[str, list[str]]:
        """Names of the summed current variables each target population receives (pA)."""
        currents: dict[str, list[str]] = {}
        for projection in self.model.projections.values():
            if projection.synapse.synapse_type.continuous:
                currents.setdefault(projection.target, []).extend(
                    f"I_{projection.name}{half}" for half in gen.COUPLING_HALVES)
        return currents

    def _method(self, linear: bool, located: bool = False) -> str:
        """Integration method: ``located`` threshold types always get their own (see
        :func:`.codegen.located_state_update`; the backend refuses a method override for them)."""
        if located:
            return LOCATED_METHOD
        return self.method_override or (LINEAR_METHOD if linear else NONLINEAR_METHOD)

    def _neuron_group(self, members: list[Population], currents: list[str]) -> list[Any]:
        b2, kind = self.b2, members[0].neuron_type
        located = bool(gen.located_probe_variables(kind))
        method = self._method(kind.linear and not currents, located)
        size = sum(p.size for p in members)
        profiles: dict[str, np.ndarray] = {}
        masks: dict[str, np.ndarray] = {}
        offset = 0
        for population in members:
            self.methods[population.name] = method
            member_profiles, member_masks = self._dc_inputs(population)
            profiles.update(member_profiles)
            for name, mask in member_masks.items():
                masks[name] = np.zeros(size)
                masks[name][offset:offset + population.size] = mask
            offset += population.size
        options = _spiking_options(kind)
        namespace: dict[str, Any] = {f"dc_{name}": b2.TimedArray(profile, dt=self.dt * b2.ms)
                                     for name, profile in profiles.items()}
        # parameters with one value for the group are namespace constants, not per-cell arrays
        first = members[0]
        constants = {name: gen.uniform(value) for name, value in first.parameters.items()
                     if gen.uniform(value) is not None}
        namespace.update(constants)
        name = "pop_" + _joined([p.name for p in members])
        group = b2.NeuronGroup(size, gen.neuron_equations(kind, currents, [f"dcmask_{n}" for n in masks], constants),
                               method=integrator(method, gen.located_state_update(kind) if located else None),
                               name=name, namespace=namespace, **options)
        parameters = {k: v for k, v in first.parameters.items() if k not in constants}
        values: dict[str, Any] = {**parameters, **{c: 0.0 for c in currents}, "I_dc": 0.0,
                                  **{f"dcmask_{n}": mask for n, mask in masks.items()}}
        initial = _concatenated([p.initial for p in members], [p.size for p in members])
        values.update(initial)
        if kind.emits:
            values["last_emit"] = 0.0 * b2.ms
        for state in kind.equations if located else ():
            values.update({gen.substep_start(state): initial[state], gen.step_end(state): initial[state]})
        if located:
            values[gen.SUBSTEP] = 0.0
        for variable, value in values.items():
            setattr(group, variable, value)
        if profiles:
            code = "I_dc = " + " + ".join(f"dc_{n}(t)*dcmask_{n}" for n in profiles)
            group.run_regularly(code, when="before_groups", name=f"dc_{name}")
        offset = 0
        for population in members:
            self.placement[population.name] = (group, offset)
            self.groups[population.name] = group if len(members) == 1 else group[offset:offset + population.size]
            offset += population.size
        return [group]

    def _dc_inputs(self, population: Population) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per DC stimulus into ``population``: its current (pA) at each step start, and its cell mask."""
        n_steps = self.model.simulation.n_steps
        k = np.arange(n_steps + 2)
        profiles, masks = {}, {}
        for name, stimulus in self.model.current_stimuli().items():
            if stimulus.target != population.name:
                continue
            p = stimulus.parameters
            stop = steps(p["stop"], self.dt) if np.isfinite(p["stop"]) else n_steps + 2
            profiles[name] = np.where((k >= steps(p["start"], self.dt)) & (k < stop), p["amplitude"], 0.0)
            masks[name] = np.zeros(population.size)
            masks[name][stimulus.indices] = 1.0
        return profiles, masks

    # ------------------------------------------------------------------ sources
    def _spike_sources(self, sources: dict[str, Any]) -> Any:
        """One SpikeGeneratorGroup for every spike source, each emitting at clock ``t_s - dt``.

        Source ``k`` occupies the block ``[offset_k, offset_k + size_k*layers_k)``: a train with
        several spikes in one step is spread over ``layers_k`` copies of the source (index +
        layer*size_k)."""
        b2 = self.b2
        indices, ticks, offset = [], [], 0
        for name, stimulus in sources.items():
            trains = stimulus.trains
            size = len(trains)
            layers = max_multiplicity(trains)
            # vectorised (a Python loop per spike took seconds for 10^6 spikes): the layer of a spike
            # is the number of earlier spikes of its train on the same grid point (trains are sorted)
            index = np.repeat(np.arange(size, dtype=np.int32), [len(t) for t in trains])
            tick = np.rint(np.concatenate([np.asarray(t, dtype=float) for t in trains] or [np.empty(0)])
                           / self.dt).astype(np.int32)
            if layers > 1:
                new_run = np.ones(len(tick), dtype=bool)
                new_run[1:] = (index[1:] != index[:-1]) | (tick[1:] != tick[:-1])
                layer = rank_in_runs(new_run)
                index = index + (layer * size).astype(np.int32)
            index += np.int32(offset)
            indices.append(index)
            ticks.append(tick)
            self.sources[name] = (offset, size, layers)
            offset += size * layers
        # Brian2 wants the spikes ordered by time, then index; sorting here (int32 keys) and passing
        # ``sorted=True`` saves the copies Brian2's own sort would make (10^7 spikes at N = 16 000)
        index, tick = np.concatenate(indices), np.concatenate(ticks)
        del indices, ticks
        order = np.lexsort((index, tick))
        index, tick = index[order], tick[order]
        del order
        times = (tick - 1).astype(float)
        del tick
        times *= self.dt  # ms, as ((tick - 1)*dt)*ms before: the same spike times in seconds
        times *= float(b2.ms)
        group = b2.SpikeGeneratorGroup(offset, index, b2.Quantity(times, dim=b2.second.dim), sorted=True,
                                       name="src_" + _joined(list(sources)))
        self.source_group = group
        return group

    # ------------------------------------------------------------------ projections
    def _projection_sets(self) -> list[list[Projection]]:
        """Projections simulated by one Synapses object each (in model order).

        Event projections from one source whose generated code, delay and target group agree are
        merged (tsodyks2 E->E and E->I become one object, as in a hand-written script) when their
        targets are different populations, so that each target cell receives the same spikes in the
        same order as before.  Continuous ones stay alone."""
        sets: dict[Any, list[Projection]] = {}
        for projection in self.model.projections.values():
            kind = projection.synapse.synapse_type
            if kind.continuous:
                sets[("alone", projection.name)] = [projection]
                continue
            code = self._event_code(projection)
            target_group = self.placement[projection.target][0]
            source = "" if projection.source in self.sources else projection.source  # "": the spike sources
            key = (source, target_group.name, projection.delay, code.model, code.on_pre,
                   tuple(sorted(code.namespace.items())), code.clock)
            members = sets.setdefault(key, [])
            if any(m.target == projection.target for m in members):
                sets[("alone", projection.name)] = [projection]
            else:
                members.append(projection)
        return list(sets.values())

    def _projection(self, projections: list[Projection]) -> list[Any]:
        kind = projections[0].synapse.synapse_type
        if kind.continuous:
            return self._continuous_projection(projections[0], kind)
        return self._event_projection(projections)

    def _endpoints(self, projection: Projection) -> tuple[Any, Any, Any]:
        """Brian2 source group, target group (a shared group as a whole) and a function giving the
        (source, target) int32 index arrays of connections ``[start, stop)`` of the projection,
        replicated over the layers of a spike source (layer after layer)."""
        if projection.source in self.sources:
            offset, size, layers = self.sources[projection.source]
            source = self.source_group
        else:
            source, offset, size, layers = self.groups[projection.source], 0, 0, 1
        target, first = self.placement[projection.target]
        pairs = projection.pairs
        n = len(pairs)

        def chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
            layer, start, stop = start // n, start % n, stop - (start // n) * n
            pre = pairs[start:stop, 0].astype(np.int32) + np.int32(offset + layer * size)
            post = pairs[start:stop, 1].astype(np.int32) + np.int32(first)
            return pre, post

        return source, target, (chunk, n * layers, n)

    def _connect(self, synapses: Any, parts: list[tuple[Any, int, int]], target_offset: int) -> None:
        """``connect`` in chunks of :data:`CONNECT_CHUNK` connections: Brian2 copies the index arrays
        it is given several times, so one call for 10^7 connections costs GiBs of temporaries.  The
        per-connection arrays are reserved at their final size first (they grow by doubling)."""
        total = sum(count for _, count, _ in parts)
        if self.b2.get_device().__class__.__name__ == "RuntimeDevice" and total:
            for variable in [*synapses._registered_variables, synapses.variables["_synaptic_pre"],
                             synapses.variables["_synaptic_post"]]:
                variable.resize(total)
                variable.resize(0)
        for chunk, count, per_layer in parts:
            start = 0
            while start < count:  # chunks end at layer boundaries
                stop = min(count, start + CONNECT_CHUNK, (start // per_layer + 1) * per_layer)
                i, j = chunk(start, stop)
                synapses.connect(i=i, j=j - np.int32(target_offset) if target_offset else j)
                start = stop

    def _event_code(self, projection: Projection) -> gen.EventSynapseCode:
        """The generated code of an event projection: the rule of its synapse type (or of the source
        neuron's ``emits`` type), uniform quantities as namespace constants."""
        kind = projection.synapse.synapse_type
        target_type = self.model.populations[projection.target].neuron_type
        parameters, initial = dict(projection.synapse.parameters), dict(projection.synapse.initial)
        rename: dict[str, str] = {}
        source_population = self.model.populations.get(projection.source)
        if source_population is not None and source_population.neuron_type.emits:
            emitted = source_population.neuron_type.emits
            rename = {"first": "0.0"}
            parameters = {p.name: source_population.parameters[p.name] for p in emitted.parameters}
            initial = {s.name: source_population.initial[s.name] for s in emitted.states}
            kind = emitted
        receptor, sign = projection.jump(target_type)
        recorded = any(r.projection == projection.name for r in self.model.recordings.values())
        return gen.event_synapse_code(kind, parameters, initial, projection.weight, receptor, sign, rename,
                                      keep_states=recorded)

    def _event_projection(self, projections: list[Projection]) -> list[Any]:
        """Event synapses of one or more merged projections (same code; see _projection_sets).

        When a spike source has several spikes of one train on one grid point (its ``layers``
        copies, see :meth:`_spike_sources`) and the synapse keeps state, the copies of a connection
        must act on one state in turn: that state then lives in a per-connection ``NeuronGroup``
        which every copy links to (:meth:`_shared_state`), and Brian2 runs their ``on_pre`` one after
        the other (a loop over the events of the step; the numpy target falls back to a loop for
        such repeated indices)."""
        b2 = self.b2
        first = projections[0]
        code = self._event_code(first)
        ends = [self._endpoints(p) for p in projections]
        source = ends[0][0]
        target = ends[0][1] if len(projections) > 1 else self.groups[first.target]
        target_offset = 0 if len(projections) > 1 else self.placement[first.target][1]
        name = "proj_" + _joined([p.name for p in projections])
        layers = [self.sources[p.source][2] if p.source in self.sources else 1 for p in projections]
        shared = _mutable_variables(code.model) if max(layers) > 1 else {}
        model = code.model if not shared else "\n".join(
            [f"{line} (linked)" if line.split(" : ")[0] in shared else line for line in code.model.splitlines()]
            + [f"{CONNECTION_INDEX} : integer (constant)"])
        synapses = b2.Synapses(source, target, model=model, on_pre=code.on_pre,
                               delay=(first.delay - self.dt) * b2.ms, name=name, namespace=code.namespace)
        self._connect(synapses, [e[2] for e in ends], target_offset)
        pairs = [len(p.pairs) for p in projections]
        owner = self._shared_state(name, shared, synapses, pairs, layers) if shared else synapses
        for variable in code.values:
            per_member = [self._event_code(p).values[variable] for p in projections] if len(projections) > 1 \
                else [code.values[variable]]
            if variable in shared:  # one value per connection, in the shared-state group
                setattr(owner, variable, _concatenated_values(per_member, pairs))
            else:                   # one value per synapse: connections repeated over the layers
                setattr(synapses, variable, _concatenated_values(per_member, [n * k for n, k in zip(pairs, layers)]))
        if code.clock == "arrival":
            setattr(owner, gen.syn("t_last"), (first.delay - self.dt) * b2.ms)
        elif code.clock == "sentinel":
            setattr(owner, gen.syn("t_last"), gen.FIRST_SENTINEL * b2.second)
        for projection in projections:
            self.synapses[projection.name] = synapses
            if self.release_model_arrays:
                projection.release_pairs()
        return [synapses] + ([owner] if shared else [])

    def _shared_state(self, name: str, shared: dict[str, str], synapses: Any, pairs: list[int],
                      layers: list[int]) -> Any:
        """A ``NeuronGroup`` with one element per connection holding the ``shared`` variables
        (name -> Brian2 unit), linked from ``synapses``, whose synapses are the connections of each
        member projection (``pairs[k]`` of them) repeated over its ``layers[k]`` source copies."""
        b2 = self.b2
        # the copies of one connection act on one state in turn, on purpose: Brian2's warning that the
        # outcome of such code may depend on the order of execution does not apply
        b2.BrianLogger.suppress_hierarchy("brian2.codegen.generators.base")
        holder = b2.NeuronGroup(sum(pairs), "\n".join(f"{v} : {unit}" for v, unit in shared.items()),
                                name=f"state_{name}")
        offsets = np.cumsum([0] + pairs[:-1])
        index = np.concatenate([np.tile(np.arange(n, dtype=np.int32) + np.int32(offset), k)
                                for n, k, offset in zip(pairs, layers, offsets)])
        setattr(synapses, CONNECTION_INDEX, index)
        for variable in shared:
            setattr(synapses, variable, b2.linked_var(holder, variable, index=CONNECTION_INDEX))
        return holder

    def _continuous_projection(self, projection: Projection, kind: SynapseType) -> list[Any]:
        """Continuous synapse (kinetic NMDA): clock-driven states, pulse on arrival, summed current."""
        b2 = self.b2
        target_type = self.model.populations[projection.target].neuron_type
        parameters = dict(projection.synapse.parameters)
        method = self._method(False)
        self.methods[projection.name] = method
        source, _, (chunk, _, per_layer) = self._endpoints(projection)
        # further spikes of a train on the same grid point restart the transmitter pulse at the same
        # time, which changes nothing: only the first copy of the source is connected
        part = (chunk, per_layer, per_layer)
        everything = {**parameters, "weight": projection.weight}
        constants = {name: gen.uniform(value) for name, value in everything.items() if gen.uniform(value) is not None}
        synapses = b2.Synapses(
            source, self.groups[projection.target],
            model=gen.continuous_synapse_equations(kind, list(parameters), f"I_{projection.name}",
                                                   target_type.membrane, constants),
            on_pre=gen.pulse_on_pre(kind), delay=(projection.delay - self.dt) * b2.ms, method=integrator(method),
            name=f"proj_{projection.name}", namespace={gen.syn(n): v for n, v in constants.items()})
        self._connect(synapses, [part], 0)
        self._order_coupling(synapses, projection.name, self.groups[projection.target].order)
        for name, value in {**everything, **projection.synapse.initial}.items():
            if name not in constants:
                setattr(synapses, gen.syn(name), value)
        setattr(synapses, gen.syn("T"), 0.0)
        setattr(synapses, gen.syn("pulse_end"), -1.0 * b2.second)
        synapses.run_regularly(gen.pulse_step_end(kind), when="end", name=f"pulse_{projection.name}")
        self.synapses[projection.name] = synapses
        return [synapses]

    @staticmethod
    def _order_coupling(synapses: Any, name: str, target_order: int) -> None:
        """Within the ``groups`` slot: first half of the current, synapse update, second half,
        then the target's update (trapezoidal coupling, see the code generator)."""
        first, second = (synapses.summed_updaters[f"I_{name}{half}_post"] for half in gen.COUPLING_HALVES)
        first.order = target_order - 3
        synapses.state_updater.order = target_order - 2
        second.order = target_order - 1

    # ------------------------------------------------------------------ recording
    def _recorder(self, recording: Recording) -> list[Any]:
        """A step-start StateMonitor of period ``interval`` and/or a SpikeMonitor.

        A projection recording monitors the per-connection variables (``indices`` are connection
        indices, which are the first synapses of the Brian2 object in projection order)."""
        b2 = self.b2
        recorder = _Recorder(recording)
        if recording.variables:
            if recording.projection:
                owner = self.synapses[recording.projection]
                variables = [gen.syn(v) for v in recording.variables]
            else:
                owner, variables = self.groups[recording.population], list(recording.variables)
            recorder.states = b2.StateMonitor(owner, variables, record=list(recording.indices),
                                              clock=self._clock(recording.interval), when="start",
                                              name=f"rec_{recording.name}")
        if recording.spikes and recording.population not in self.shared_spikes:
            recorder.spikes = b2.SpikeMonitor(self.groups[recording.population], name=f"spk_{recording.name}")
        self.recorders.append(recorder)
        return [m for m in (recorder.states, recorder.spikes) if m is not None]

    def _spike_monitors(self) -> list[Any]:
        """One SpikeMonitor per shared NeuronGroup whose every population records its spikes."""
        members: dict[str, list[str]] = {}
        for population, (group, _) in self.placement.items():
            members.setdefault(group.name, []).append(population)
        wanted = {r.population for r in self.model.recordings.values() if r.spikes and not r.projection}
        monitors = []
        for name, populations in members.items():
            if len(populations) > 1 and all(p in wanted for p in populations):
                group = self.placement[populations[0]][0]
                monitor = self.b2.SpikeMonitor(group, name=f"spk_{name}")
                monitors.append(monitor)
                for p in populations:
                    self.shared_spikes[p] = (monitor, self.placement[p][1], self.model.populations[p].size)
        return monitors

    def _clock(self, interval: float) -> Any:
        """The Brian2 clock of period ``interval`` (ms): the default clock when it is the time step,
        else one shared clock per period.  (Each further clock costs Brian2's run loop a Python
        check per step, which is comparable to a whole code object in a small model.)"""
        if steps(interval, self.dt) == 1:
            return self.b2.defaultclock
        if interval not in self.clocks:
            self.clocks[interval] = self.b2.Clock(dt=interval * self.b2.ms, name=f"clock_{len(self.clocks)}")
        return self.clocks[interval]

    def collect(self) -> None:
        """Copy monitor contents to plain arrays (needed before a standalone device is reset)."""
        shared: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for population, (monitor, offset, size) in self.shared_spikes.items():
            if monitor.name not in shared:
                shared[monitor.name] = (np.asarray(monitor.t / self.b2.ms), np.asarray(monitor.i))
            times, cells = shared[monitor.name]
            keep = (cells >= offset) & (cells < offset + size)
            self.collected[population + "//shared spikes"] = (times[keep], cells[keep] - offset)
        for recorder in self.recorders:
            r = recorder.recording
            if r.spikes and r.population in self.shared_spikes:
                self.collected[r.name + "/spikes"] = self.collected[r.population + "//shared spikes"]
            if recorder.states is not None:
                names = [gen.syn(v) if r.projection else v for v in r.variables]
                values = {v: np.asarray(getattr(recorder.states, n)) for v, n in zip(r.variables, names)}
                self.collected[r.name] = (np.asarray(recorder.states.t / self.b2.ms), values)
            if recorder.spikes is not None:
                self.collected[r.name + "/spikes"] = (np.asarray(recorder.spikes.t / self.b2.ms),
                                                      np.asarray(recorder.spikes.i))

    def _declared_states(self, recording: Recording):
        if recording.projection:
            return self.model.projections[recording.projection].synapse.synapse_type.states
        return self.model.populations[recording.population].neuron_type.states

    def result(self) -> Result:
        if not self.collected:
            self.collect()
        model = self.model
        result = Result(model=model.name, backend="brian2",
                        metadata={"dt_ms": self.dt, "duration_ms": model.simulation.duration})
        for recorder in self.recorders:
            r = recorder.recording
            if recorder.states is not None:
                times, values = self.collected[r.name]
                wanted = model.sample_times(r)
                rows = _rows_at(times, wanted, self.dt)
                units = {s.name: s.unit for s in self._declared_states(r)}
                for variable in r.variables:
                    result.signals[(r.owner, variable)] = Signal(
                        wanted, values[variable][:, rows].T.copy(), units[variable], list(r.indices))
            if r.name + "/spikes" in self.collected:
                times, cells = self.collected[r.name + "/spikes"]
                result.spike_trains[r.population] = _spike_trains(times + self.dt, cells,
                                                                  model.populations[r.population].size,
                                                                  model.simulation.duration, self.dt)
        return result


def _joined(names: list[str]) -> str:
    """Brian2 name part of an object shared by several model objects (each in one object only)."""
    joined = "__".join(names)
    return joined if len(joined) <= 48 else f"{names[0]}__and_{len(names) - 1}_more"


def _concatenated(dicts: list[dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    """Per-key values of several groups laid end to end: one scalar when all agree, else an array."""
    return {key: _concatenated_values([d[key] for d in dicts], sizes) for key in dicts[0]}


def _concatenated_values(values: list[Any], sizes: list[int]) -> Any:
    """``values[k]`` (scalar, or array repeated to ``sizes[k]``) laid end to end, or the one scalar."""
    scalars = [gen.uniform(v) if np.ndim(v) == 0 else None for v in values]
    if all(v is not None for v in scalars) and len(set(scalars)) == 1:
        return values[0]
    parts = []
    for value, size in zip(values, sizes):
        array = np.asarray(value, dtype=float)
        parts.append(np.full(size, float(array)) if array.ndim == 0 else np.resize(array, size))
    return np.concatenate(parts)


def _mutable_variables(model: str) -> dict[str, str]:
    """Per-connection variables of generated synapse ``model`` code that ``on_pre`` changes (declared
    without ``(constant)``): name -> Brian2 unit."""
    found = {}
    for line in model.splitlines():
        name, _, rest = line.partition(" : ")
        if rest and "(constant)" not in rest:
            found[name.strip()] = rest.strip()
    return found


def _spiking_options(kind: NeuronType) -> dict[str, Any]:
    """NeuronGroup keywords for threshold, reset (with an ``emits`` rule) and refractoriness."""
    if kind.threshold is None:
        return {}
    emit_rule = kind.emits.on_spike if kind.emits else ()
    options: dict[str, Any] = {"threshold": gen.threshold_condition(kind),
                               "reset": gen.reset_code(kind, emit_rule) or None}
    refractory = gen.refractory_period(kind)
    if refractory:
        options["refractory"] = refractory
    return options


def _rows_at(times: np.ndarray, wanted: np.ndarray, dt: float) -> np.ndarray:
    """Indices of the monitor samples taken at the clock times ``wanted`` (ms)."""
    ticks = np.rint(times / dt).astype(np.int64)
    position = {int(tick): row for row, tick in enumerate(ticks)}
    try:
        return np.array([position[int(round(t / dt))] for t in wanted], dtype=int)
    except KeyError as missing:
        raise RuntimeError(f"Brian2 took no sample at step {missing}") from None


def _spike_trains(times: np.ndarray, cells: np.ndarray, size: int, duration: float, dt: float) -> list[np.ndarray]:
    """One sorted array of bridge spike times (ms, on the grid, <= duration) per cell."""
    times = to_grid(times, dt)
    keep = times <= duration + 1e-9 * dt
    return split_spikes(times[keep], cells[keep], size)

