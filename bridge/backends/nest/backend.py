"""The NEST backend class: what it runs, what it refuses and why, and one run."""
from __future__ import annotations

import time
from typing import ClassVar

from ...model import Model
from ...errors import UnsupportedError
from ...result import Result
from ..base import Backend
from .mapping import (NEURON_MODELS, STIMULUS_MODELS, SYNAPSE_MODELS, TUM_TARGETS, UNSUPPORTED, import_nest,
                      is_tum_projection)
from .network import NestNetwork


class NestBackend(Backend):
    """Runs a model on NEST's native models (see :mod:`bridge.backends.nest` for the mapping)."""

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

