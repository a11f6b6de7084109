"""The NEST backend: maps catalog types onto NEST 3.10's native models.

Mapping (catalog type -> NEST model; parameter and state names are NEST's own, the catalog uses
them, and internal units are NEST's: ms, mV, pA, pF, nS):

==================  =====================  ============================================================
catalog             NEST                   notes
==================  =====================  ============================================================
lif_psc_exp         iaf_psc_exp            becomes iaf_tum_2000 when it receives from a lif_tum_2000
lif_cond_exp        iaf_cond_exp           GSL RKF45 (abs. error 1e-3) between grid points
lif_tum_2000        iaf_tum_2000           x, y, u always set; outgoing static connections onto
                                           iaf_tum_2000 targets use receptor_type 1 (u*x efficacy)
adex                aeif_cond_exp          GSL RKF45, the reset applied inside the step
izhikevich          izhikevich             no C_m in NEST: currents (I_e, DC) are divided by C_m;
                                           forward Euler at dt, threshold tested on the grid, so it
                                           converges to the catalog's equations only as O(dt)
static              static_synapse
tsodyks3            tsodyks_synapse        x, y, u of each connection set from the initial state
tsodyks2            tsodyks2_synapse       u, x set: NEST's first spike uses them as is (u_1, R_1)
dc_step             dc_generator           start/stop shifted by the connection delay dt; a step from
                                           0 ms goes into I_e (a generator cannot act before dt)
spike_times         spike_train_injector   one per train (NEST's spike_generator as a neuron: unlike
                                           the device it can drive tsodyks synapses, no parrot needed)
poisson             spike_train_injector   the trains bridge drew from the seed
==================  =====================  ============================================================

Quirks hidden here (see the reference backend's docstring for the semantics reproduced):

* A device connection has a delay of one step: a ``dc_generator`` active from ``s`` acts on the
  membrane from ``s + dt``; the generator is started ``dt`` early.
* A multimeter sample stamped ``t`` is the state at ``t`` after the events of ``t``, but NEST only
  delivers the sample of the final step after one more step: the kernel runs ``duration + dt`` and
  later samples and spikes are dropped.
* ``iaf_tum_2000``'s spike events carry u*x in their offset field, which a ``spike_recorder`` in
  ms subtracts from the time; spike recorders here record in steps (``time_in_steps``) and ignore
  offsets (all mapped models spike on the grid).
* ``iaf_tum_2000`` starts with x = 0 in NEST; bridge always sets x, y, u.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..catalog.base import Parameter
from ..model import Model, Population, Projection, Recording, Stimulus, steps
from ..model.errors import UnsupportedError
from ..result import Result, Signal, split_spikes
from .base import Backend


# ---------------------------------------------------------------------------------------- mapping
@dataclass(frozen=True)
class NestNeuron:
    """How a catalog neuron type maps onto a NEST model.

    ``dropped`` are catalog parameters NEST's model lacks (handled by the adapter);
    ``current_scale`` names the parameter that injected currents (pA) are divided by;
    ``unrecordable`` are catalog states NEST's multimeter cannot record; ``unsettable`` are states
    NEST starts at 0 and does not let us set (a model giving them another initial value is refused).
    """

    model: str
    dropped: tuple[str, ...] = ()
    current_scale: str | None = None
    unrecordable: frozenset[str] = frozenset()
    unsettable: frozenset[str] = frozenset()


_PSC_CURRENTS = frozenset({"I_syn_ex", "I_syn_in"})
NEURON_MODELS: dict[str, NestNeuron] = {
    "lif_psc_exp": NestNeuron("iaf_psc_exp", unsettable=_PSC_CURRENTS),
    "lif_cond_exp": NestNeuron("iaf_cond_exp"),
    "lif_tum_2000": NestNeuron("iaf_tum_2000", unrecordable=frozenset({"x", "y", "u"}), unsettable=_PSC_CURRENTS),
    "adex": NestNeuron("aeif_cond_exp"),
    "izhikevich": NestNeuron("izhikevich", dropped=("C_m",), current_scale="C_m"),
}
#: catalog synapse type -> NEST synapse model (parameters and initial states set per connection)
SYNAPSE_MODELS: dict[str, str] = {
    "static": "static_synapse",
    "tsodyks3": "tsodyks_synapse",
    "tsodyks2": "tsodyks2_synapse",
}
STIMULUS_MODELS: dict[str, str] = {
    "dc_step": "dc_generator",
    "spike_times": "spike_train_injector",
    "poisson": "spike_train_injector",
}
UNSUPPORTED: dict[str, str] = {
    "qif": "NEST has no built-in quadratic integrate-and-fire model of this form",
    "passive": "NEST has no built-in passive (non-spiking) point neuron",
    "clamped": "NEST has no ideal voltage-clamp neuron",
    "nmda_kinetic": "NEST has no kinetic NMDA synapse",
}
#: connections per NEST array-connect call (bounds the temporary node-id arrays: 2 x 8 MiB)
CONNECT_CHUNK = 1 << 20
#: NEST model that applies the u*x efficacy of an iaf_tum_2000 spike (on receptor_type 1)
TUM_MODEL = "iaf_tum_2000"
TUM_RECEPTOR = 1
#: catalog neuron types NEST can run as iaf_tum_2000 targets (same dynamics as iaf_psc_exp)
TUM_TARGETS = frozenset({"lif_psc_exp", "lif_tum_2000"})


def nest_name(parameter: Parameter) -> str:
    """Name of a catalog parameter (or state) in NEST."""
    return parameter.names.get("nest", parameter.name)


def import_nest():
    """Import NEST without its banner and with only errors logged.

    OpenMP threads wait passively unless the user set ``OMP_WAIT_POLICY``: bridge runs backends side
    by side, and spinning threads on shared cores made a 2-thread run 100 times slower here.
    """
    os.environ.setdefault("PYNEST_QUIET", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


def tics_per_ms(dt: float) -> int:
    """Smallest NEST tic rate (>= NEST's default 1000 per ms) on which ``dt`` (ms) is a whole number."""
    for tics in (1000, 10_000, 100_000, 1_000_000, 10_000_000):
        if abs(dt * tics - round(dt * tics)) < 1e-6:
            return tics
    raise UnsupportedError("nest", f"dt = {dt!r} ms is not a multiple of 1e-7 ms")


def dc_edges(stimulus: Stimulus, duration: float) -> list[tuple[float, float]]:
    """The changes of a DC step as ``(time ms, change pA)``, within ``[0, duration)``."""
    p = stimulus.parameters
    edges = [(p["start"], p["amplitude"]), (p["stop"], -p["amplitude"])]
    return [(t, a) for t, a in edges if math.isfinite(t) and t < duration and a != 0.0]


# ---------------------------------------------------------------------------------------- backend
class NestBackend(Backend):
    """Runs a model on NEST's native models (see the module docstring for the mapping)."""

    name = "nest"
    neuron_types: ClassVar[frozenset[str]] = frozenset(NEURON_MODELS)
    synapse_types: ClassVar[frozenset[str]] = frozenset(SYNAPSE_MODELS)
    stimulus_types: ClassVar[frozenset[str]] = frozenset(STIMULUS_MODELS)
    unsupported_reasons: ClassVar[dict[str, str]] = UNSUPPORTED

    @classmethod
    def version(cls) -> str:
        return str(import_nest().__version__)

    def check(self, model: Model) -> None:
        """Refuse reaction networks and unsupported types (base class), then what NEST's native
        models cannot express."""
        if model.network is not None:
            raise UnsupportedError(self.name, "reaction networks (NEST has no reaction-network support)")
        super().check(model)
        problems = unsettable_states(model) + unrecordable_variables(model) + tum_targets_without_efficacy(model)
        if problems:
            raise UnsupportedError(self.name, problems[0])

    def run(self, model: Model) -> Result:
        nest = import_nest()
        started = time.perf_counter()
        network = NestNetwork(nest, model, release_model_arrays=self.release_model_arrays)
        built = time.perf_counter()
        network.simulate()
        simulated = time.perf_counter()
        result = network.result()
        result.metadata.update(setup_s=built - started, simulate_s=simulated - built,
                               backend_version=str(nest.__version__), dt_ms=model.simulation.dt,
                               duration_ms=model.simulation.duration)
        return result


def is_tum_projection(model: Model, projection: Projection) -> bool:
    """True when ``projection`` carries iaf_tum_2000 efficacies (its source is a lif_tum_2000)."""
    source = model.populations.get(projection.source)
    return source is not None and source.type == "lif_tum_2000"


def unsettable_states(model: Model) -> list[str]:
    """Initial values NEST cannot take (states it always starts at 0)."""
    found = []
    for population in model.populations.values():
        mapping = NEURON_MODELS[population.type]
        for state in sorted(mapping.unsettable):
            if population.initial[state] != 0.0:
                found.append(f"initial {state} = {population.initial[state]:g} in {population.name} "
                             f"(NEST {mapping.model} always starts it at 0)")
    return found


def unrecordable_variables(model: Model) -> list[str]:
    """Recorded variables NEST's multimeter cannot sample."""
    found = []
    for recording in model.recordings.values():
        if recording.projection:
            found.append(f"recording synapse state of {recording.projection} "
                         "(NEST's native synapses have no continuous state to sample)")
            continue
        population = model.populations[recording.population]
        mapping = NEURON_MODELS[population.type]
        blocked = mapping.unrecordable.intersection(recording.variables)
        if blocked:
            found.append(f"recording {', '.join(sorted(blocked))} of {population.type} "
                         f"(NEST {mapping.model} cannot record them)")
    return found


def tum_targets_without_efficacy(model: Model) -> list[str]:
    """lif_tum_2000 projections onto targets that NEST cannot run as iaf_tum_2000."""
    return [f"lif_tum_2000 onto {model.populations[p.target].type} "
            "(NEST applies iaf_tum_2000's efficacy only at iaf_tum_2000 targets)"
            for p in model.projections.values()
            if is_tum_projection(model, p) and model.populations[p.target].type not in TUM_TARGETS]


@dataclass
class NestNetwork:
    """One model built in NEST's kernel: nodes, devices and recorders."""

    nest: Any
    model: Model
    nodes: dict[str, np.ndarray] = field(default_factory=dict)
    multimeters: dict[str, Any] = field(default_factory=dict)
    spike_recorders: dict[str, Any] = field(default_factory=dict)
    _copies: dict = field(default_factory=dict)  # synapse-model copies made by connect(), by defaults
    #: free each projection's pairs and each spike source's trains once NEST holds them (the model is
    #: the worker's private copy): 28 MiB of the 4000-cell benchmark network's peak memory
    release_model_arrays: bool = False

    def __post_init__(self) -> None:
        self._reset_kernel()
        tum_targets = {p.target for p in self.model.projections.values() if is_tum_projection(self.model, p)}
        for name, population in self.model.populations.items():
            self.nodes[name] = self._create_population(population, name in tum_targets)
        for name, stimulus in self.model.spike_sources().items():
            self.nodes[name] = self._create_spike_source(stimulus)
            if self.release_model_arrays:
                stimulus.release_trains()
        for stimulus in self.model.current_stimuli().values():
            self._create_dc(stimulus)
        for projection in self.model.projections.values():
            self._connect_projection(projection)
            if self.release_model_arrays:
                projection.release_pairs()
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
        mapping = NEURON_MODELS[population.type]
        model = TUM_MODEL if tum_target else mapping.model
        neuron_type = population.neuron_type
        params = {nest_name(p): population.parameters[p.name] for p in neuron_type.parameters
                  if p.name not in mapping.dropped}
        params.update({k: v for k, v in population.initial.items() if k not in mapping.unsettable})
        if "I_e" in params:
            params["I_e"] = population.parameters["I_e"] * self.current_weight(population.name)
        nodes = self.nest.Create(model, population.size, params=params)
        return np.asarray(nodes.tolist(), dtype=int)

    def current_weight(self, population: str) -> float:
        """Factor applied to a current (pA) injected into ``population`` (1/C_m for izhikevich)."""
        pop = self.model.populations[population]
        scale = NEURON_MODELS[pop.type].current_scale
        return 1.0 / pop.parameters[scale] if scale else 1.0

    def _create_spike_source(self, stimulus: Stimulus) -> np.ndarray:
        """One spike_train_injector per train; times on the grid (ms)."""
        params = [{"spike_times": np.round(np.asarray(train) / self.dt) * self.dt} for train in stimulus.trains]
        nodes = self.nest.Create(STIMULUS_MODELS[stimulus.type], len(params), params=params)
        return np.asarray(nodes.tolist(), dtype=int)

    def _create_dc(self, stimulus: Stimulus) -> None:
        """A DC step as its edges: one from 0 ms adds to I_e, a later one is a dc_generator started dt
        early, because the device connection delays its current by dt."""
        cells = self.nodes[stimulus.target][sorted(set(stimulus.indices))]
        weight = self.current_weight(stimulus.target)
        for start, change in dc_edges(stimulus, self.model.simulation.duration):
            if steps(start, self.dt) == 0:
                targets = self.nest.NodeCollection(cells.tolist())
                targets.set(I_e=[i + change * weight for i in np.atleast_1d(targets.get("I_e"))])
                continue
            generator = self.nest.Create(STIMULUS_MODELS[stimulus.type],
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
        3.2 s and 425 MiB that way, 0.6 s and 257 MiB with the copy)."""
        if len(sources) == 0:
            return
        n = len(sources)
        defaults = {"weight": float(weight), "delay": float(delay),
                    **{key: float(value) for key, value in parameters.items() if key != "receptor_type"}}
        key = (synapse_model, tuple(sorted(defaults.items())))
        copy = self._copies.get(key)
        if copy is None:
            copy = self._copies[key] = f"bridge_{synapse_model}_{len(self._copies)}"
            self.nest.CopyModel(synapse_model, copy, defaults)
        syn_spec: dict[str, Any] = {"synapse_model": copy}
        if "receptor_type" in parameters:  # a connection property, not a synapse-model default
            syn_spec["receptor_type"] = np.full(n, float(parameters["receptor_type"]))
        self.nest.Connect(np.asarray(sources, dtype=np.int64), np.asarray(targets, dtype=np.int64),
                          conn_spec="one_to_one", syn_spec=syn_spec)

    def _connect_projection(self, projection: Projection) -> None:
        synapse = projection.synapse
        parameters = {nest_name(p): synapse.parameters[p.name] for p in synapse.synapse_type.parameters}
        parameters.update(synapse.initial)
        if is_tum_projection(self.model, projection):
            parameters["receptor_type"] = TUM_RECEPTOR
        sources, targets, pairs = self.nodes[projection.source], self.nodes[projection.target], projection.pairs
        for start in range(0, len(pairs), CONNECT_CHUNK):  # bounded temporary node-id arrays
            block = pairs[start:start + CONNECT_CHUNK]
            self.connect(sources[block[:, 0]], targets[block[:, 1]], SYNAPSE_MODELS[synapse.type],
                         projection.weight, projection.delay, **parameters)

    # ------------------------------------------------------------------ recording
    def _create_recorders(self, recording: Recording) -> None:
        if recording.variables:
            meter = self.nest.Create("multimeter", params={"record_from": list(recording.variables),
                                                           "interval": recording.interval})
            cells = sorted(set(recording.indices))
            self.nest.Connect(meter, self.nest.NodeCollection(self.nodes[recording.population][cells].tolist()))
            self.multimeters[recording.name] = meter
        if recording.spikes and recording.population not in self.spike_recorders:
            recorder = self.nest.Create("spike_recorder", params={"time_in_steps": True})
            self.nest.Connect(self.nest.NodeCollection(self.nodes[recording.population].tolist()), recorder)
            self.spike_recorders[recording.population] = recorder

    def simulate(self) -> None:
        """Run to ``duration + dt``: NEST hands over the sample of the last step one step late."""
        self.nest.Simulate(self.model.simulation.duration + self.dt)

    def result(self) -> Result:
        result = Result(model=self.model.name, backend="nest")
        for recording in self.model.recordings.values():
            if recording.name in self.multimeters:
                result.signals.update(self._signals(recording))
        for population, recorder in self.spike_recorders.items():
            result.spike_trains[population] = self._spike_trains(population, recorder)
        return result

    def _signals(self, recording: Recording) -> dict[tuple[str, str], Signal]:
        """Samples of a multimeter arranged as (sample, cell) arrays at the model's sample times."""
        events = self.multimeters[recording.name].events
        times = self.model.sample_times(recording)
        row = np.rint(np.asarray(events["times"]) / recording.interval).astype(int) - 1
        keep = (row >= 0) & (row < len(times))
        cells = sorted(set(recording.indices))
        column_of = {node: j for j, node in enumerate(self.nodes[recording.population][cells])}
        column = np.array([column_of[s] for s in np.asarray(events["senders"])[keep]], dtype=int)
        order = [cells.index(i) for i in recording.indices]  # columns as listed (duplicates allowed)
        states = {s.name: s.unit for s in self.model.populations[recording.population].neuron_type.states}
        signals = {}
        for variable in recording.variables:
            values = np.full((len(times), len(cells)), np.nan)
            values[row[keep], column] = np.asarray(events[variable], dtype=float)[keep]
            if np.isnan(values).any():
                raise RuntimeError(f"NEST returned incomplete samples of {recording.population}.{variable}")
            values = values[:, order]
            signals[(recording.population, variable)] = Signal(times, values, states[variable],
                                                               list(recording.indices))
        return signals

    def _spike_trains(self, population: str, recorder: Any) -> list[np.ndarray]:
        """Spike times (ms) per cell from a recorder in steps, up to the duration."""
        events = recorder.events
        senders = np.asarray(events["senders"], dtype=int)
        times = np.asarray(events["times"], dtype=float) * self.dt
        limit = self.model.simulation.duration + 0.5 * self.dt
        keep = times <= limit
        nodes = self.nodes[population]  # ascending node ids
        return split_spikes(times[keep], np.searchsorted(nodes, senders[keep]), len(nodes))
