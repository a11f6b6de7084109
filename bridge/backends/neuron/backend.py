"""The NEURON backend class: what it runs, its options, and one run (cells or a reaction network)."""
from __future__ import annotations

import os
import time

from ...errors import UnsupportedError
from ...model import Model
from ...progress import reporter
from ...result import Result
from ..base import Backend, ModelType
from ..options import TOLERANCE, Option
from ..mpi import find_mpi_library, launched_ranks
from ..partition import Partition
from ..parts import RankPart, merge
from .network import SECTION_MODELS, CellOptions, MechanismPlan, NeuronSimulation, is_section
from .nmodl import MOD_DIR


#: shortest projection delay (in steps) on several MPI ranks: NEURON refuses psolve when the minimum NetCon
#: delay is one step (measured, NEURON 9.0.2: "mindelay is 0 (or less than dt for fixed step method)" at
#: 2 dt, runs at 3 dt), and bridge's NetCons onto point neurons are one step shorter than the delay
MIN_RANK_DELAY_STEPS = 3


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
        os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")  # no "No graphics will be displayed" banner
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

    def ranks_problem(self, ranks: int) -> str | None:
        if ranks > 1 and find_mpi_library() is None:
            return ("NEURON loads an MPI library at run time and none was found (install MPICH: pip install mpich, "
                    "part of bridge's [mpi] and [test] extras; or set MPI_LIB_NRN_PATH)")
        return None

    def run(self, model: Model) -> Result:
        if model.network is not None:
            return self._run_network(model)
        return merge(model, [self.run_part(model)], self.name)

    def run_part(self, model: Model) -> RankPart:
        """Simulate the cells of this process's rank (all of them outside ``mpiexec``); see
        :mod:`bridge.backends.partition` and, for the order of simultaneous events, :mod:`.gids`."""
        from . import build

        started = time.perf_counter()
        partition = self._partition()
        if partition.ranks > 1 and model.network is not None:
            raise UnsupportedError(self.name, "a reaction network on several MPI ranks (it is one compartment)")
        if partition.ranks > 1 and self.cvode:
            raise UnsupportedError(self.name, "cvode on several MPI ranks (bridge runs the fixed step across ranks)")
        if partition.ranks > 1:
            short = [p for p in model.projections.values() if p.delay < MIN_RANK_DELAY_STEPS * model.simulation.dt * (1 - 1e-9)]
            if short:
                raise UnsupportedError(self.name, f"projection {short[0].name} with delay {short[0].delay:g} ms on "
                                       f"{partition.ranks} MPI ranks (ranks exchange spikes once per minimum NetCon "
                                       "delay, which NEURON wants above one step, and bridge's NetCons deliver one "
                                       f"step early: delays of at least {MIN_RANK_DELAY_STEPS} dt = "
                                       f"{MIN_RANK_DELAY_STEPS * model.simulation.dt:g} ms)")
        reporter().phase("generating code")
        plan = MechanismPlan.for_model(model, bool(self.cvode))
        sources = [MOD_DIR / f"{m.name}.mod" if m.committed else build.generated_source("nrnmod", m.name, m.text)
                   for m in plan.all()]
        built = self._load(build, sources, partition)  # only what the model uses (compiling phase: build.build)
        reporter().phase("building the network")
        simulation = NeuronSimulation(model, CellOptions(
            bool(self.cvode), int(self.secondorder), self.n_sub, self.cvode_atol, self.cvode_rtol, self.located_dv),
            plan, partition)
        simulation._initialise()  # finitialize, weights, scheduled inputs: setup, not simulation
        ready = time.perf_counter()
        simulation.advance()
        stepped = time.perf_counter()
        reporter().phase("collecting results")
        part = simulation.collect()  # result handling: not simulation (the native scripts time psolve only)
        part.metadata.update(setup_s=ready - started, simulate_s=stepped - ready,
                             collect_s=time.perf_counter() - stepped, compile_s=built.seconds,
                             compiled=built.compiled, backend_version=self.version(), cvode=bool(self.cvode),
                             secondorder=int(self.secondorder),
                             library=", ".join(str(path) for path in built.libraries))
        return part

    def end_rank(self) -> None:
        from neuron import h

        pc = h.ParallelContext()
        pc.barrier()  # every rank has written its part
        pc.done()     # MPI_Finalize before the process ends

    @staticmethod
    def _partition() -> Partition:
        """This process's rank: MPI initialised through NEURON when started by ``mpiexec`` on several
        ranks (:mod:`bridge.backends.mpi`), which fails clearly when NEURON cannot load the library."""
        ranks = launched_ranks()
        if ranks == 1:
            return Partition()
        from neuron import h

        h.nrnmpi_init()
        pc = h.ParallelContext()
        if int(pc.nhost()) != ranks:
            library = find_mpi_library()
            raise UnsupportedError("neuron", f"NEURON could not load the MPI library {library or '(none found)'} "
                                   f"(MPI_LIB_NRN_PATH): it ran as {int(pc.nhost())} of {ranks} ranks")
        return Partition(int(pc.id()), ranks)

    @staticmethod
    def _load(build, sources, partition: Partition):
        """Compile (once, on rank 0 while the others wait) and load the mechanisms."""
        if partition.ranks == 1:
            return build.load_mechanisms(sources)
        from neuron import h

        pc = h.ParallelContext()
        if partition.rank == 0:  # a failure here ends rank 0, and mpiexec the others
            for source in sorted(set(sources)):
                build.build(source.parent, [source])
        pc.barrier()
        return build.load_mechanisms(sources)

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

