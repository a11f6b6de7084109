"""The Brian2 backend class: what it runs, its options, and one run (runtime or standalone device)."""
from __future__ import annotations

import time

from ...model import Model
from ...errors import UnsupportedError
from ...result import Result
from ..base import Backend
from ..options import Option
from ...cache import cache_dir, content_hash
from .device import METHODS, TARGETS, configure, run as run_reported
from ...progress import reporter
from .network import Brian2Network


class Brian2Backend(Backend):
    """Runs a model on Brian2 with code generated from its types' declarations, built-in or declared
    by the model (see :mod:`bridge.backends.brian2`)."""

    name = "brian2"
    options = {
        "target": Option(str, "Brian2's code-generation target", choices=TARGETS, nullable=False),
        "method": Option(str, "Brian2 integration method for every group (null: exact for linear types, else rk4)",
                         choices=METHODS),
    }

    #: code-generation target: numpy, cython or cpp_standalone
    target: str = "cython"
    #: Brian2 integration method for every group (None: exact for linear types, else rk4; located
    #: threshold types always use their own, see :func:`.codegen.located_state_update`)
    method: str | None = None

    @classmethod
    def version(cls) -> str:
        import brian2

        return f"brian2 {brian2.__version__}"

    def ranks_problem(self, ranks: int) -> str | None:
        return None if ranks == 1 else ("Brian2 runs a network in one process: its distributed options "
                                        "(multiple threads, GPU devices) are not MPI")

    def check(self, model: Model) -> None:
        if model.network is not None:  # reaction networks: see .reactions
            from . import reactions

            reactions.check(model, self.method, self.target)
            return
        super().check(model)
        if self.target not in TARGETS:
            raise UnsupportedError(self.name, f"target {self.target!r} (known: {', '.join(TARGETS)})")
        if self.method is not None:
            located = sorted({p.type for p in model.populations.values()
                              if p.neuron_type.threshold_detection == "located" and p.neuron_type.threshold})
            if located:
                raise UnsupportedError(self.name, f"integration method {self.method!r} for {', '.join(located)} "
                                       "(located thresholds are integrated by bridge's own Runge–Kutta sub-steps, "
                                       "which locate the crossing)")

    def warnings(self, model: Model) -> list[str]:
        """A cost warning when the run needs more than 1e8 fixed steps (:func:`.reactions.cost_warning`)."""
        from .reactions import cost_warning

        warning = cost_warning(model.simulation.duration, model.simulation.dt)
        return [warning] if warning else []

    def run(self, model: Model) -> Result:
        import brian2 as b2

        if model.network is not None:
            from . import reactions

            result = reactions.run(model, self.method, self.target)
            result.metadata.update(backend_version=self.version())
            return result
        started = time.perf_counter()
        report = reporter()
        report.phase("building the network")
        configure(b2, self.target, model)
        build = Brian2Network(b2, model, self.method, release_model_arrays=self.release_model_arrays)
        if self.target == "cpp_standalone":
            built = time.perf_counter()
            report.phase("generating code")
            _run_standalone(b2, build, model, self.method)
            finished = time.perf_counter()
            simulate_s = float(getattr(b2.device, "_last_run_time", None) or finished - built)
            setup_s = finished - started - simulate_s
        else:
            report.phase("generating code")  # and compilation ("compiling": .cython_cache)
            build.network.run(0 * b2.ms, namespace={})
            built = time.perf_counter()
            report.phase("integrating", model.simulation.duration)
            run_reported(b2, build.network, build.run_time, {}, total_ms=model.simulation.duration)
            setup_s, simulate_s = built - started, time.perf_counter() - built
        report.phase("collecting results")
        result = build.result()
        result.metadata.update(setup_s=setup_s, simulate_s=simulate_s, backend_version=self.version(),
                               target=self.target, methods=build.methods)
        return result


def _run_standalone(b2, build: Brian2Network, model: Model, method: str | None) -> None:
    """Build (or reuse) and run the C++ project of ``model`` under a lock, then read its results."""
    from brian2.utils.filelock import FileLock

    build.network.run(build.run_time, namespace={})
    key = content_hash(repr(sorted(model.document.items(), key=str)), repr(model.simulation), str(method),
                       b2.__version__)
    directory = cache_dir("brian2") / "standalone" / key
    directory.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory) + ".lock"):
        reporter().phase("compiling and integrating (C++ standalone: no progress until it ends)")
        b2.device.build(directory=str(directory), compile=True, run=True, with_output=False)
        build.collect()


__all__ = ["Brian2Backend", "TARGETS"]
