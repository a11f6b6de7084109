"""The NEURON backend: compiled NMODL mechanisms generated from the catalog (see
:mod:`bridge.backends.neuron_nmodl`), compiled once and cached (:mod:`bridge.backends.neuron_build`).

How the reference semantics (:mod:`bridge.backends.reference`) are reproduced
-------------------------------------------------------------------------------
* **Point neurons** (every catalog type but ``passive``) are point processes whose state is advanced
  once per fixed step ``dt`` (the model's) by 4th-order Runge–Kutta on the catalog's equations
  (``n_sub`` sub-steps; ``located`` types also locate threshold crossings inside the step); they all
  sit in one host section whose voltage is unused.  A step ending at ``t`` integrates, then applies
  the jumps and DC changes due at ``t``, then tests the threshold on the grid, resets and starts
  the refractory clamp — the reference's order.  NEURON delivers an event due at ``t`` at the end
  of the step *reaching* ``t`` (after ``nrn_state`` and after ``Vector.record``), so bridge
  schedules every event for such a target one step early (NetCon delay = delay - dt) and the
  mechanism buffers it for the next ``nrn_state``.  Hence a ``Vector.record`` sample at ``t`` is
  the state after all events at ``t``, as in the reference.
* **Spikes** are detected by a NetCon with threshold 0.5 on the mechanism's ``spiked`` flag (raised
  for one step).  NEURON checks thresholds at the start of the next step, time-stamped with that
  step's start, i.e. the grid time of the spike (:data:`DETECTION_LAG_STEPS` = 0, measured; kept as
  a named constant that is subtracted from recorded spike times and NetCon delays).  A cell firing
  in two consecutive steps would show one long crossing: the mechanism counts such spikes and the
  run fails with a clear message rather than dropping them.  Cells that spike get gids, and
  connections from them are ``ParallelContext.gid_connect`` NetCons (a NetCon on a range-variable
  pointer costs ~0.1 ms to create).  Spike sources are input gids (:data:`SOURCE_GID_BASE` on)
  fired by one ``PatternStim`` one step before their (grid) spike times, through NetCons one step
  longer; it queues one event at a time (scheduling every spike up front with ``NetCon.event`` cost
  a Python call per spike and an event queue as long as all input spikes: 2 M events for the
  4000-cell benchmark network).  The fixed step runs in ``ParallelContext.psolve`` (a C loop).
* **Passive cells** are real single-compartment sections (area 100 µm², so ``cm`` in µF/cm² equals
  ``C_m`` in pF) with ``pas``, integrated by NEURON itself: backward Euler (``secondorder = 0``)
  or Crank–Nicolson (``secondorder = 2``, the default here: second order in dt), or CVODE with
  ``cvode = True``.  Kinetic NMDA synapses onto them are ``bridge_nmda_kinetic`` point processes
  (``_cvode`` variant with CVODE), one per connection, receiving events at the spike time plus
  the delay (the pulse starts at that grid time and only changes derivatives, so no early scheduling is needed).
  In the fixed step the synapse states are exact to RK4 accuracy and the current uses them half a
  step ahead, so the membrane's Crank–Nicolson step is second order: for models/nmda_kinetic.yaml
  9.3e-5 mV at dt = 0.1 ms and 1.8e-5 mV at dt = 0.05 ms (``secondorder = 0``: 2.6e-3 mV, first
  order); with ``cvode = True`` (atol = rtol = 1e-8) about 2e-6 mV.
* DC steps act on ``[start, stop)``: for point neurons as events on the DC port, for passive
  cells as an ``IClamp`` (NEURON evaluates currents at mid-step, so the grid interval is the same).

Backend options (set as attributes, e.g. ``options={"cvode": True}``): ``cvode`` (bool, only for
models made of passive cells: the per-step propagation of the point neurons is not a CVODE
right-hand side; default: off for cells, on for reaction networks), ``cvode_atol``/``cvode_rtol``
(default 1e-8; for reaction networks atol is in nM and the defaults are
:data:`.neuron_network.ATOL_NM` and :data:`.neuron_network.RTOL`), ``secondorder`` (0 or 2) and
``n_sub`` (Runge–Kutta sub-steps per dt; default: see :func:`substeps`).

**Reaction networks** (``model.network`` set) run in :mod:`.neuron_network` on a generated
KINETIC mechanism (:mod:`.neuron_kinetic`), with CVODE unless ``cvode`` is False.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..catalog import STIMULI, SYNAPSES
from ..model import Model, Population, Projection, Recording
from ..model.errors import UnsupportedError
from ..result import Result, Signal
from .base import Backend
from .neuron_nmodl import (CVODE_SUFFIX, EVENT_SYNAPSES, PORTS, POINT_NEURONS, event_synapse_arguments,
                           mechanism_name)

#: NEURON time-stamps a spike raised in the step ending at t with t + DETECTION_LAG_STEPS*dt (measured: t)
DETECTION_LAG_STEPS = 0
#: gids of spike-source trains start here (cells get gids 0, 1, ... in order of first use)
SOURCE_GID_BASE = 1_000_000_000
#: real-section cell types integrated by NEURON itself
SECTION_NEURONS = ("passive",)
AREA_UM2 = 100.0  # membrane area of a passive cell: C [pF] = cm [uF/cm2] * 1e-6 cm2 * 1e6
PA_PER_NA = 1000.0
NEVER = 1e9  # ms, "until the end" for IClamp durations
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
    """A NEURON Vector as a float array (also when empty)."""
    return np.asarray(vector.to_python(), dtype=float)


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


class NeuronBackend(Backend):
    """Runs catalog models on NEURON 9 with generated, compiled NMODL mechanisms."""

    name = "neuron"
    neuron_types = frozenset(POINT_NEURONS + SECTION_NEURONS)
    synapse_types = frozenset(SYNAPSES)
    stimulus_types = frozenset(STIMULI)
    #: every catalog type has a mechanism; combinations NEURON cannot run are refused in check()
    unsupported_reasons: ClassVar[dict[str, str]] = {}

    #: None: the default of the model kind (fixed step for cells, CVODE for reaction networks)
    cvode: bool | None = None
    secondorder: int = 2
    n_sub: int | None = None
    #: None: 1e-8 for cells (mV, and the synapses' units); for reaction networks see neuron_network
    cvode_atol: float | None = None
    cvode_rtol: float | None = None

    @classmethod
    def version(cls) -> str:
        import neuron

        return f"NEURON {neuron.__version__}"

    def check(self, model: Model) -> None:
        if model.network is not None:
            from . import neuron_network

            neuron_network.check(model, self.cvode is not False)
            return
        super().check(model)
        for projection in model.projections.values():
            target = model.populations[projection.target].type
            continuous = projection.synapse.synapse_type.continuous
            if continuous and target not in SECTION_NEURONS:
                raise UnsupportedError(self.name, f"{projection.synapse.type} onto {target} (continuous synapses "
                                       f"need a real NEURON section: only onto {', '.join(SECTION_NEURONS)})")
        if self.cvode and any(p.type not in SECTION_NEURONS for p in model.populations.values()):
            raise UnsupportedError(self.name, "cvode with point neurons (their exact per-step update is not a "
                                   "CVODE right-hand side; use the fixed step)")

    def run(self, model: Model) -> Result:
        from . import neuron_build

        if model.network is not None:
            return self._run_network(model)
        started = time.perf_counter()
        built = neuron_build.load()
        simulation = NeuronSimulation(model, self)
        simulation._initialise()  # finitialize, weights, scheduled inputs: setup, not simulation
        ready = time.perf_counter()
        result = simulation.run()
        result.metadata.update(setup_s=ready - started, simulate_s=time.perf_counter() - ready,
                               compile_s=built.seconds, compiled=built.compiled,
                               backend_version=self.version(), cvode=bool(self.cvode),
                               secondorder=int(self.secondorder), library=str(built.library))
        return result

    def _run_network(self, model: Model) -> Result:
        from . import neuron_network
        from .neuron_network import NetworkSimulation

        started = time.perf_counter()
        simulation = NetworkSimulation(
            model, cvode=self.cvode is not False,
            rtol=neuron_network.RTOL if self.cvode_rtol is None else float(self.cvode_rtol),
            atol=neuron_network.ATOL_NM if self.cvode_atol is None else float(self.cvode_atol))
        ready = time.perf_counter()
        result = simulation.run()
        result.metadata.update(setup_s=ready - started, backend_version=self.version(),
                               dt_ms=model.simulation.dt, duration_ms=model.simulation.duration)
        return result


class NeuronSimulation:
    """One model instantiated in NEURON."""

    def __init__(self, model: Model, options: NeuronBackend):
        from neuron import h

        self.h = h
        self.model = model
        self.options = options
        self.dt = model.simulation.dt
        self.keep: list[Any] = []
        # spiking cells get gids: a connection is then a gid_connect (about 1.5 us) instead of a NetCon
        # on the cell's ``spiked`` pointer (about 110 us each, measured in NEURON 9.0.2)
        self.pc = h.ParallelContext()
        self.pc.gid_clear()
        self.gids: dict[tuple[str, int], int] = {}
        h.load_file("stdrun.hoc")
        h.dt = self.dt
        h.secondorder = int(options.secondorder)
        self.host = h.Section(name="bridge_host")
        self.groups = {name: self._population(pop) for name, pop in model.populations.items()}
        self.source_gids: dict[str, int] = {}  # first gid of each spike source
        first = SOURCE_GID_BASE
        for name, stimulus in model.spike_sources().items():
            self.source_gids[name], first = first, first + len(stimulus.trains)
        self.connections: list[tuple[Any, list[float]]] = []
        self.synapses: dict[str, list[Any]] = {}  # continuous synapse point processes per projection
        for projection in model.projections.values():
            self._projection(projection)
        self.spike_records = self._record_spikes()
        self._play_sources()
        self.samples = self._record_signals()

    # ------------------------------------------------------------------ cells
    def _population(self, population: Population) -> CellGroup:
        if population.type in SECTION_NEURONS:
            return self._passive(population)
        mechanism = getattr(self.h, mechanism_name(population.type))
        cells = []
        for _ in range(population.size):
            cell = mechanism(self.host(0.5))
            for name, value in population.parameters.items():
                setattr(cell, name, value)
            cell.n_sub = substeps(population, self.dt, self.options.n_sub)
            cells.append(cell)
        return CellGroup(population, cells, sectioned=False)

    def _passive(self, population: Population) -> CellGroup:
        h, p = self.h, population.parameters
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
        times = [np.maximum(np.asarray(train, dtype=float) - self.dt, 0.0) for s in sources.values()
                 for train in s.trains]
        gids = [np.full(len(train), self.source_gids[name] + i, dtype=float)
                for name, s in sources.items() for i, train in enumerate(s.trains)]
        times, gids = np.concatenate(times), np.concatenate(gids)
        order = np.argsort(times, kind="stable")
        self.pattern_times, self.pattern_gids = self.h.Vector(times[order]), self.h.Vector(gids[order])
        self.pattern = self.h.PatternStim()
        self.pattern.fake_output = 0  # fire input gids (connected with gid_connect, owned by no cell)
        self.pattern.play(self.pattern_times, self.pattern_gids)

    def _source_object(self, source: str, index: int):
        """(NetCon source, pointer or None, delay correction in ms) of one presynaptic element."""
        group = self.groups[source]
        if group.sectioned or group.population.neuron_type.threshold is None:
            return None, None, 0.0
        cell = group.cells[index]
        return cell, cell._ref_spiked, DETECTION_LAG_STEPS * self.dt

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

    def _netcon(self, source: str, index: int, target, delay: float):
        if source in self.source_gids:
            nc = self.pc.gid_connect(self.source_gids[source] + index, target)
            nc.delay = delay + self.dt  # the PatternStim fires one step early (see _play_sources)
            return nc
        obj, pointer, lag = self._source_object(source, index)
        if obj is None:
            return None
        if pointer is not None:
            nc = self.pc.gid_connect(self._gid(source, index), target)
        else:
            nc = self.h.NetCon(obj, target)
        nc.delay = delay - lag
        if nc.delay < -1e-12:
            raise UnsupportedError("neuron", f"delay {delay} ms too short for NEURON spike detection")
        nc.delay = max(nc.delay, 0.0)
        return nc

    def _projection(self, projection: Projection) -> None:
        target = self.groups[projection.target]
        if projection.synapse.synapse_type.continuous:
            self._continuous(projection, target)
            return
        early = self.dt  # buffered targets: deliver one step early
        weights = None  # the same for every connection of the projection (one shared list)
        pairs, chunk = projection.pairs, 1 << 16  # Python ints in bounded chunks (a whole tolist() is ~130 B/pair)
        for src, tgt in (pair for start in range(0, len(pairs), chunk) for pair in pairs[start:start + chunk].tolist()):
            nc = self._netcon(projection.source, src, target.cells[tgt], projection.delay - early)
            if nc is None:
                continue
            if weights is None:
                weights = self._weights(projection, src, nc.delay)
            self.connections.append((nc, weights))
            self.keep.append(nc)

    def _weights(self, projection: Projection, source_index: int, nc_delay: float) -> list[float]:
        """NetCon weight vector: weight, port, synapse code, synapse parameters and state, tlast, first."""
        target_type = self.model.populations[projection.target].neuron_type
        if projection.weight >= 0:
            port, weight = PORTS["excitatory"], projection.weight
        else:
            port, weight = PORTS["inhibitory"], target_type.inhibitory_sign * projection.weight
        synapse, values = projection.synapse.type, {**projection.synapse.parameters, **projection.synapse.initial}
        source = self.model.populations.get(projection.source)
        if source is not None and source.neuron_type.emits:  # lif_tum_2000: its own TM state, per connection
            synapse = source.neuron_type.emits
            values = {**source.parameters, **source.initial}
        fields = [values.get(name, 0.0) for name in event_synapse_arguments()[:-2]]
        # tlast: the arrival time that corresponds to t = 0 (h of the first spike is its time)
        return [weight, port, EVENT_SYNAPSES.index(synapse)] + fields + [nc_delay, 1.0]

    def _continuous(self, projection: Projection, target: CellGroup) -> None:
        variant = CVODE_SUFFIX if self.options.cvode else ""
        mechanism = getattr(self.h, mechanism_name(projection.synapse.type) + variant)
        self.synapses[projection.name] = []
        for src, tgt in projection.pairs:
            synapse = mechanism(target.cells[tgt](0.5))
            for name, value in projection.synapse.parameters.items():
                setattr(synapse, name, value)
            synapse.weight = projection.weight
            self.synapses[projection.name].append(synapse)
            nc = self._netcon(projection.source, int(src), synapse, projection.delay)
            if nc is not None:
                self.connections.append((nc, [1.0]))
            self.keep += [synapse, nc]

    # ------------------------------------------------------------------ recording
    def _record_spikes(self) -> dict[str, list[Any]]:
        records = {}
        for r in self.model.recordings.values():
            if not r.spikes or r.population in records:
                continue
            vectors = []
            for index in range(len(self.groups[r.population].cells)):
                vec, ids = self.h.Vector(), self.h.Vector()
                self.pc.spike_record(self._gid(r.population, index), vec, ids)
                self.keep.append(ids)
                vectors.append(vec)
            records[r.population] = vectors
        return records

    def _pointer(self, recording: Recording, index: int, variable: str):
        """Pointer to a recorded variable of a cell, or of a continuous synapse (connection ``index``)."""
        if recording.projection:
            return getattr(self.synapses[recording.projection][index], f"_ref_{variable}")
        return self.groups[recording.population].pointer(index, variable)

    def _record_signals(self) -> dict[tuple[str, str], list[Any]]:
        samples = {}
        for r in self.model.recordings.values():
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
        h.cvode_active(1 if self.options.cvode else 0)
        if self.options.cvode:
            h.CVode().atol(CELL_TOLERANCE if self.options.cvode_atol is None else float(self.options.cvode_atol))
            h.CVode().rtol(CELL_TOLERANCE if self.options.cvode_rtol is None else float(self.options.cvode_rtol))
        h.finitialize()
        for group in self.groups.values():
            self._set_initial(group)
        nonzero: dict[int, list[tuple[int, float]]] = {}  # finitialize zeroed all but weight[0]
        for nc, weights in self.connections:
            items = nonzero.get(id(weights))
            if items is None:
                items = nonzero[id(weights)] = [(i, v) for i, v in enumerate(weights) if i == 0 or v != 0]
            for i, value in items:
                nc.weight[i] = value
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
        nc.weight[0], nc.weight[1], nc.weight[2] = amount, PORTS["dc"], 0
        nc.event(at - self.dt)
        self.keep.append(nc)

    def run(self) -> Result:
        h = self.h
        if not self.initialised:
            self._initialise()
        if self.options.cvode:
            h.continuerun(self.model.simulation.duration)
        else:
            # the fixed-step loop in C (ParallelContext.psolve): a Python loop of fadvance() calls cost
            # ~15 us per step, 12x the whole simulation of a two-cell model; results are bit-identical
            # psolve refuses a minimum delay of NetCons from spike-source gids of one step or less
            n_steps = self.model.simulation.n_steps
            if self.pc.set_maxstep(10) > 1.5 * self.dt:
                self.pc.psolve(n_steps * self.dt)
            fadvance = h.fadvance
            for _ in range(n_steps - int(round(h.t / self.dt))):  # without psolve (or a step it left)
                fadvance()
            if int(round(h.t / self.dt)) != n_steps:
                raise RuntimeError(f"NEURON stopped at t = {h.t} ms instead of {n_steps * self.dt} ms")
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
        for population, vectors in self.spike_records.items():
            result.spike_trains[population] = [np.round((as_array(v) - lag) / self.dt) * self.dt for v in vectors]
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
