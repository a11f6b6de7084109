"""Subprocess entry point: ``python -m bridge.backends.worker JOB.pickle OUT.npz FD PARENT_PID``.

The job is written by :mod:`bridge.backends.runner` in a private temporary directory: the built
:class:`~bridge.model.Model`, the backend name, its options and whether progress is displayed.  The
worker reports its phases, progress, notices and a final error on the pipe ``FD``
(:mod:`bridge.progress`), dies with its parent (Linux ``PR_SET_PDEATHSIG``) and, on a fatal signal
inside a simulator (SIGSEGV, SIGBUS, ...), prints the Python stack to its output (``faulthandler``)
for the parent's error message.
"""
from __future__ import annotations

import ctypes
import faulthandler
import os
import pickle
import resource
import signal
import sys
import time
import traceback

from ..errors import ModelError, UnsupportedError
from ..progress import Reporter, install
from .registry import get_backend

#: ``prctl`` option: the signal the kernel sends this process when its parent exits
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent exits (Linux; elsewhere nothing)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent was already gone before prctl
        os._exit(128 + signal.SIGKILL)


def main(job_file: str, out_file: str, fd: int | None = None, parent_pid: int | None = None) -> int:
    if parent_pid is not None:
        die_with_parent(parent_pid)
    faulthandler.enable()
    # the parent stops this process group with SIGINT/SIGTERM: end at once, even inside a simulator's C loop
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if fd is not None:
        os.set_inheritable(fd, False)  # compilers started from here must not hold the pipe
    with open(job_file, "rb") as handle:
        job = pickle.load(handle)
    reporter = Reporter(fd, live=bool(job.get("live")))
    install(reporter)
    try:
        model = job["model"]
        backend = get_backend(job["backend"])
        backend.configure(job.get("options", {}))
        backend.check(model)
        backend.release_model_arrays = True  # nothing else in this process uses the model's arrays
        started = time.perf_counter()
        result = backend.run(model)
        reporter.phase("saving the result")
        result.metadata.setdefault("wall_s", time.perf_counter() - started)
        result.metadata.setdefault("backend_version", backend.version())
        result.metadata.setdefault("dt_ms", model.simulation.dt)
        result.metadata.setdefault("duration_ms", model.simulation.duration)
        result.metadata["progress_pieces"] = reporter.pieces
        # this process's own peak (without compiler subprocesses such as nrnivmodl or Cython's gcc)
        result.metadata["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        result.save(out_file)
        return 0
    except ModelError as exc:
        reporter.send("error", error="model", message=exc.message, path=exc.path, expected=exc.expected,
                      source=exc.source)
        return exc.exit_code
    except UnsupportedError as exc:
        reporter.send("error", error="unsupported", reason=exc.reason)
        return exc.exit_code
    except Exception as exc:  # crash inside a simulator: pass the message up, keep the trace in the output
        traceback.print_exc()
        reporter.send("error", error="failure", message=failure_message(exc))
        return 4


def failure_message(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` and of each exception it was raised from (Brian2 wraps the error
    that says what went wrong in a BrianObjectException that says only where)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {exc}".strip())
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "\n  caused by ".join(parts)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    sys.exit(main(arguments[0], arguments[1], *(int(a) for a in arguments[2:4])))
