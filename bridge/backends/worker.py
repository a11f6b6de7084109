"""Subprocess entry point: ``python -m bridge.backends.worker JOB.pickle OUT.npz``.

The job is written by :mod:`bridge.backends.runner` in a private temporary directory: the built
:class:`~bridge.model.Model`, the backend name and its options.  Started by ``mpiexec`` on several
ranks (:mod:`bridge.backends.mpi`), every rank runs this with the same job, simulates its own cells
(:meth:`~bridge.backends.base.Backend.run_part`) and writes its part next to ``OUT.npz``
(:func:`~bridge.backends.parts.part_path`); a rank that fails reports its error and leaves at once,
which makes ``mpiexec`` stop the others.
"""
from __future__ import annotations

import json
import os
import pickle
import resource
import sys
import time
import traceback

from ..errors import ModelError, UnsupportedError
from .mpi import launched_ranks
from .registry import get_backend


def main(job_file: str, out_file: str) -> int:
    with open(job_file, "rb") as handle:
        job = pickle.load(handle)
    ranks = launched_ranks()
    if ranks > 1:  # the runner kills what is left of the ranks after the run
        global _ERROR_FILE
        rank = os.environ.get("PMI_RANK", str(os.getpid()))
        with open(os.path.join(os.path.dirname(job_file), f"pid.{rank}"), "w") as handle:
            handle.write(str(os.getpid()))
        _ERROR_FILE = os.path.join(os.path.dirname(job_file), f"error.{rank}.json")
    try:
        model = job["model"]
        backend = get_backend(job["backend"])
        for key, value in job.get("options", {}).items():
            if key.startswith("_") or not hasattr(backend, key) or callable(getattr(backend, key)):
                raise ModelError(f"{job['backend']} has no option {key!r}", "--option",
                                 "an option the backend documents (see README)", "command line")
            setattr(backend, key, value)
        backend.check(model)
        backend.release_model_arrays = True  # nothing else in this process uses the model's arrays
        if ranks > 1:
            return _run_rank(backend, model, out_file)
        started = time.perf_counter()
        result = backend.run(model)
        result.metadata.setdefault("wall_s", time.perf_counter() - started)
        result.metadata.setdefault("backend_version", backend.version())
        result.metadata.setdefault("dt_ms", model.simulation.dt)
        result.metadata.setdefault("duration_ms", model.simulation.duration)
        # this process's own peak (without compiler subprocesses such as nrnivmodl or Cython's gcc)
        result.metadata["maxrss_mib"] = peak_mib()
        result.save(out_file)
        return 0
    except ModelError as exc:
        _report("model", message=exc.message, path=exc.path, expected=exc.expected, source=exc.source)
        return _leave(exc.exit_code, ranks)
    except UnsupportedError as exc:
        _report("unsupported", reason=exc.reason)
        return _leave(exc.exit_code, ranks)
    except Exception as exc:  # crash inside a simulator: pass the message up, keep the trace on stderr
        traceback.print_exc()
        _report("failure", message=f"{type(exc).__name__}: {exc}")
        return _leave(4, ranks)


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


def _report(kind: str, **payload) -> None:
    line = json.dumps({"kind": kind, **payload})
    if _ERROR_FILE:
        with open(_ERROR_FILE, "w", encoding="utf-8") as handle:
            handle.write(line)
    print("BRIDGE-ERROR " + line, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
