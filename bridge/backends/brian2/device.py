"""Brian2's preferences, device and clock for one run (code-generation target, compiled-code cache)."""
from __future__ import annotations

from ...model import Model
from ...cache import cache_dir

#: code-generation targets bridge supports
TARGETS = ("numpy", "cython", "cpp_standalone")


def configure(b2, target: str, model: Model) -> None:
    """Set Brian2's preferences, device and clock for one run."""
    b2.prefs.codegen.runtime.cython.cache_dir = str(cache_dir("brian2") / "cython")
    b2.prefs.codegen.runtime.cython.multiprocess_safe = True
    b2.prefs.logging.file_log = False
    b2.prefs.logging.delete_log_on_exit = True
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", build_on_run=False)
    else:
        b2.prefs.codegen.target = target
    b2.defaultclock.dt = model.simulation.dt * b2.ms
