"""The NEURON backend for reaction-network models (``model.network`` set).

One section (no membrane mechanisms: its voltage is inert) holds one point process of the
network's generated mechanism (:mod:`.kinetic`).  The adapter sets the rate constants and
initial concentrations, schedules the injection pulses as NetCon events (``+rate`` at the onset,
``-rate`` at the end; a pulse starting at t <= 0 is switched on directly), records the species the
recordings need at their sample times (:mod:`bridge.backends.network_sampling`) and computes the
read-outs post hoc with :meth:`~bridge.model.reactions.ReactionNetwork.readout`.  The same species
are also recorded at every integration step (``Vector.record`` without sample times: CVODE's step
ends, or every dt), from which the peak and minimum of every recorded variable are computed
(``metadata["extremes"]``); the run is integrated in chunks after each of which those per-step records
are taken in and cleared, so their memory is a fraction of the 8 bytes per species and step a whole
run would hold (4xHFS: 1.2e5 CVODE steps, 35 species).

Integration (backend options of :class:`~bridge.backends.neuron.NeuronBackend`):

* CVODE (default; ``cvode = False`` selects the fixed step): ``cvode_rtol`` (default
  :data:`RTOL`) and ``cvode_atol`` in nM (default :data:`ATOL_NM`).  The run is one
  ``ParallelContext.psolve`` (integration and event delivery in C); samples are taken with
  ``Vector.record(ref, tvec)``, i.e. at the exact sample times (CVODE interpolates; no restart).
* fixed step: NEURON's backward Euler with the KINETIC block's Newton/sparse solver, dt =
  ``simulation.dt`` (first order in dt).  Pulse onsets and ends must lie on the dt grid (an event
  at ``t`` is delivered at the end of the step reaching ``t``, so the flux changes for the steps
  after ``t``).  Samples are the per-step records at the sample times (which lie on the dt grid).
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ...model import Model, Recording
from ...errors import UnsupportedError
from ...model.reactions import ReactionNetwork
from ...progress import reporter
from ...result import Result
from ..network_sampling import extremes, finish, sample_plan

#: default CVODE relative tolerance for reaction networks
RTOL = 1e-8
#: default CVODE absolute tolerance (nM) for reaction networks.  Species of the spine model span
#: 1e-120 to 2.5e6 nM; with atol 1e-8 nM CVODE's noise in (truly absent) catalytic species such as
#: PKAc (~1e-8 nM instead of 1e-31) phosphorylates Ip35 over the 4040 s equilibration to 5e-5 nM
#: instead of 2e-28.  At 1e-14 every species agrees with the reference (1e-6 relative + 1e-9 nM)
#: and the 4xHFS run is not slower (measured 34 s; 66 s at 1e-8 and 44 s at 1e-12, on a shared machine)
ATOL_NM = 1e-14
#: ParallelContext.psolve's integration stretch (ms); there are no NetCon delays to respect
MAX_STEP_MS = 1e9
#: the run is integrated in about this many chunks (and as many between injection switches), after
#: each of which the per-step records are taken in and cleared (:meth:`NetworkSimulation._stops`)
CHUNKS = 20
#: CVODE runs this fraction of the duration past it so that the sample at the duration is taken
END_SLACK = 1e-12
#: a pulse time is "on the grid" when within this fraction of dt of it (fixed step)
GRID_SLACK = 1e-6


def check(model: Model, cvode: bool) -> None:
    """Refuse what this adapter cannot run: cells next to a network, or (fixed step) pulses off the dt grid."""
    network = model.network
    assert network is not None
    if model.populations or model.stimuli or model.projections:
        raise UnsupportedError("neuron", "a reaction network together with cells, stimuli or projections")
    if not cvode:
        dt = model.simulation.dt
        for t in network.breakpoints(model.simulation.duration):
            if abs(t / dt - round(t / dt)) > GRID_SLACK:
                raise UnsupportedError("neuron", f"fixed step: injection switch at {t} ms is not a multiple of "
                                       f"dt = {dt} ms (use CVODE, the default)")


def recorded_species(network: ReactionNetwork, recording: Recording) -> list[str]:
    """Species needed for a recording's variables (the species themselves and read-outs' terms)."""
    needed: list[str] = []
    for variable in recording.variables:
        for name in (network.readouts[variable].species() if variable in network.readouts else [variable]):
            if name not in network.species:
                raise UnsupportedError("neuron", f"recording {recording.name}: {variable!r} is neither a species "
                                       "nor a read-out of the network")
            if name not in needed:
                needed.append(name)
    return needed


class NetworkSimulation:
    """One reaction network instantiated in NEURON (see the module docstring)."""

    def __init__(self, model: Model, cvode: bool, rtol: float, atol: float):
        from neuron import h

        from .kinetic import load

        assert model.network is not None
        started = time.perf_counter()
        self.build, self.layout = load(model.network)
        self.h, self.model, self.network = h, model, model.network
        self.cvode, self.rtol, self.atol = cvode, rtol, atol
        self.compile_s = time.perf_counter() - started
        h.load_file("stdrun.hoc")
        self.section = h.Section(name="bridge_network")
        self.mechanism = getattr(h, self.layout.mechanism)(self.section(0.5))
        for reaction, (kf, kb) in zip(self.network.reactions, self.layout.rates):
            setattr(self.mechanism, kf, float(reaction.forward))
            setattr(self.mechanism, kb, float(reaction.reverse))
        self.keep: list[Any] = []
        self.plan = sample_plan(model)
        for recording in model.recordings.values():
            recorded_species(self.network, recording)  # refuses unknown variables
        self.step_t = h.Vector()  # every integration step (CVODE) or every dt (fixed step), from t = 0
        self.step_t.record(h._ref_t, sec=self.section)
        self.steps: dict[str, Any] = {}
        self.samples: list[dict[str, Any]] = []  # per recording (sample group): species -> Vector
        for species in self.plan.species:
            self.steps[species] = h.Vector()
            self.steps[species].record(self._ref(species), sec=self.section)
        for group in self.plan.groups:
            vectors: dict[str, Any] = {}
            if cvode:  # at the exact sample times (CVODE interpolates); fixed step: from the per-dt records
                times = h.Vector(group.times)
                self.keep.append(times)
                for species in group.species:
                    vectors[species] = h.Vector()
                    vectors[species].record(self._ref(species), times, sec=self.section)
            self.samples.append(vectors)

    def _ref(self, species: str):
        return getattr(self.mechanism, f"_ref_{self.layout.species[species]}")

    def _initialise(self) -> None:
        h = self.h
        h.dt = self.model.simulation.dt
        h.secondorder = 0
        cv = h.CVode()
        cv.active(1 if self.cvode else 0)
        if self.cvode:
            cv.rtol(float(self.rtol))
            cv.atol(float(self.atol))
        h.finitialize()
        for species, value in self.network.species.items():
            setattr(self.mechanism, self.layout.species[species], float(value))
        self._schedule_injections()
        if self.cvode:
            cv.re_init()

    def _schedule_injections(self) -> None:
        """NetCon events switching the injection fluxes: per distinct (species, rate) one NetCon
        adding ``+rate`` (at onsets) and one adding ``-rate`` (at ends)."""
        netcons: dict[tuple[str, float], tuple[Any, Any]] = {}
        duration = self.model.simulation.duration
        for injection in self.network.injections:
            if injection.duration <= 0 or injection.rate == 0 or injection.onset >= duration or injection.end <= 0:
                continue
            key = (injection.species, float(injection.rate))
            if key not in netcons:
                pair = []
                for sign in (1.0, -1.0):
                    nc = self.h.NetCon(None, self.mechanism)
                    nc.weight[0] = sign * injection.rate
                    nc.weight[1] = self.layout.injection_index(injection.species)
                    pair.append(nc)
                netcons[key] = (pair[0], pair[1])
                self.keep += pair
            on, off = netcons[key]
            if injection.onset <= 0:  # already on at t = 0
                flux = self.layout.injections[injection.species]
                setattr(self.mechanism, flux, getattr(self.mechanism, flux) + injection.rate)
            else:
                on.event(float(injection.onset))
            if injection.end < duration:
                off.event(float(injection.end))

    def _stops(self) -> list[float]:
        """psolve stop times (ms): the run in chunks, after each of which the per-step records are
        taken in and cleared (:meth:`_absorb`), so that their memory stays a fraction of the run's:
        :data:`CHUNKS` equal stretches, and, since steps crowd where pulses are, a stop between two
        injection switches every 1/:data:`CHUNKS` of them.  Chunking does not change the solution (CVODE
        continues from its own state; fixed steps stop on the grid)."""
        duration, dt = float(self.model.simulation.duration), float(self.model.simulation.dt)
        stops = {duration * k / CHUNKS for k in range(1, CHUNKS)}
        switches = self.network.breakpoints(duration)
        every = max(1, len(switches) // CHUNKS)
        stops |= {0.5 * (a + b) for a, b in zip(switches[every - 1::every], switches[every::every])}
        if not self.cvode:  # half a step past a grid point: psolve stops on that point
            stops = {(math.floor(t / dt) + 0.5) * dt for t in stops}
        end = duration + (END_SLACK * duration if self.cvode else 0.5 * dt)
        return sorted(t for t in stops if 0 < t < duration) + [end]

    def run(self) -> Result:
        h = self.h
        self._initialise()
        self.tracker = extremes(self.model, self.plan)
        self.fixed_samples = [np.full((len(g.times), len(g.species)), np.nan) for g in self.plan.groups]
        self.chunks = 0
        started = time.perf_counter()
        context = h.ParallelContext()
        context.set_maxstep(MAX_STEP_MS)  # no spike exchange: integrate in long stretches
        report = reporter()
        report.phase("integrating", self.model.simulation.duration)
        # psolve does not deliver the events (recording ones too) due exactly at its stop time
        for stop in self._stops():
            context.psolve(stop)
            self._absorb()
            report.at(min(stop, self.model.simulation.duration))
        simulate_s = time.perf_counter() - started
        result = self._collect()
        result.metadata.update(simulate_s=simulate_s, cvode=self.cvode, rtol=self.rtol, atol_nM=self.atol,
                               mechanism=self.layout.mechanism, compile_s=self.build.seconds,
                               compiled=self.build.compiled, library=str(self.build.library), chunks=self.chunks)
        return result

    def _absorb(self) -> None:
        """Take in the per-step records of the last chunk (extremes; fixed step: the samples), then clear them."""
        step_t = self.step_t.as_numpy()
        steps = {name: vector.as_numpy() for name, vector in self.steps.items()}
        duration = self.model.simulation.duration
        within = step_t <= duration * (1 + END_SLACK) + 1e-9  # psolve runs a little past the duration
        if self.chunks == 0 and len(step_t) and step_t[0] == 0:
            # recorded by finitialize, before the adapter set the concentrations: use those instead
            within[0] = False
            self.tracker.update(np.zeros(1), {name: np.array([self.network.species[name]]) for name in steps})
        self.tracker.update(step_t[within], {name: values[within] for name, values in steps.items()})
        if not self.cvode:  # the samples are the per-dt records at the sample times
            tolerance = 1e-6 * self.model.simulation.dt
            for group, data in zip(self.plan.groups, self.fixed_samples):
                rows = np.clip(np.searchsorted(step_t, group.times - tolerance), 0, max(len(step_t) - 1, 0))
                hit = (np.abs(step_t[rows] - group.times) <= tolerance) if len(step_t) else np.zeros(len(rows), bool)
                for j, species in enumerate(group.species):
                    data[hit, j] = steps[species][rows[hit]]
        self.chunks += 1
        for vector in [self.step_t, *self.steps.values()]:
            vector.resize(0)

    def _collect(self) -> Result:
        """Samples (taken during the run) and extremes of the recorded variables."""
        values = []
        for group, vectors, fixed in zip(self.plan.groups, self.samples, self.fixed_samples):
            if self.cvode:
                data = np.column_stack([np.asarray(vectors[s].as_numpy(), dtype=float)[: len(group.times)]
                                        for s in group.species]) if group.species else np.empty((0, 0))
            else:
                data = fixed
            if data.shape != (len(group.times), len(group.species)) or np.isnan(data).any():
                raise RuntimeError(f"NEURON recorded {data.shape[0]} samples of {', '.join(group.species)}, "
                                   f"expected {len(group.times)}")
            values.append(data)
        tracker = self.tracker
        return finish(Result(model=self.model.name, backend="neuron"), self.model, self.plan, values, tracker)
