"""A cell model instantiated in NEURON: point-neuron mechanisms and passive sections, spike
sources, connections, recordings, the fixed-step run and its result (the semantics are described
in :mod:`bridge.backends.neuron`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from ...catalog.base import NeuronType
from ...model import Model, Population, Projection, Recording
from ...errors import UnsupportedError
from ...progress import reporter
from ...result import Result, Signal, split_spikes
from ...timegrid import to_grid
from .nmodl import (DC_PORT, Mechanism, SynapseTable, continuous_synapse, is_point_neuron, model_table,
                    point_neuron, ports)


#: NEURON time-stamps a spike raised in the step ending at t with t + DETECTION_LAG_STEPS*dt (measured: t)
DETECTION_LAG_STEPS = 0
#: gids of spike-source trains start here (cells get gids 0, 1, ... in order of first use)
SOURCE_GID_BASE = 1_000_000_000
#: NEURON's own models a type may declare as ``native: neuron``: a single-compartment section with ``pas``
SECTION_MODELS = ("pas",)
AREA_UM2 = 100.0  # membrane area of a passive cell: C [pF] = cm [uF/cm2] * 1e-6 cm2 * 1e6
PA_PER_NA = 1000.0
NEVER = 1e9  # ms, "until the end" for IClamp durations
#: connection pairs are converted to Python ints this many at a time (a whole ``tolist()`` costs ~70 B/pair)
PAIR_CHUNK = 1 << 16
#: default CVODE rtol and atol for cells
CELL_TOLERANCE = 1e-8


#: default Runge–Kutta sub-steps per dt for ``located`` types (adex, izhikevich, qif), whose upstroke
#: is steep: 10 gives about 0.05 mV (adex) and 1e-6 mV (izhikevich) against the reference at dt 0.1 ms
LOCATED_SUBSTEPS = 10
#: otherwise a sub-step is at most this fraction of the shortest time constant (``tau*`` parameter)
TAU_FRACTION = 0.25


def substeps(population: Population, dt: float, requested: int | None = None) -> int:
    """Runge–Kutta sub-steps per time step ``dt`` (ms) for ``population`` (``requested`` wins if given):
    enough that a sub-step is at most :data:`TAU_FRACTION` of the shortest time constant (RK4's
    relative error per sub-step is then below 1e-5), and :data:`LOCATED_SUBSTEPS` for ``located`` types."""
    if requested:
        return int(requested)
    kind = population.neuron_type
    taus = [v for k, v in population.parameters.items() if k.startswith("tau") and v > 0]
    n = max(1, math.ceil(dt / (TAU_FRACTION * min(taus)) - 1e-9)) if taus else 1
    if kind.threshold is not None and kind.threshold_detection == "located":
        n = max(n, LOCATED_SUBSTEPS)
    return n


def as_array(vector) -> np.ndarray:
    """A copy of a NEURON Vector as a float array (also when empty)."""
    return np.array(vector.as_numpy(), dtype=float)


@dataclass(frozen=True)
class CellOptions:
    """Backend options of a cell-model run (see :class:`~.backend.NeuronBackend`): ``cvode`` (passive
    cells only), ``secondorder`` (0 or 2), ``n_sub`` (Runge–Kutta sub-steps per dt, None: automatic),
    ``located_dv`` (mV per Runge–Kutta piece of a located-threshold type, None: the mechanism's 0.5 mV),
    ``cvode_atol``/``cvode_rtol`` (None: :data:`CELL_TOLERANCE`)."""

    cvode: bool = False
    secondorder: int = 2
    n_sub: int | None = None
    cvode_atol: float | None = None
    cvode_rtol: float | None = None
    located_dv: float | None = None


@dataclass
class CellGroup:
    """The NEURON objects of one population."""

    population: Population
    cells: list[Any]  # point processes (point neurons) or sections (passive)
    sectioned: bool
    keep: list[Any] = field(default_factory=list)  # objects that must stay alive

    def pointer(self, index: int, variable: str):
        """Pointer to ``variable`` (catalog name) of cell ``index``."""
        if self.sectioned:
            return self.cells[index](0.5)._ref_v
        return getattr(self.cells[index], f"_ref_{variable}")

@dataclass
class MechanismPlan:
    """The compiled mechanisms a model needs: one per point-neuron type (its NET_RECEIVE knows the
    event synapses of ``table``: the built-in ones and those the model declares) and one per
    continuous synapse type (fixed-step or CVODE variant)."""

    table: SynapseTable
    neurons: dict[str, Mechanism]
    synapses: dict[str, Mechanism]

    @classmethod
    def for_model(cls, model: Model, cvode: bool) -> "MechanismPlan":
        kinds = [p.synapse.synapse_type for p in model.projections.values()]
        kinds += [p.neuron_type.emits for p in model.populations.values() if p.neuron_type.emits]
        table = model_table(kinds)
        neurons = {p.type: point_neuron(p.neuron_type, table) for p in model.populations.values()
                   if is_point_neuron(p.neuron_type)}
        synapses = {p.synapse.type: continuous_synapse(p.synapse.synapse_type, cvode) for p in model.projections.values()
                    if p.synapse.synapse_type.continuous}
        return cls(table, neurons, synapses)

    def all(self) -> list[Mechanism]:
        return [*self.neurons.values(), *self.synapses.values()]


def is_section(kind: NeuronType) -> bool:
    """Whether ``kind`` runs as a real NEURON section (``native: neuron: pas``)."""
    return not is_point_neuron(kind)


class NeuronSimulation:
    """One model instantiated in NEURON."""

    def __init__(self, model: Model, options: CellOptions, plan: MechanismPlan):
        from neuron import h

        self.h = h
        self.model = model
        self.options = options
        self.plan = plan
        self.dt = model.simulation.dt
        self.keep: list[Any] = []
        # spiking cells get gids: a connection is then a gid_connect (about 1.5 us) instead of a NetCon
        # on the cell's ``spiked`` pointer (about 110 us each, measured in NEURON 9.0.2)
        self.pc = h.ParallelContext()
        self.pc.gid_clear()
        self.gids: dict[tuple[str, int], int] = {}
        h.dt = self.dt
        h.secondorder = int(options.secondorder)
        self.host = h.Section(name="bridge_host")
        self.groups = {name: self._population(pop) for name, pop in model.populations.items()}
        self._create_cells()
        self.source_gids: dict[str, int] = {}  # first gid of each spike source
        first = SOURCE_GID_BASE
        for name, stimulus in model.spike_sources().items():
            self.source_gids[name], first = first, first + len(stimulus.trains)
        # before the connections: the temporary arrays over all input spikes are freed before the NetCons
        # exist, so they do not add to the peak memory
        self._play_sources()
        # every connection's NetCon, kept alive by a hoc List (a Python list costs a ~100 B wrapper per
        # NetCon more), in creation order; weight_plan: (number of consecutive NetCons, their non-zero
        # weight-vector entries), written after finitialize (which zeroes all but weight[0])
        self.netcons = h.List()
        self.weight_plan: list[tuple[int, list[tuple[int, float]]]] = []
        self.synapses: dict[str, list[Any]] = {}  # continuous synapse point processes per projection
        for projection in model.projections.values():
            self._projection(projection)
        self.spike_records = self._record_spikes()
        self.samples = self._record_signals()

    # ------------------------------------------------------------------ cells
    def _population(self, population: Population) -> CellGroup:
        """The cells of a passive population; a point-neuron population's are made by _create_cells."""
        if is_section(population.neuron_type):
            return self._passive(population)
        return CellGroup(population, [None] * population.size, sectioned=False)

    def _create_cells(self) -> None:
        """Create the point-neuron cells, each cell that needs a gid immediately followed by its
        threshold detector, in the order the cells get their gids (see :meth:`_spike_order`); then
        the other cells.  A NetCon on a cell's ``spiked`` pointer costs time proportional to the
        number of cells of its mechanism created after that cell (NEURON 9.0.2, measured: ~25 us
        for the newest of 4000 cells, ~790 us for the oldest; 1.56 s for 4000 detectors made after all
        the cells, 0.03 s with cells and detectors interleaved).  The detectors are made in the same
        order as before (that order decides which of two spikes in one step is delivered first); the
        creation order of the cells themselves changes no number (each cell's update is its own)."""
        def create(group: CellGroup, index: int) -> None:
            population = group.population
            cell = getattr(self.h, self.plan.neurons[population.type].name)(self.host(0.5))
            for name, value in population.parameters.items():
                setattr(cell, name, value)
            cell.n_sub = substeps(population, self.dt, self.options.n_sub)
            if self.options.located_dv is not None and hasattr(cell, "located_dv"):
                cell.located_dv = float(self.options.located_dv)
            group.cells[index] = cell

        for population, index in self._spike_order():
            group = self.groups[population]
            if not group.sectioned and group.cells[index] is None:
                create(group, index)
            self._gid(population, index)
        for group in self.groups.values():
            if not group.sectioned:
                for index, cell in enumerate(group.cells):
                    if cell is None:
                        create(group, index)

    def _spike_order(self) -> list[tuple[str, int]]:
        """(population, index) of the cells that get gids, in order of first use: connection sources
        projection by projection (each in order of first appearance in its pairs), then the cells of
        populations whose spikes are recorded."""
        order: dict[tuple[str, int], None] = {}
        for projection in self.model.projections.values():
            if projection.source in self.groups and self._spiking(projection.source) and len(projection.pairs):
                unique, first = np.unique(projection.pairs[:, 0], return_index=True)
                order.update(((projection.source, index), None)
                             for index in unique[np.argsort(first, kind="stable")].tolist())
        for r in self.model.recordings.values():
            if r.spikes and r.population in self.groups:
                order.update(((r.population, index), None) for index in range(len(self.groups[r.population].cells)))
        return list(order)

    def _passive(self, population: Population) -> CellGroup:
        """Single-compartment sections with ``pas``; the parameters C_m, g_L, E_L, I_e by their names
        in the type's ``native: neuron`` mapping."""
        mapping = population.neuron_type.native["neuron"]
        h, p = self.h, {mapping.name_of(k): v for k, v in population.parameters.items()}
        group = CellGroup(population, [], sectioned=True)
        for i in range(population.size):
            sec = h.Section(name=f"{population.name}[{i}]")
            sec.nseg, sec.L = 1, float(np.sqrt(AREA_UM2 / np.pi))
            sec.diam = sec.L
            sec.Ra = 100.0
            sec.cm = p["C_m"]
            sec.insert("pas")
            sec(0.5).pas.g = p["g_L"] * 1e-9 / (AREA_UM2 * 1e-8)  # nS over the area -> S/cm2
            sec(0.5).pas.e = p["E_L"]
            group.cells.append(sec)
            if p.get("I_e", 0.0):
                group.keep.append(self._iclamp(sec, 0.0, NEVER, p["I_e"]))
        return group

    def _iclamp(self, sec, start: float, stop: float, amplitude_pa: float):
        clamp = self.h.IClamp(sec(0.5))
        clamp.delay, clamp.dur, clamp.amp = start, min(stop, NEVER) - start, amplitude_pa / PA_PER_NA
        return clamp

    # ------------------------------------------------------------------ connections
    def _play_sources(self) -> None:
        """One PatternStim firing every spike source's input gid at its spike times (set up before
        ``finitialize``, which starts it)."""
        sources = self.model.spike_sources()
        if not sources:
            return
        # fired one step early, their NetCons one step longer: psolve refuses NetCons of delay < dt
        # from input gids, and the early-delivery NetCons of a delay = dt projection have delay 0
        trains = [np.asarray(train, dtype=float) for s in sources.values() for train in s.trains]
        train_gids = np.array([self.source_gids[name] + i for name, s in sources.items()
                               for i in range(len(s.trains))], dtype=np.int64)
        lengths = np.array([len(train) for train in trains], dtype=np.int64)
        times = np.concatenate(trains) if trains else np.empty(0)
        del trains
        times -= self.dt
        np.maximum(times, 0.0, out=times)
        order = np.argsort(times, kind="stable")
        # written straight into the Vectors' memory (no sorted copies next to them)
        pattern_times, pattern_gids = self.h.Vector(len(times)), self.h.Vector(len(times))
        np.take(times, order, out=pattern_times.as_numpy())
        del times
        pattern_gids.as_numpy()[:] = np.repeat(train_gids, lengths)[order]
        del order
        self.pattern = self.h.PatternStim()
        self.pattern.fake_output = 0  # fire input gids (connected with gid_connect, owned by no cell)
        # play() copies both Vectors (checked: overwriting them after play() changes no spike), so
        # they are not kept: 16 B per input spike less (32 MiB for the 4000-cell benchmark network)
        self.pattern.play(pattern_times, pattern_gids)

    def _spiking(self, population: str) -> bool:
        """Whether the cells of ``population`` emit spikes NEURON can detect (point neurons with a threshold)."""
        group = self.groups[population]
        return not group.sectioned and group.population.neuron_type.threshold is not None

    def _gid(self, population: str, index: int) -> int:
        """The gid of a spiking point-neuron cell, registered on first use with a threshold-0.5
        detector on its one-step ``spiked`` flag."""
        key = (population, index)
        gid = self.gids.get(key)
        if gid is None:
            gid = self.gids[key] = len(self.gids)
            self.pc.set_gid2node(gid, self.pc.id())
            detector = self.h.NetCon(self.groups[population].cells[index]._ref_spiked, None, sec=self.host)
            detector.threshold = 0.5
            self.pc.cell(gid, detector)
            self.keep.append(detector)
        return gid

    def _source_gids(self, source: str, indices: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(gid of each presynaptic element ``indices`` of ``source``, delay correction in ms to add), or
        None when ``source`` emits no spikes.  Cells get their gids here in order of first use."""
        if source in self.source_gids:
            return indices.astype(np.int64) + self.source_gids[source], self.dt  # fired one step early
        if not self._spiking(source):
            return None
        unique, first = np.unique(indices, return_index=True)
        for index in unique[np.argsort(first, kind="stable")].tolist():
            self._gid(source, index)
        lookup = np.full(len(self.groups[source].cells), -1, dtype=np.int64)
        for index in unique.tolist():
            lookup[index] = self.gids[(source, index)]
        return lookup[indices], -DETECTION_LAG_STEPS * self.dt

    def _connection_delay(self, source: str, delay: float, correction: float) -> float:
        """NetCon delay (ms) for ``delay`` after the source's recorded spike time."""
        corrected = delay + correction
        if source in self.source_gids:
            return corrected
        if corrected < -1e-12:
            raise UnsupportedError("neuron", f"delay {delay} ms too short for NEURON spike detection")
        return max(corrected, 0.0)

    def _plan(self, count: int, weights: list[float]) -> None:
        """Record the weight vector of the next ``count`` NetCons of ``self.netcons``."""
        items = [(i, v) for i, v in enumerate(weights) if i == 0 or v != 0]  # finitialize zeroes the rest
        if self.weight_plan and self.weight_plan[-1][1] == items:
            self.weight_plan[-1] = (self.weight_plan[-1][0] + count, items)
        else:
            self.weight_plan.append((count, items))

    def _projection(self, projection: Projection) -> None:
        target = self.groups[projection.target]
        if projection.synapse.synapse_type.continuous:
            self._continuous(projection, target)
            return
        pairs = projection.pairs
        if len(pairs) == 0:
            return
        sources = self._source_gids(projection.source, pairs[:, 0])
        if sources is None:
            return
        gids, correction = sources
        early = self.dt  # buffered targets: deliver one step early
        delay = self._connection_delay(projection.source, projection.delay - early, correction)
        # the per-connection loop, inlined (about 1.5 us per connection; method calls per connection
        # cost as much again): gid_connect, delay, keep; the weights follow after finitialize
        connect, keep, cells = self.pc.gid_connect, self.netcons.append, target.cells
        targets = pairs[:, 1]
        for start in range(0, len(pairs), PAIR_CHUNK):
            stop = start + PAIR_CHUNK
            for gid, index in zip(gids[start:stop].tolist(), targets[start:stop].tolist()):
                nc = connect(gid, cells[index])
                nc.delay = delay
                keep(nc)
        self._plan(len(pairs), self._weights(projection, delay))

    def _weights(self, projection: Projection, nc_delay: float) -> list[float]:
        """NetCon weight vector: weight, port, synapse code, synapse parameters and state, tlast, first."""
        target_type = self.model.populations[projection.target].neuron_type
        _, sign = projection.jump(target_type)
        port, weight = ports(target_type)[projection.receptor], sign * projection.weight
        synapse, values = projection.synapse.type, {**projection.synapse.parameters, **projection.synapse.initial}
        source = self.model.populations.get(projection.source)
        if source is not None and source.neuron_type.emits:  # lif_tum_2000: its own TM state, per connection
            synapse = source.neuron_type.emits.name
            values = {**source.parameters, **source.initial}
        fields = [values.get(name, 0.0) for name in self.plan.table.arguments()[:-2]]
        # tlast: the arrival time that corresponds to t = 0 (h of the first spike is its time)
        return [weight, port, self.plan.table.code(synapse)] + fields + [nc_delay, 1.0]

    def _continuous(self, projection: Projection, target: CellGroup) -> None:
        mechanism = getattr(self.h, self.plan.synapses[projection.synapse.type].name)
        self.synapses[projection.name] = synapses = []
        pairs = projection.pairs
        sources = self._source_gids(projection.source, pairs[:, 0]) if len(pairs) else None
        delay = self._connection_delay(projection.source, projection.delay, sources[1]) if sources else 0.0
        for k, tgt in enumerate(pairs[:, 1].tolist()):
            synapse = mechanism(target.cells[tgt](0.5))
            for name, value in projection.synapse.parameters.items():
                setattr(synapse, name, value)
            synapse.weight = projection.weight
            synapses.append(synapse)
            if sources is not None:
                nc = self.pc.gid_connect(int(sources[0][k]), synapse)
                nc.delay = delay
                self.netcons.append(nc)
                self._plan(1, [1.0])

    # ------------------------------------------------------------------ recording
    def _record_spikes(self) -> dict[str, tuple[Any, Any, np.ndarray]]:
        """Per recorded population: one (times, gids) pair of Vectors shared by all its cells and the
        cells' gids (split per cell in :meth:`_result`)."""
        records = {}
        for r in self.model.recordings.values():
            if not r.spikes or r.population in records:
                continue
            times, ids = self.h.Vector(), self.h.Vector()
            gids = np.array([self._gid(r.population, index) for index in range(len(self.groups[r.population].cells))],
                            dtype=np.int64)
            for gid in gids.tolist():
                self.pc.spike_record(gid, times, ids)
            records[r.population] = (times, ids, gids)
        return records

    def _pointer(self, recording: Recording, index: int, variable: str):
        """Pointer to a recorded variable of a cell, or of a continuous synapse (connection ``index``)."""
        if recording.projection:
            return getattr(self.synapses[recording.projection][index], f"_ref_{variable}")
        return self.groups[recording.population].pointer(index, variable)

    def _record_signals(self) -> dict[tuple[str, str], list[Any]]:
        samples = {}
        for r in self.model.recordings.values():
            if not r.variables:  # spikes only: no sample times (at the default interval dt, a long run has
                continue         # more than NEURON's Vector takes from NumPy: it crashed with SIGSEGV)
            times = self.h.Vector(self.model.sample_times(r))
            self.keep.append(times)
            for variable in r.variables:
                vectors = []
                for index in r.indices:
                    vec = self.h.Vector()
                    pointer = self._pointer(r, index, variable)
                    if self.options.cvode:  # at the sample times (CVODE interpolates)
                        vec.record(pointer, times, sec=self.host)
                    else:  # every step from t = 0, subsampled in _collect
                        vec.record(pointer, sec=self.host)
                    vectors.append(vec)
                samples[(r.name, variable)] = vectors
        return samples

    # ------------------------------------------------------------------ running
    initialised = False

    def _initialise(self) -> None:
        h = self.h
        self.initialised = True
        if not self.options.cvode:
            h.CVode().active(0)
        else:  # stdrun.hoc (cvode_active, continuerun) only here: 0.3 MiB and 8 ms the fixed step does not need
            h.load_file("stdrun.hoc")
            h.cvode_active(1)
            h.CVode().atol(CELL_TOLERANCE if self.options.cvode_atol is None else float(self.options.cvode_atol))
            h.CVode().rtol(CELL_TOLERANCE if self.options.cvode_rtol is None else float(self.options.cvode_rtol))
        h.finitialize()
        for group in self.groups.values():
            self._set_initial(group)
        netcons = iter(self.netcons)  # finitialize zeroed all but weight[0]
        for count, items in self.weight_plan:
            for nc in islice(netcons, count):
                weight = nc.weight
                for i, value in items:
                    weight[i] = value
        self._schedule_inputs()
        if self.options.cvode:
            h.CVode().re_init()
        else:
            h.fcurrent()

    def _set_initial(self, group: CellGroup) -> None:
        initial = group.population.initial
        for cell in group.cells:
            if group.sectioned:
                cell(0.5).v = initial["V_m"]
                continue
            for name, value in initial.items():
                setattr(cell, name, value)

    def _schedule_inputs(self) -> None:
        """Spike-source events and DC changes of point neurons (one step early), IClamps of sections."""
        for stimulus in self.model.current_stimuli().values():
            group = self.groups[stimulus.target]
            p = stimulus.parameters
            for index in stimulus.indices:
                if group.sectioned:
                    self.keep.append(self._iclamp(group.cells[index], p["start"], p["stop"], p["amplitude"]))
                    continue
                self._dc_change(group.cells[index], p["start"], p["amplitude"])
                if np.isfinite(p["stop"]):
                    self._dc_change(group.cells[index], p["stop"], -p["amplitude"])

    def _dc_change(self, cell, at: float, amount: float) -> None:
        """Change the DC input of a point neuron by ``amount`` pA for the steps from ``at`` ms on."""
        if at <= 0.5 * self.dt:
            cell.I_dc += amount
            return
        nc = self.h.NetCon(None, cell)
        nc.weight[0], nc.weight[1], nc.weight[2] = amount, DC_PORT, 0
        nc.event(at - self.dt)
        self.keep.append(nc)

    def advance(self) -> None:
        """Run the simulation to its end (initialising first if needed).  While progress is displayed
        the fixed step runs in pieces (:meth:`~bridge.progress.Reporter.stops`, each ending half a
        step past a grid point, where psolve stops on that point: the same steps as one call)."""
        h = self.h
        if not self.initialised:
            self._initialise()
        report = reporter()
        report.phase("integrating", self.model.simulation.duration)
        if self.options.cvode:  # one call: CVODE stopping at each piece would change its steps
            h.continuerun(self.model.simulation.duration)
        else:
            # the fixed-step loop in C (ParallelContext.psolve): a Python loop of fadvance() calls cost
            # ~15 us per step, 12x the whole simulation of a two-cell model; results are bit-identical
            # psolve refuses a minimum delay of NetCons from spike-source gids of one step or less
            n_steps = self.model.simulation.n_steps
            if self.pc.set_maxstep(10) > 1.5 * self.dt:
                for done, _ in report.stops(n_steps * self.dt, self.dt):
                    self.pc.psolve(n_steps * self.dt if done == n_steps else (done + 0.5) * self.dt)
            fadvance = h.fadvance
            left, taken = n_steps - int(round(h.t / self.dt)), 0  # without psolve (or a step it left)
            if left > 0:
                for done, _ in report.stops(left * self.dt, self.dt):
                    for _ in range(done - taken):
                        fadvance()
                    taken = done
            if int(round(h.t / self.dt)) != n_steps:
                raise RuntimeError(f"NEURON stopped at t = {h.t} ms instead of {n_steps * self.dt} ms")

    def collect(self) -> Result:
        """The result of the finished run."""
        self._check_lost_spikes()
        return self._result()

    def _check_lost_spikes(self) -> None:
        """Refuse a result in which a cell fired in two consecutive steps (the NetCon watching the
        one-step ``spiked`` flag sees only one threshold crossing, so a spike would be dropped)."""
        for name, group in self.groups.items():
            if group.sectioned or group.population.neuron_type.threshold is None:
                continue
            lost = sum(int(cell.lost) for cell in group.cells)
            if lost:
                raise RuntimeError(f"{lost} spike(s) of population {name} fell in the step right after another "
                                   "spike of the same cell; NEURON's threshold detection cannot report them "
                                   "(use a smaller dt or a refractory period >= dt)")

    def _result(self) -> Result:
        result = Result(model=self.model.name, backend="neuron",
                        metadata={"dt_ms": self.dt, "duration_ms": self.model.simulation.duration})
        for r in self.model.recordings.values():
            self._collect(result, r)
        lag = DETECTION_LAG_STEPS * self.dt
        for population, (times, ids, gids) in self.spike_records.items():
            cell_of = np.zeros(int(gids.max()) + 1 if len(gids) else 0, dtype=np.int64)
            cell_of[gids] = np.arange(len(gids))
            result.spike_trains[population] = split_spikes(
                to_grid(as_array(times) - lag, self.dt), cell_of[as_array(ids).astype(np.int64)],
                len(gids))
        return result

    def _subsample(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Values at the sample ``times`` (ms) from a per-step recording starting at t = 0."""
        if self.options.cvode:
            return values[: len(times)]
        return values[np.rint(times / self.dt).astype(int)]

    def _collect(self, result: Result, recording: Recording) -> None:
        if recording.projection:
            kind = self.model.projections[recording.projection].synapse.synapse_type
        else:
            kind = self.model.populations[recording.population].neuron_type
        times = self.model.sample_times(recording)
        for variable in recording.variables:
            unit = next(s.unit for s in kind.states if s.name == variable)
            columns = [self._subsample(as_array(v), times) for v in self.samples[(recording.name, variable)]]
            result.signals[(recording.owner, variable)] = Signal(
                times, np.column_stack(columns) if columns else np.empty((len(times), 0)), unit,
                list(recording.indices))
