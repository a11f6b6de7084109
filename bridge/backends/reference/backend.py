"""The reference backend class: which types it runs, its options, cell models vs reaction networks."""
from __future__ import annotations

import time

from ...model import Model
from ...result import Result
from ..base import Backend
from ..options import TOLERANCE, Option
from .defaults import ATOL, RTOL


class ReferenceBackend(Backend):
    """Runs every model type, built-in or declared (it evaluates the declared equations and rules
    themselves); see :mod:`bridge.backends.reference` for the semantics."""

    name = "reference"
    options = {
        "network_method": Option(str, "SciPy solver of reaction networks", choices=("BDF", "LSODA", "Radau"),
                                 nullable=False),
        "network_rtol": Option(doc="relative tolerance of reaction networks", nullable=False, **TOLERANCE),
        "network_atol": Option(doc="absolute tolerance of reaction networks, nM (null: 1e-10 nM)", **TOLERANCE),
        "rtol": Option(doc="DOP853's relative tolerance for non-linear cells", nullable=False, **TOLERANCE),
        "atol": Option(doc="DOP853's absolute tolerance, in each state's unit", nullable=False, **TOLERANCE),
        "max_step": Option(float, "DOP853's longest step, ms (null: unbounded)", positive=True),
    }
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

            result = run_network(model, NetworkSolverOptions(self.network_method, float(self.network_rtol),
                                                             None if self.network_atol is None
                                                             else float(self.network_atol)))
            result.metadata["backend_version"] = self.version()
            return result
        from ...progress import reporter
        from .cells import SolverOptions
        from .network import ReferenceSimulation

        started = time.perf_counter()
        reporter().phase("building the network")
        simulation = ReferenceSimulation(model, SolverOptions(float(self.rtol), float(self.atol),
                                                              None if self.max_step is None else float(self.max_step)))
        built = time.perf_counter()
        result = simulation.run()
        result.metadata.update(setup_s=built - started, simulate_s=time.perf_counter() - built,
                               backend_version=self.version())
        return result

