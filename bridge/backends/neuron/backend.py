"""The NEURON backend class: what it runs, its options, and one run (cells or a reaction network)."""
from __future__ import annotations

import time
from typing import ClassVar

from ...catalog import STIMULI, SYNAPSES
from ...model import Model
from ...errors import UnsupportedError
from ...result import Result
from ..base import Backend
from .network import SECTION_NEURONS, CellOptions, NeuronSimulation
from .nmodl import CVODE_SUFFIX, MOD_DIR, POINT_NEURONS, mechanism_name


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
    #: None: 1e-8 for cells (mV, and the synapses' units); for reaction networks see .reactions
    cvode_atol: float | None = None
    cvode_rtol: float | None = None

    @classmethod
    def version(cls) -> str:
        import neuron

        return f"NEURON {neuron.__version__}"

    def check(self, model: Model) -> None:
        if model.network is not None:
            from . import reactions

            reactions.check(model, self.cvode is not False)
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
        from . import build

        if model.network is not None:
            return self._run_network(model)
        started = time.perf_counter()
        built = build.load_mechanisms(self.mechanisms(model), MOD_DIR)  # only what the model uses
        simulation = NeuronSimulation(model, CellOptions(
            bool(self.cvode), int(self.secondorder), self.n_sub, self.cvode_atol, self.cvode_rtol))
        simulation._initialise()  # finitialize, weights, scheduled inputs: setup, not simulation
        ready = time.perf_counter()
        simulation.advance()
        stepped = time.perf_counter()
        result = simulation.collect()  # result handling: not simulation (the native scripts time psolve only)
        result.metadata.update(setup_s=ready - started, simulate_s=stepped - ready,
                               collect_s=time.perf_counter() - stepped, compile_s=built.seconds,
                               compiled=built.compiled, backend_version=self.version(), cvode=bool(self.cvode),
                               secondorder=int(self.secondorder),
                               library=", ".join(str(path) for path in built.libraries))
        return result

    def mechanisms(self, model: Model) -> set[str]:
        """Names of the compiled mechanisms ``model`` needs (point neurons, continuous synapses)."""
        names = {mechanism_name(p.type) for p in model.populations.values() if p.type not in SECTION_NEURONS}
        variant = CVODE_SUFFIX if self.cvode else ""
        names |= {mechanism_name(p.synapse.type) + variant for p in model.projections.values()
                  if p.synapse.synapse_type.continuous}
        return names

    def _run_network(self, model: Model) -> Result:
        from . import reactions

        started = time.perf_counter()
        simulation = reactions.NetworkSimulation(
            model, cvode=self.cvode is not False,
            rtol=reactions.RTOL if self.cvode_rtol is None else float(self.cvode_rtol),
            atol=reactions.ATOL_NM if self.cvode_atol is None else float(self.cvode_atol))
        ready = time.perf_counter()
        result = simulation.run()
        result.metadata.update(setup_s=ready - started, backend_version=self.version(),
                               dt_ms=model.simulation.dt, duration_ms=model.simulation.duration)
        return result

