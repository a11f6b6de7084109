"""The NEURON backend for reaction-network models (``model.network`` set).

One section (no membrane mechanisms: its voltage is inert) holds one point process of the
network's generated mechanism (:mod:`.kinetic`).  The adapter sets the rate constants and
initial concentrations, schedules the injection pulses as NetCon events (``+rate`` at the onset,
``-rate`` at the end; a pulse starting at t <= 0 is switched on directly), records the species the
recordings need at their sample times (:mod:`bridge.backends.network_sampling`) and computes the
read-outs post hoc with :meth:`~bridge.model.reactions.ReactionNetwork.readout`.  The same species
are also recorded at every integration step (``Vector.record`` without sample times: CVODE's step
ends, or every dt), from which the peak and minimum of every recorded variable are computed
(``metadata["extremes"]``): about 8 bytes per species and step (4xHFS: 1.2e5 CVODE steps).

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

import time
from typing import Any

import numpy as np

from ...model import Model, Recording
from ...errors import UnsupportedError
from ...model.reactions import ReactionNetwork
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

    def run(self) -> Result:
        h = self.h
        self._initialise()
        started = time.perf_counter()
        context = h.ParallelContext()
        context.set_maxstep(MAX_STEP_MS)  # no spike exchange: integrate in long stretches
        duration = float(self.model.simulation.duration)
        # psolve does not deliver the events (recording ones too) due exactly at its stop time
        context.psolve(duration + (END_SLACK * duration if self.cvode else 0.5 * self.model.simulation.dt))
        simulate_s = time.perf_counter() - started
        result = self._collect()
        result.metadata.update(simulate_s=simulate_s, cvode=self.cvode, rtol=self.rtol, atol_nM=self.atol,
                               mechanism=self.layout.mechanism, compile_s=self.build.seconds,
                               compiled=self.build.compiled, library=str(self.build.library))
        return result

    def _collect(self) -> Result:
        """Samples and extremes of the recorded variables."""
        step_t = np.asarray(self.step_t.as_numpy(), dtype=float)
        steps = {name: np.array(vector.as_numpy(), dtype=float) for name, vector in self.steps.items()}
        if len(step_t) and step_t[0] == 0:  # recorded by finitialize, before the adapter set the concentrations
            for name, values in steps.items():
                values[0] = self.network.species[name]
        tracker = extremes(self.model, self.plan)
        duration = self.model.simulation.duration
        within = step_t <= duration * (1 + END_SLACK) + 1e-9  # psolve runs a little past the duration
        tracker.update(step_t[within], {name: values[within] for name, values in steps.items()})
        values = []
        for group, vectors in zip(self.plan.groups, self.samples):
            data = np.empty((len(group.times), len(group.species)))
            for j, species in enumerate(group.species):
                if self.cvode:
                    column = np.asarray(vectors[species].as_numpy(), dtype=float)[: len(group.times)]
                else:  # the per-dt record: element k is the state at k*dt
                    rows = np.rint(group.times / self.model.simulation.dt).astype(int)
                    column = steps[species][rows] if len(rows) and rows[-1] < len(steps[species]) else np.empty(0)
                if len(column) != len(group.times):
                    raise RuntimeError(f"NEURON recorded {len(column)} samples of {species}, expected {len(group.times)}")
                data[:, j] = column
            values.append(data)
        return finish(Result(model=self.model.name, backend="neuron"), self.model, self.plan, values, tracker)
