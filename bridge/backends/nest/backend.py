"""The NEST backend class: what it runs, what it refuses and why, and one run."""
from __future__ import annotations

import time

from ...errors import UnsupportedError
from ...model import Model
from ...progress import reporter
from ...result import Result
from ..base import Backend, ModelType
from ..mpi import launched_ranks
from ..parts import RankPart, merge
from . import install, nestml
from .mapping import TUM_MODEL, TUM_TARGETS, import_nest, is_tum_projection, native, quirks
from .network import NestNetwork


class NestBackend(Backend):
    """Runs a model on NEST's native models (each type's ``native: nest``; see :mod:`bridge.backends.nest`
    for the built-in mapping) and, for neuron types without one, on NESTML models bridge generates
    (:mod:`.nestml`; needs a NEST built from source)."""

    name = "nest"

    def type_problem(self, kind: ModelType) -> str | None:
        declared = super().type_problem(kind)
        if declared:
            return declared
        if "nest" not in kind.native:
            return nestml.problem(kind)
        receptors = getattr(kind, "receptors", {})
        if set(receptors) - {"excitatory", "inhibitory"}:
            return f"named receptor ports {', '.join(receptors)} (NEST's models take excitatory/inhibitory by sign)"
        if getattr(kind, "emits", None) is not None and native(kind).model != TUM_MODEL:
            return f"an emits rule on NEST model {native(kind).model} (only {TUM_MODEL} applies a per-neuron efficacy)"
        return None

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

    def ranks_problem(self, ranks: int) -> str | None:
        if ranks > 1 and not install.detect().mpi:
            return ("the installed NEST has no MPI: the PyPI wheel has none; scripts/build-nest-mpi builds NEST "
                    "from source with MPI")
        return None

    def run(self, model: Model) -> Result:
        return merge(model, [self.run_part(model)], self.name)

    def run_part(self, model: Model) -> RankPart:
        """Build and simulate the model; on several MPI ranks (``mpiexec`` started this process, NEST
        built with MPI) this rank's share: NEST places the nodes, bridge connects onto and reports
        the local ones (see :mod:`.network`)."""
        nest = import_nest()
        started = time.perf_counter()
        ranks = launched_ranks()
        if ranks > 1 and int(nest.NumProcesses()) != ranks:
            raise UnsupportedError(self.name, f"NEST runs as {int(nest.NumProcesses())} of {ranks} MPI ranks "
                                   f"({install.detect().summary()})")
        reporter().phase("building the network")
        network = NestNetwork(nest, model, rank=int(nest.Rank()) if ranks > 1 else 0, ranks=ranks)
        built = time.perf_counter()
        network.simulate()
        simulated = time.perf_counter()
        reporter().phase("collecting results")
        part = network.part()
        part.metadata.update(setup_s=built - started, simulate_s=simulated - built,
                             backend_version=str(nest.__version__), dt_ms=model.simulation.dt,
                             duration_ms=model.simulation.duration, nest=install.detect().summary(),
                             nestml_compiled=network.compiled)
        return part

    def end_rank(self) -> None:
        import nest  # already imported (and MPI initialised) by run_part

        nest.SyncProcesses()  # every rank has written its part; NEST finalises MPI at exit


def unsettable_states(model: Model) -> list[str]:
    """Initial values NEST cannot take (states it always starts at 0)."""
    found = []
    for population in model.populations.values():
        mapping = native(population.neuron_type)
        for state, value in population.initial.items():
            if mapping.name_of(state) in quirks(population.neuron_type).unsettable and value != 0.0:
                found.append(f"initial {state} = {value:g} in {population.name} "
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
        kind = model.populations[recording.population].neuron_type
        blocked = sorted(v for v in recording.variables if native(kind).name_of(v) in quirks(kind).unrecordable)
        if blocked:
            found.append(f"recording {', '.join(blocked)} of {kind.name} "
                         f"(NEST {native(kind).model} cannot record them)")
    return found


def tum_targets_without_efficacy(model: Model) -> list[str]:
    """Projections from iaf_tum_2000 sources onto targets that NEST cannot run as iaf_tum_2000."""
    return [f"{model.populations[p.source].type} onto {model.populations[p.target].type} "
            f"(NEST applies {TUM_MODEL}'s efficacy only at {TUM_MODEL} targets)"
            for p in model.projections.values()
            if is_tum_projection(model, p) and native(model.populations[p.target].neuron_type).model not in TUM_TARGETS]

