"""Subprocess entry point: ``python -m bridge.backends.worker JOB.pickle OUT.npz FD PARENT_PID``.

The job is written by :mod:`bridge.backends.runner` in a private temporary directory: the built
:class:`~bridge.model.Model`, the backend name, its options and whether progress is displayed.  The
worker reports its phases, progress, notices and a final error on the pipe ``FD``
(:mod:`bridge.progress`), dies with its parent (Linux ``PR_SET_PDEATHSIG``) and, on a fatal signal
inside a simulator (SIGSEGV, SIGBUS, ...), prints the Python stack to its output (``faulthandler``)
for the parent's error message.

Started by ``mpiexec`` on several ranks (:mod:`bridge.backends.mpi`), every rank runs this with the
same job, simulates its own cells (:meth:`~bridge.backends.base.Backend.run_part`) and writes its part
next to ``OUT.npz`` (:func:`~bridge.backends.parts.part_path`); ``FD`` is -1 there (no progress: an
inherited descriptor number could be one of mpiexec's), every rank writes its error to a file of its own and a rank that fails leaves at once, which makes
``mpiexec`` stop the others.  (``PARENT_PID`` is not given then: a rank's parent is mpiexec's proxy.)
"""
from __future__ import annotations

import ctypes
import faulthandler
import json
import os
import pickle
import resource
import signal
import sys
import time
import traceback

from ..errors import ModelError, UnsupportedError
from ..progress import Reporter, install
from .mpi import launched_ranks
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
    if fd is not None and fd >= 0:
        os.set_inheritable(fd, False)  # compilers started from here must not hold the pipe
    with open(job_file, "rb") as handle:
        job = pickle.load(handle)
    ranks = launched_ranks()
    rank = int(os.environ.get("PMI_RANK", "0")) if ranks > 1 else 0
    if ranks > 1:  # the runner kills what is left of the ranks after the run
        global _ERROR_FILE
        with open(os.path.join(os.path.dirname(job_file), f"pid.{rank}"), "w") as handle:
            handle.write(str(os.getpid()))
        _ERROR_FILE = os.path.join(os.path.dirname(job_file), f"error.{rank}.json")
    reporter = Reporter(fd if fd is not None and fd >= 0 else None, live=bool(job.get("live")))
    install(reporter)
    try:
        model = job["model"]
        backend = get_backend(job["backend"])
        backend.configure(job.get("options", {}))
        backend.check(model)
        backend.release_model_arrays = True  # nothing else in this process uses the model's arrays
        if ranks > 1:
            return _run_rank(backend, model, out_file)
        started = time.perf_counter()
        result = backend.run(model)
        reporter.phase("saving the result")
        result.metadata.setdefault("wall_s", time.perf_counter() - started)
        result.metadata.setdefault("backend_version", backend.version())
        result.metadata.setdefault("dt_ms", model.simulation.dt)
        result.metadata.setdefault("duration_ms", model.simulation.duration)
        result.metadata["progress_pieces"] = reporter.pieces
        # this process's own peak (without compiler subprocesses such as nrnivmodl or Cython's gcc)
        result.metadata["maxrss_mib"] = peak_mib()
        result.save(out_file)
        return 0
    except ModelError as exc:
        _report(reporter, "model", message=exc.message, path=exc.path, expected=exc.expected, source=exc.source)
        return _leave(exc.exit_code, ranks)
    except UnsupportedError as exc:
        _report(reporter, "unsupported", reason=exc.reason)
        return _leave(exc.exit_code, ranks)
    except Exception as exc:  # crash inside a simulator: pass the message up, keep the trace in the output
        traceback.print_exc()
        _report(reporter, "failure", message=failure_message(exc))
        return _leave(4, ranks)


def failure_message(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` and of each exception it was raised from (Brian2 wraps the error
    that says what went wrong in a BrianObjectException that says only where)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {exc}".strip())
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "\n  caused by ".join(parts)


def _run_rank(backend, model, out_file: str) -> int:
    """One of several MPI ranks: simulate this rank's cells, write its part of the result."""
    from .parts import part_path

    started = time.perf_counter()
    part = backend.run_part(model)
    part.metadata.setdefault("wall_s", time.perf_counter() - started)
    part.metadata.setdefault("backend_version", backend.version())
    part.metadata.setdefault("dt_ms", model.simulation.dt)
    part.metadata.setdefault("duration_ms", model.simulation.duration)
    part.metadata["maxrss_mib"] = peak_mib()
    part.save(part_path(out_file, part.rank))
    backend.end_rank()
    return 0


def peak_mib() -> float:
    """This process's peak resident memory (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _leave(code: int, ranks: int) -> int:
    """The exit code of a failed run; on MPI ranks leave at once (no MPI_Finalize), so that
    ``mpiexec`` stops the other ranks instead of leaving them waiting for this one."""
    if ranks > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


#: on MPI ranks each rank's error also goes to a file of its own (their stdout lines may interleave)
_ERROR_FILE: str | None = None


def _report(reporter: Reporter, error: str, **payload) -> None:
    """The run's error, to the parent (and on MPI ranks into this rank's error file)."""
    if _ERROR_FILE:
        with open(_ERROR_FILE, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"kind": "error", "error": error, **payload}, default=str))
    reporter.send("error", error=error, **payload)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    sys.exit(main(arguments[0], arguments[1], *(int(a) for a in arguments[2:4])))
