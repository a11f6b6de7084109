"""The event loop of the reference backend for cell models: populations advanced between grid
points (:mod:`.cells`), spikes delivered through projections with their delays, DC steps, samples.
The semantics it defines are described in :mod:`bridge.backends.reference`."""
from __future__ import annotations

import heapq
from collections import defaultdict

import numpy as np

from ...model import Model, steps
from ...progress import reporter
from ...result import Result, Signal
from ...timegrid import grid_times, occurrence_rank
from .cells import CellGroup, ContinuousSynapses, EventSynapses, SolverOptions


class ReferenceSimulation:
    """One run of a model on the reference solver."""

    def __init__(self, model: Model, options: SolverOptions = SolverOptions()):
        self.model = model
        self.dt = model.simulation.dt
        self.n_steps = model.simulation.n_steps
        continuous = defaultdict(list)
        self.event_projections: dict[str, EventSynapses] = {}
        for name, projection in model.projections.items():
            if projection.synapse.synapse_type.continuous:
                continuous[projection.target].append(ContinuousSynapses(projection, self.dt))
            else:
                self.event_projections[name] = EventSynapses(projection)
        self.continuous = {c.projection.name: c for blocks in continuous.values() for c in blocks}
        self.groups = {name: CellGroup(pop, self.dt, continuous[name], options)
                       for name, pop in model.populations.items()}
        self.pending: dict[int, list] = defaultdict(list)
        self.outgoing = defaultdict(list)
        for name, projection in model.projections.items():
            order = np.argsort(projection.pairs[:, 0], kind="stable")
            bounds = np.searchsorted(projection.pairs[order, 0], np.arange(model.size_of(projection.source) + 1))
            self.outgoing[projection.source].append((projection, order, bounds))
        self.source_spikes = self._source_spike_steps()
        self.dc_changes = self._dc_changes()
        # steps at which some input changes: integration segments need not extend beyond the next one
        self.activity = sorted(set(self.dc_changes) | {
            step + steps(projection.delay, self.dt)
            for step, sources in self.source_spikes.items() for name in sources
            for projection, _, _ in self.outgoing.get(name, ())})

    def _next_activity(self, step: int) -> int:
        while self.activity and self.activity[0] <= step:
            heapq.heappop(self.activity)
        return self.activity[0] if self.activity else self.n_steps

    def _source_spike_steps(self) -> dict[int, dict[str, np.ndarray]]:
        table: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for name, stimulus in self.model.spike_sources().items():
            for index, train in enumerate(stimulus.trains):
                for t in train:
                    table[steps(t, self.dt)][name].append(index)
        return {k: {n: np.array(v, dtype=int) for n, v in d.items()} for k, d in table.items()}

    def _dc_changes(self) -> dict[int, list]:
        changes = defaultdict(list)
        for stimulus in self.model.current_stimuli().values():
            p = stimulus.parameters
            cells = np.array(stimulus.indices, dtype=int)
            changes[steps(p["start"], self.dt)].append((stimulus.target, cells, p["amplitude"]))
            if np.isfinite(p["stop"]):
                changes[steps(p["stop"], self.dt)].append((stimulus.target, cells, -p["amplitude"]))
        return changes

    # ------------------------------------------------------------------ events
    def _apply_dc(self, step: int) -> None:
        for target, cells, amount in self.dc_changes.get(step, ()):
            group = self.groups[target]
            np.add.at(group.I_dc, cells, amount)
            group.invalidate()

    def _emit(self, source: str, cells: np.ndarray, step: int, efficacy: np.ndarray) -> None:
        """Send the spikes of ``cells`` of ``source`` at grid step ``step`` through its projections.

        A cell listed k times (a spike train with k spikes on this grid point) sends k spikes one
        after the other: each synapse applies its rule to the state the previous spike left
        (``h`` = 0 between them), as NEST and NEURON process events of one time step in turn."""
        rank = occurrence_rank(cells)
        for r in range(int(rank.max()) + 1 if len(cells) else 0):
            chosen = rank == r
            self._emit_once(source, cells[chosen], step, efficacy[chosen])

    def _emit_once(self, source: str, cells: np.ndarray, step: int, efficacy: np.ndarray) -> None:
        """Send one spike of each of ``cells`` (distinct) of ``source`` at grid step ``step``."""
        t = step * self.dt
        for projection, order, bounds in self.outgoing.get(source, ()):
            connections = np.concatenate([order[bounds[c]: bounds[c + 1]] for c in cells]) if len(cells) else order[:0]
            if connections.size == 0:
                continue
            carried = np.concatenate([np.full(bounds[c + 1] - bounds[c], e) for c, e in zip(cells, efficacy)])
            arrival = step + steps(projection.delay, self.dt)
            heapq.heappush(self.activity, arrival)
            if projection.name in self.continuous:
                self.pending[arrival].append(("pulse", projection.name, connections, None))
                continue
            amounts = projection.weight * carried * self.event_projections[projection.name].efficacy(connections, t)
            self.pending[arrival].append(("jump", projection.name, connections, amounts))

    def _deliver(self, step: int) -> None:
        for kind, name, connections, amounts in self.pending.pop(step, ()):
            projection = self.model.projections[name]
            group = self.groups[projection.target]
            if kind == "pulse":
                self.continuous[name].start_pulses(connections, step)
                heapq.heappush(self.activity, step + self.continuous[name].pulse_steps)
                group.invalidate()
                continue
            variable, sign = projection.jump(group.type)
            group.add_to(variable, projection.pairs[connections, 1], sign * amounts)
        for group in self.groups.values():
            if any([s.end_pulses(step) for s in group.synapses]):
                group.invalidate()

    # ------------------------------------------------------------------ main loop
    def run(self) -> Result:
        model, dt = self.model, self.dt
        recordings = list(model.recordings.values())
        sample_every = {r.name: steps(r.interval, dt) for r in recordings}
        # only the recorded variables, into arrays of their final size: (samples, variables, cells)
        rows = {r.name: [self._state_names(r).index(v) for v in r.variables] for r in recordings}
        samples = {r.name: np.empty((len(model.sample_times(r)), len(rows[r.name]), len(r.indices)))
                   for r in recordings}
        taken = dict.fromkeys(sample_every, 0)
        spikes = {name: [[] for _ in range(pop.size)] for name, pop in model.populations.items()}
        self._apply_dc(0)
        report = reporter()
        report.phase("integrating", model.simulation.duration)
        for k in range(self.n_steps):
            if not k & 255:
                report.at(k * dt)
            step = k + 1
            t = step * dt
            t_stop = self._next_activity(k) * dt
            located = {name: group.advance(t, t_stop) for name, group in self.groups.items()}
            self._deliver(step)
            self._apply_dc(step)
            for name, group in self.groups.items():
                on_grid = group.grid_spikes()
                group.reset(on_grid, t)
                fired = np.union1d(located[name], on_grid).astype(int)
                if fired.size:
                    for cell in fired:
                        spikes[name][cell].append(step)
                    self._emit(name, fired, step, group.emit_efficacy(fired, t))
            for source, cells in self.source_spikes.get(step, {}).items():
                self._emit(source, cells, step, np.ones(len(cells)))
            for r in recordings:
                if step % sample_every[r.name] == 0 and rows[r.name]:
                    states = self.continuous[r.projection].states if r.projection else self.groups[r.population].X
                    samples[r.name][taken[r.name]] = states[rows[r.name]][:, r.indices]
                    taken[r.name] += 1
        if any(taken[r.name] != len(samples[r.name]) for r in recordings if rows[r.name]):
            raise RuntimeError("the reference took a different number of samples than the recordings' sample times")
        return self._result(recordings, samples, spikes)

    def _declared_states(self, recording):
        owner = self.continuous[recording.projection].kind if recording.projection else self.groups[recording.population].type
        return owner.states

    def _state_names(self, recording) -> list[str]:
        return [s.name for s in self._declared_states(recording)]

    def _result(self, recordings, samples, spikes) -> Result:
        result = Result(model=self.model.name, backend="reference",
                        metadata={"dt_ms": self.dt, "duration_ms": self.model.simulation.duration})
        for r in recordings:
            declared = self._declared_states(r)
            names = [s.name for s in declared]
            data = samples[r.name]  # (n_samples, n_variables, n_cells)
            for column, variable in enumerate(r.variables):
                unit = declared[names.index(variable)].unit
                result.signals[(r.owner, variable)] = Signal(
                    self.model.sample_times(r), data[:, column, :], unit, list(r.indices))
            if r.spikes:
                result.spike_trains[r.population] = [grid_times(np.array(s, dtype=np.int64), self.dt)
                                                     for s in spikes[r.population]]
        return result
