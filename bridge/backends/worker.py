"""Subprocess entry point: ``python -m bridge.backends.worker JOB.pickle OUT.npz``.

The job is written by :mod:`bridge.backends.runner` in a private temporary directory: the built
:class:`~bridge.model.Model`, the backend name and its options.
"""
from __future__ import annotations

import json
import pickle
import resource
import sys
import time
import traceback

from ..errors import ModelError, UnsupportedError
from .registry import get_backend


def main(job_file: str, out_file: str) -> int:
    with open(job_file, "rb") as handle:
        job = pickle.load(handle)
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
        started = time.perf_counter()
        result = backend.run(model)
        result.metadata.setdefault("wall_s", time.perf_counter() - started)
        result.metadata.setdefault("backend_version", backend.version())
        result.metadata.setdefault("dt_ms", model.simulation.dt)
        result.metadata.setdefault("duration_ms", model.simulation.duration)
        # this process's own peak (without compiler subprocesses such as nrnivmodl or Cython's gcc)
        result.metadata["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        result.save(out_file)
        return 0
    except ModelError as exc:
        _report("model", message=exc.message, path=exc.path, expected=exc.expected, source=exc.source)
        return exc.exit_code
    except UnsupportedError as exc:
        _report("unsupported", reason=exc.reason)
        return exc.exit_code
    except Exception as exc:  # crash inside a simulator: pass the message up, keep the trace on stderr
        traceback.print_exc()
        _report("failure", message=f"{type(exc).__name__}: {exc}")
        return 4


def _report(kind: str, **payload) -> None:
    print("BRIDGE-ERROR " + json.dumps({"kind": kind, **payload}), flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
