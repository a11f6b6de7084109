"""Brian2's preferences, device and clock for one run (code-generation target, compiled-code cache,
checked compiled modules) and runs that report their progress."""
from __future__ import annotations

from typing import Any

from ...model import Model
from ...cache import cache_dir
from ...progress import INTERVAL_S, reporter

#: code-generation targets bridge supports
TARGETS = ("numpy", "cython", "cpp_standalone")
#: Brian2's integration methods (``StateUpdateMethod.stateupdaters`` of Brian2 2.9; a test checks the
#: list against the installed Brian2, so the option is validated without importing it)
METHODS = ("euler", "exact", "exponential_euler", "gsl", "gsl_rk2", "gsl_rk4", "gsl_rk8pd", "gsl_rkck", "gsl_rkf45",
           "heun", "independent", "linear", "milstein", "rk2", "rk4")


def configure(b2, target: str, model: Model) -> None:
    """Set Brian2's preferences, device and clock for one run."""
    b2.prefs.codegen.runtime.cython.cache_dir = str(cache_dir("brian2") / "cython")
    b2.prefs.codegen.runtime.cython.multiprocess_safe = True
    if target == "cython":
        from .cython_cache import check_modules

        check_modules()
    b2.prefs.logging.file_log = False
    b2.prefs.logging.delete_log_on_exit = True
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", build_on_run=False)
    else:
        b2.prefs.codegen.target = target
    b2.defaultclock.dt = model.simulation.dt * b2.ms


def run(b2, network: Any, run_time: Any, namespace: dict, offset_ms: float = 0.0, total_ms: float | None = None) -> None:
    """``network.run(run_time)``; while progress is displayed, reporting the simulated time (ms):
    ``offset_ms`` plus the part of ``run_time`` done, at most ``total_ms``."""
    report = reporter()
    if not report.live:
        network.run(run_time, namespace=namespace)
        return
    span = float(run_time / b2.ms)
    total = total_ms if total_ms is not None else offset_ms + span

    def reached(elapsed: Any, completed: float, start: Any, duration: Any) -> None:
        report.at(min(offset_ms + completed * span, total))

    network.run(run_time, namespace=namespace, report=reached, report_period=INTERVAL_S * b2.second)
