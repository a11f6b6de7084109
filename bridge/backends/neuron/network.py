"""A cell model instantiated in NEURON: point-neuron mechanisms and passive sections, spike
sources, connections, recordings, the fixed-step run and its result (the semantics are described
in :mod:`bridge.backends.neuron`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from ...catalog.base import NeuronType
from ...model import Model, Population, Projection, Recording
from ...errors import UnsupportedError
from ...progress import reporter
from ...timegrid import to_grid
from ..partition import Partition
from ..parts import PartSignal, RankPart
from ..substeps import substeps
from .gids import GidMap
from .nmodl import (DC_PORT, Mechanism, SynapseTable, continuous_synapse, is_point_neuron, model_table,
                    point_neuron, ports)


#: NEURON time-stamps a spike raised in the step ending at t with t + DETECTION_LAG_STEPS*dt (measured: t)
DETECTION_LAG_STEPS = 0
#: NEURON's own models a type may declare as ``native: neuron``: a single-compartment section with ``pas``
SECTION_MODELS = ("pas",)
AREA_UM2 = 100.0  # membrane area of a passive cell: C [pF] = cm [uF/cm2] * 1e-6 cm2 * 1e6
PA_PER_NA = 1000.0
NEVER = 1e9  # ms, "until the end" for IClamp durations
#: connection pairs are converted to Python ints this many at a time (a whole ``tolist()`` costs ~70 B/pair)
PAIR_CHUNK = 1 << 16
#: default CVODE rtol and atol for cells
CELL_TOLERANCE = 1e-8


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
    """The NEURON objects of the cells ``owned`` (indices) of one population on this rank."""

    population: Population
    owned: range
    cells: list[Any]  # point processes (point neurons) or sections (passive), one per owned cell
    sectioned: bool
    keep: list[Any] = field(default_factory=list)  # objects that must stay alive

    def cell(self, index: int):
        """The NEURON object of cell ``index`` (which this rank owns)."""
        return self.cells[index - self.owned.start]

    def pointer(self, index: int, variable: str):
        """Pointer to ``variable`` (catalog name) of cell ``index``."""
        if self.sectioned:
            return self.cell(index)(0.5)._ref_v
        return getattr(self.cell(index), f"_ref_{variable}")

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
    """One model instantiated in NEURON: on one rank of ``partition``, the cells it owns, the
    connections onto them and the spike sources they receive (all of them for a single process)."""

    def __init__(self, model: Model, options: CellOptions, plan: MechanismPlan, partition: Partition = Partition()):
        from neuron import h

        self.h = h
        self.model = model
        self.options = options
        self.plan = plan
        self.partition = partition
        self.dt = model.simulation.dt
        self.keep: list[Any] = []
        # spiking cells get gids: a connection is then a gid_connect (about 1.5 us) instead of a NetCon
        # on the cell's ``spiked`` pointer (about 110 us each, measured in NEURON 9.0.2)
        self.pc = h.ParallelContext()
        self.pc.gid_clear()
        self.gid_map = GidMap.for_model(model)
        horizon = model.simulation.duration + max((p.delay for p in model.projections.values()), default=0.0)
        problem = self.gid_map.resolution_problem(horizon)
        if problem:
            raise UnsupportedError("neuron", problem)
        h.dt = self.dt
        h.secondorder = int(options.secondorder)
        self.host = h.Section(name="bridge_host")
        owned = partition.owned(model)
        self.groups = {name: self._population(pop, owned[name]) for name, pop in model.populations.items()}
        self._create_cells()
        # every connection's NetCon, kept alive by a hoc List (a Python list costs a ~100 B wrapper per
        # NetCon more), in creation order; weight_plan: (number of consecutive NetCons, their non-zero
        # weight-vector entries), written after finitialize (which zeroes all but weight[0])
        self.netcons = h.List()
        self.weight_plan: list[tuple[int, list[tuple[int, float]]]] = []
        self.synapses: dict[str, dict[int, Any]] = {}  # continuous synapses per projection: connection -> point process
        # before the connections: the temporary arrays over all input spikes are freed before the NetCons
        # exist, so they do not add to the peak memory
        self._play_sources()
        for projection in model.projections.values():
            self._projection(projection)
        self.spike_records = self._record_spikes()
        self.samples = self._record_signals()

    # ------------------------------------------------------------------ cells
    def _population(self, population: Population, owned: range) -> CellGroup:
        """The cells of a passive population; a point-neuron population's are made by _create_cells."""
        if is_section(population.neuron_type):
            return self._passive(population, owned)
        return CellGroup(population, owned, [None] * len(owned), sectioned=False)

    def _create_cells(self) -> None:
        """Create this rank's point-neuron cells in gid order, each cell that needs a gid immediately
        followed by its threshold detector: a NetCon on a cell's ``spiked`` pointer costs time
        proportional to the number of cells of its mechanism created after that cell (NEURON 9.0.2,
        measured: ~25 us for the newest of 4000 cells, ~790 us for the oldest; 1.56 s for 4000
        detectors made after all the cells, 0.03 s with cells and detectors interleaved)."""
        needs_gid = self._populations_with_gids()
        for name, group in self.groups.items():
            if group.sectioned:
                continue
            population = group.population
            mechanism = getattr(self.h, self.plan.neurons[population.type].name)
            n_sub = substeps(population, self.dt, self.options.n_sub)
            for k, index in enumerate(group.owned):
                cell = mechanism(self.host(0.5))
                for key, value in population.parameters.items():
                    setattr(cell, key, value)
                cell.n_sub = n_sub
                if self.options.located_dv is not None and hasattr(cell, "located_dv"):
                    cell.located_dv = float(self.options.located_dv)
                group.cells[k] = cell
                if name in needs_gid:
                    self._register(name, index)

    def _populations_with_gids(self) -> set[str]:
        """Spiking populations whose cells need gids: sources of projections, or spikes recorded."""
        names = {p.source for p in self.model.projections.values() if p.source in self.groups}
        names |= {r.population for r in self.model.recordings.values() if r.spikes}
        return {name for name in names if self._spiking(name)}

    def _register(self, population: str, index: int) -> None:
        """Give cell ``index`` (owned here) its gid, with a threshold-0.5 detector on its one-step
        ``spiked`` flag."""
        gid = int(self.gid_map.of(population, [index])[0])
        self.pc.set_gid2node(gid, self.pc.id())
        detector = self.h.NetCon(self.groups[population].cell(index)._ref_spiked, None, sec=self.host)
        detector.threshold = 0.5
        self.pc.cell(gid, detector)
        self.keep.append(detector)

    def _passive(self, population: Population, owned: range) -> CellGroup:
        """Single-compartment sections with ``pas``; the parameters C_m, g_L, E_L, I_e by their names
        in the type's ``native: neuron`` mapping."""
        mapping = population.neuron_type.native["neuron"]
        h, p = self.h, {mapping.name_of(k): v for k, v in population.parameters.items()}
        group = CellGroup(population, owned, [], sectioned=True)
        for i in owned:
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

    def _targets(self, population: str) -> np.ndarray:
        """The cell indices of ``population`` this rank owns (int64)."""
        owned = self.groups[population].owned
        return np.arange(owned.start, owned.stop, dtype=np.int64)

    # ------------------------------------------------------------------ connections
    def _play_sources(self) -> None:
        """One PatternStim firing the input gids of the spike-source trains this rank's cells receive
        at their spike times (set up before ``finitialize``, which starts it); only those trains are
        drawn (:meth:`~bridge.model.Stimulus.trains_of`)."""
        needed: dict[str, set[int] | None] = {}
        for projection in self.model.projections.values():
            if projection.source in self.model.spike_sources():
                targets = self._targets(projection.target)
                if len(targets):
                    sources = projection.connector.sources_onto(targets)
                    known = needed.get(projection.source, set())
                    needed[projection.source] = None if sources is None or known is None else known | set(sources.tolist())
        if not needed:
            return
        # fired one step early, their NetCons one step longer: psolve refuses NetCons of delay < dt
        # from input gids, and the early-delivery NetCons of a delay = dt projection have delay 0
        chunks, gids, lengths = [], [], []
        for name, indices in needed.items():
            stimulus = self.model.stimuli[name]
            wanted = np.arange(stimulus.size) if indices is None else np.array(sorted(indices), dtype=np.int64)
            trains = stimulus.trains_of(wanted)
            chunks += [np.asarray(train, dtype=float) for train in trains]
            gids.append(self.gid_map.of(name, wanted))
            lengths += [len(train) for train in trains]
            del trains
        train_gids, lengths = np.concatenate(gids), np.array(lengths, dtype=np.int64)
        times = np.concatenate(chunks) if chunks else np.empty(0)
        del chunks
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

    def _source_gids(self, source: str, indices: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(gid of each presynaptic element ``indices`` of ``source``, delay correction in ms to add), or
        None when ``source`` emits no spikes."""
        if source in self.model.stimuli:
            return self.gid_map.of(source, indices), self.dt  # fired one step early
        if not self._spiking(source):
            return None
        return self.gid_map.of(source, indices), -DETECTION_LAG_STEPS * self.dt

    def _connection_delay(self, source: str, delay: float, correction: float) -> float:
        """NetCon delay (ms) for ``delay`` after the source's recorded spike time."""
        corrected = delay + correction
        if source in self.model.stimuli:
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
        if projection.source not in self.model.stimuli and not self._spiking(projection.source):
            return
        early = self.dt  # buffered targets: deliver one step early
        correction = self.dt if projection.source in self.model.stimuli else -DETECTION_LAG_STEPS * self.dt
        delay = self._connection_delay(projection.source, projection.delay - early, correction)
        tie = self.gid_map.tie_step
        count = 0
        # the per-connection loop, inlined (about 1.5 us per connection; method calls per connection
        # cost as much again): gid_connect, delay, keep; the weights follow after finitialize
        connect, keep = self.pc.gid_connect, self.netcons.append
        for pairs in projection.connector.blocks(self._targets(projection.target)):
            gids = self.gid_map.of(projection.source, pairs[:, 0])
            delays = gids * tie + delay  # events of one step arrive in gid order (see .gids)
            for start in range(0, len(pairs), PAIR_CHUNK):
                stop = start + PAIR_CHUNK
                for gid, index, d in zip(gids[start:stop].tolist(), pairs[start:stop, 1].tolist(),
                                         delays[start:stop].tolist()):
                    nc = connect(gid, target.cell(index))
                    nc.delay = d
                    keep(nc)
            count += len(pairs)
            del pairs, gids, delays
        if count:
            self._plan(count, self._weights(projection, delay))

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
        """One synapse point process per connection onto this rank's cells; connection indices are
        those of the whole projection (drawn in full when its state is recorded, which only small
        models do)."""
        mechanism = getattr(self.h, self.plan.synapses[projection.synapse.type].name)
        self.synapses[projection.name] = synapses = {}
        targets = self._targets(projection.target)
        if any(r.projection == projection.name for r in self.model.recordings.values()):
            every = projection.connector.pairs()
            index = np.flatnonzero(np.isin(every[:, 1], targets))
            pairs = every[index]
        else:
            pairs = projection.connector.pairs(targets)
            index = np.arange(len(pairs))
        sources = self._source_gids(projection.source, pairs[:, 0]) if len(pairs) else None
        delay = self._connection_delay(projection.source, projection.delay, sources[1]) if sources else 0.0
        for k, (connection, tgt) in enumerate(zip(index.tolist(), pairs[:, 1].tolist())):
            synapse = mechanism(target.cell(tgt)(0.5))
            for name, value in projection.synapse.parameters.items():
                setattr(synapse, name, value)
            synapse.weight = projection.weight
            synapses[connection] = synapse
            if sources is not None:  # each connection its own synapse: no order to fix, no offsets
                nc = self.pc.gid_connect(int(sources[0][k]), synapse)
                nc.delay = delay
                self.netcons.append(nc)
                self._plan(1, [1.0])

    # ------------------------------------------------------------------ recording
    def _record_spikes(self) -> dict[str, tuple[Any, Any]]:
        """Per recorded population: one (times, gids) pair of Vectors shared by this rank's cells."""
        records = {}
        for r in self.model.recordings.values():
            if not r.spikes or r.population in records:
                continue
            times, ids = self.h.Vector(), self.h.Vector()
            for gid in self.gid_map.of(r.population, self._targets(r.population)).tolist():
                self.pc.spike_record(gid, times, ids)
            records[r.population] = (times, ids)
        return records

    def _local(self, recording: Recording) -> list[int]:
        """The distinct cells (or connections) of ``recording`` that this rank simulates, in order."""
        if recording.projection:
            mine = self.synapses[recording.projection]
            return [i for i in dict.fromkeys(recording.indices) if i in mine]
        owned = self.groups[recording.population].owned
        return [i for i in dict.fromkeys(recording.indices) if i in owned]

    def _pointer(self, recording: Recording, index: int, variable: str):
        """Pointer to a recorded variable of a cell, or of a continuous synapse (connection ``index``)."""
        if recording.projection:
            return getattr(self.synapses[recording.projection][index], f"_ref_{variable}")
        return self.groups[recording.population].pointer(index, variable)

    def _record_signals(self) -> dict[tuple[str, str], tuple[list[int], list[Any]]]:
        samples = {}
        for r in self.model.recordings.values():
            if not r.variables:  # spikes only: no sample times (at the default interval dt, a long run has
                continue         # more than NEURON's Vector takes from NumPy: it crashed with SIGSEGV)
            times = self.h.Vector(self.model.sample_times(r))
            self.keep.append(times)
            cells = self._local(r)
            for variable in r.variables:
                vectors = []
                for index in cells:
                    vec = self.h.Vector()
                    pointer = self._pointer(r, index, variable)
                    if self.options.cvode:  # at the sample times (CVODE interpolates)
                        vec.record(pointer, times, sec=self.host)
                    else:  # every step from t = 0, subsampled in _collect
                        vec.record(pointer, sec=self.host)
                    vectors.append(vec)
                samples[(r.name, variable)] = (cells, vectors)
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
        # the spike exchange between ranks is set up by finitialize for the minimum delay set here
        self.min_delay = self.pc.set_maxstep(10)
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
        """DC changes of this rank's point neurons (one step early), IClamps of its sections."""
        for stimulus in self.model.current_stimuli().values():
            group = self.groups[stimulus.target]
            p = stimulus.parameters
            for index in stimulus.indices:
                if index not in group.owned:
                    continue
                if group.sectioned:
                    self.keep.append(self._iclamp(group.cell(index), p["start"], p["stop"], p["amplitude"]))
                    continue
                self._dc_change(group.cell(index), p["start"], p["amplitude"])
                if np.isfinite(p["stop"]):
                    self._dc_change(group.cell(index), p["stop"], -p["amplitude"])

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
            # psolve refuses a minimum delay of NetCons from spike-source gids of one step or less;
            # on MPI ranks delays are >= 2 dt (checked before) and every rank takes the same pieces
            n_steps = self.model.simulation.n_steps
            if self.min_delay > 1.5 * self.dt or self.partition.ranks > 1:
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

    def collect(self) -> RankPart:
        """This rank's part of the result of the finished run."""
        self._check_lost_spikes()
        part = RankPart(rank=self.partition.rank, ranks=self.partition.ranks,
                        metadata={"dt_ms": self.dt, "duration_ms": self.model.simulation.duration})
        for r in self.model.recordings.values():
            self._collect(part, r)
        lag = DETECTION_LAG_STEPS * self.dt
        for population, (times, ids) in self.spike_records.items():
            part.spikes[population] = (to_grid(as_array(times) - lag, self.dt),
                                       as_array(ids).astype(np.int64) - self.gid_map.first[population])
        return part

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

    def _subsample(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Values at the sample ``times`` (ms) from a per-step recording starting at t = 0."""
        if self.options.cvode:
            return values[: len(times)]
        return values[np.rint(times / self.dt).astype(int)]

    def _collect(self, part: RankPart, recording: Recording) -> None:
        if recording.projection:
            kind = self.model.projections[recording.projection].synapse.synapse_type
        else:
            kind = self.model.populations[recording.population].neuron_type
        times = self.model.sample_times(recording)
        for variable in recording.variables:
            unit = next(s.unit for s in kind.states if s.name == variable)
            cells, vectors = self.samples[(recording.name, variable)]
            columns = [self._subsample(as_array(v), times) for v in vectors]
            part.signals[(recording.owner, variable)] = PartSignal(
                times, np.column_stack(columns) if columns else np.empty((len(times), 0)), unit, cells)
