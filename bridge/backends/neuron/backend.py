"""The NEURON backend class: what it runs, its options, and one run (cells or a reaction network)."""
from __future__ import annotations

import time

from ...errors import UnsupportedError
from ...model import Model
from ...progress import reporter
from ...result import Result
from ..base import Backend, ModelType
from ..options import TOLERANCE, Option
from .network import SECTION_MODELS, CellOptions, MechanismPlan, NeuronSimulation, is_section
from .nmodl import MOD_DIR


class NeuronBackend(Backend):
    """Runs models on NEURON 9 with NMODL mechanisms generated from their types (built-in or
    declared) and compiled once; combinations NEURON cannot run are refused in :meth:`check`."""

    name = "neuron"
    options = {
        "cvode": Option(bool, "integrate with CVODE (null: on for reaction networks, off for cells)"),
        "secondorder": Option(int, "NEURON's secondorder for passive sections: 0 backward Euler, 2 Crank–Nicolson",
                              choices=(0, 1, 2), nullable=False),
        "n_sub": Option(int, "Runge–Kutta sub-steps per dt of point neurons (null: see substeps)", minimum=1,
                        maximum=1000),
        "located_dv": Option(float, "largest membrane change per Runge–Kutta piece of a located threshold, mV "
                             "(null: 0.5 mV)", positive=True, maximum=100.0),
        "cvode_atol": Option(doc="CVODE's absolute tolerance (cells: mV; reaction networks: nM)", **TOLERANCE),
        "cvode_rtol": Option(doc="CVODE's relative tolerance", **TOLERANCE),
    }

    #: None: the default of the model kind (fixed step for cells, CVODE for reaction networks)
    cvode: bool | None = None
    secondorder: int = 2
    n_sub: int | None = None
    #: largest membrane change (mV) per Runge–Kutta piece of a located-threshold type (None: 0.5 mV)
    located_dv: float | None = None
    #: None: 1e-8 for cells (mV, and the synapses' units); for reaction networks see .reactions
    cvode_atol: float | None = None
    cvode_rtol: float | None = None

    @classmethod
    def version(cls) -> str:
        import neuron

        return f"NEURON {neuron.__version__}"

    def type_problem(self, kind: ModelType) -> str | None:
        native = getattr(kind, "native", {}).get("neuron")
        if native is not None and native.model not in SECTION_MODELS:
            return f"native NEURON model {native.model!r} (bridge builds {', '.join(SECTION_MODELS)} sections only)"
        return super().type_problem(kind)

    def check(self, model: Model) -> None:
        if model.network is not None:
            from . import reactions

            reactions.check(model, self.cvode is not False)
            return
        super().check(model)
        for projection in model.projections.values():
            target = model.populations[projection.target].neuron_type
            continuous = projection.synapse.synapse_type.continuous
            if continuous and not is_section(target):
                raise UnsupportedError(self.name, f"{projection.synapse.type} onto {target.name} (continuous synapses "
                                       "need a real NEURON section: only onto types declared 'native: neuron: pas', "
                                       "such as passive)")
        if self.cvode and any(not is_section(p.neuron_type) for p in model.populations.values()):
            raise UnsupportedError(self.name, "cvode with point neurons (their exact per-step update is not a "
                                   "CVODE right-hand side; use the fixed step)")

    def run(self, model: Model) -> Result:
        from . import build

        if model.network is not None:
            return self._run_network(model)
        started = time.perf_counter()
        reporter().phase("generating code")
        plan = MechanismPlan.for_model(model, bool(self.cvode))
        sources = [MOD_DIR / f"{m.name}.mod" if m.committed else build.generated_source("nrnmod", m.name, m.text)
                   for m in plan.all()]
        built = build.load_mechanisms(sources)  # only what the model uses (compiling phase: build.build)
        reporter().phase("building the network")
        simulation = NeuronSimulation(model, CellOptions(
            bool(self.cvode), int(self.secondorder), self.n_sub, self.cvode_atol, self.cvode_rtol, self.located_dv), plan)
        simulation._initialise()  # finitialize, weights, scheduled inputs: setup, not simulation
        ready = time.perf_counter()
        simulation.advance()
        stepped = time.perf_counter()
        reporter().phase("collecting results")
        result = simulation.collect()  # result handling: not simulation (the native scripts time psolve only)
        result.metadata.update(setup_s=ready - started, simulate_s=stepped - ready,
                               collect_s=time.perf_counter() - stepped, compile_s=built.seconds,
                               compiled=built.compiled, backend_version=self.version(), cvode=bool(self.cvode),
                               secondorder=int(self.secondorder),
                               library=", ".join(str(path) for path in built.libraries))
        return result

    def _run_network(self, model: Model) -> Result:
        from . import reactions

        started = time.perf_counter()
        reporter().phase("generating code")
        simulation = reactions.NetworkSimulation(
            model, cvode=self.cvode is not False,
            rtol=reactions.RTOL if self.cvode_rtol is None else float(self.cvode_rtol),
            atol=reactions.ATOL_NM if self.cvode_atol is None else float(self.cvode_atol))
        ready = time.perf_counter()
        result = simulation.run()
        result.metadata.update(setup_s=ready - started, backend_version=self.version(),
                               dt_ms=model.simulation.dt, duration_ms=model.simulation.duration)
        return result

