"""The reference backend class: which types it runs, its options, cell models vs reaction networks."""
from __future__ import annotations

import time

from ...model import Model
from ...errors import ModelError
from ...result import Result
from ..base import Backend
from .cells import ATOL, RTOL, SolverOptions
from .network import ReferenceSimulation


class ReferenceBackend(Backend):
    """Runs every model type, built-in or declared (it evaluates the declared equations and rules
    themselves); see :mod:`bridge.backends.reference` for the semantics."""

    name = "reference"
    #: reaction networks (``model.network``): solver (BDF, LSODA or Radau), relative tolerance and
    #: absolute tolerance in nM (None: 1e-10 nM);
    #: set with ``--option reference.network_rtol=1e-8`` etc.
    network_method: str = "BDF"
    network_rtol: float = 1e-10
    network_atol: float | None = None
    #: cell models: DOP853's relative and absolute tolerance and longest step (ms; None: unbounded),
    #: e.g. ``--option reference.max_step=0.1`` for convergence studies (see :class:`.cells.SolverOptions`)
    rtol: float = RTOL
    atol: float = ATOL
    max_step: float | None = None

    @classmethod
    def version(cls) -> str:
        import scipy

        from ... import __version__

        return f"bridge {__version__} (scipy {scipy.__version__})"

    def ranks_problem(self, ranks: int) -> str | None:
        return None if ranks == 1 else "the reference solver runs in one process; it has no MPI"

    def run(self, model: Model) -> Result:
        if model.network is not None:
            from .reactions import NetworkSolverOptions, run_network

            if self.network_method not in ("BDF", "LSODA", "Radau"):
                raise ModelError(f"network_method {self.network_method!r} is unknown", "--option",
                                 "reference.network_method=BDF, LSODA or Radau", "command line")

            result = run_network(model, NetworkSolverOptions(self.network_method, float(self.network_rtol),
                                                             None if self.network_atol is None
                                                             else float(self.network_atol)))
            result.metadata["backend_version"] = self.version()
            return result
        started = time.perf_counter()
        simulation = ReferenceSimulation(model, SolverOptions(float(self.rtol), float(self.atol),
                                                              None if self.max_step is None else float(self.max_step)))
        built = time.perf_counter()
        result = simulation.run()
        result.metadata.update(setup_s=built - started, simulate_s=time.perf_counter() - built,
                               backend_version=self.version())
        return result

