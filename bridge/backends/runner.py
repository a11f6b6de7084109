"""Run a backend on a model in its own subprocess.

NEST's kernel and NEURON's loaded mechanisms are process-global, so every run gets a fresh Python
process (``python -m bridge.backends.worker``).  The validated model travels pickled, so the worker
neither validates it again nor redraws its connections and input trains (nor imports the loader);
the result comes back as an NPZ file; an error comes back as one JSON line with its exit code.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
from typing import Any

from ..model import Model
from ..errors import EXIT_INVALID, EXIT_UNSUPPORTED, BackendFailure, ModelError, UnsupportedError
from ..result import Result


def job_for(model: Model, backend: str, dt: float | None = None, options: dict[str, Any] | None = None) -> dict:
    """Everything the worker needs for one run; with ``dt`` (ms) the model is rebuilt at that step."""
    if dt is not None and dt != model.simulation.dt:
        from ..model.timestep import with_dt

        model = with_dt(model, dt)
    return {"model": model, "backend": backend, "options": options or {}}


def start(model: Model, backend: str, dt: float | None = None, options: dict[str, Any] | None = None):
    """Start a run in a subprocess; returns a handle for :func:`finish`."""
    from .registry import check_backend_names

    check_backend_names([backend])
    workdir = tempfile.mkdtemp(prefix="bridge-run-")
    job_file = os.path.join(workdir, "job.pickle")
    with open(job_file, "wb") as handle:
        pickle.dump(job_for(model, backend, dt, options), handle, protocol=pickle.HIGHEST_PROTOCOL)
    out_file = os.path.join(workdir, "result.npz")
    process = subprocess.Popen([sys.executable, "-m", "bridge.backends.worker", job_file, out_file],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, workdir, out_file, backend


def finish(handle) -> Result:
    """Wait for a run started by :func:`start` and return its result (or raise its error)."""
    process, workdir, out_file, backend = handle
    stdout, stderr = process.communicate()
    try:
        if process.returncode == 0 and os.path.exists(out_file):
            return Result.load(out_file)
        error = _error_from(stdout)
        if error is not None:
            kind, payload = error
            if kind == "model":
                raise ModelError(payload["message"], payload["path"], payload["expected"], payload["source"])
            if kind == "unsupported":
                raise UnsupportedError(backend, payload["reason"])
            raise BackendFailure(f"{backend} failed: {payload['message']}")
        tail = "\n".join((stderr or "").strip().splitlines()[-15:])
        raise BackendFailure(f"{backend} process exited with code {process.returncode}:\n{tail}")
    finally:
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))
        os.rmdir(workdir)


def simulate(model: Model, backend: str = "reference", dt: float | None = None,
             options: dict[str, Any] | None = None) -> Result:
    """Run ``model`` on ``backend`` in a fresh subprocess and return the :class:`Result`.

    ``dt`` (ms) overrides the model's time step; ``options`` are backend-specific settings.
    """
    return finish(start(model, backend, dt, options))


def _error_from(stdout: str):
    for line in reversed((stdout or "").splitlines()):
        if line.startswith("BRIDGE-ERROR "):
            payload = json.loads(line[len("BRIDGE-ERROR "):])
            return payload.pop("kind"), payload
    return None


__all__ = ["simulate", "start", "finish", "EXIT_INVALID", "EXIT_UNSUPPORTED"]
