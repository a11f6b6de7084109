"""Run a backend on a model in its own subprocess (or in several, one per MPI rank).

NEST's kernel and NEURON's loaded mechanisms are process-global, so every run gets a fresh Python
process (``python -m bridge.backends.worker``).  The validated model travels pickled, without its
connections and input trains: the worker draws them (only those of its own cells, on MPI ranks;
see :mod:`bridge.model.drawing`) and never validates again (nor imports the loader).  The result
comes back as an NPZ file, or as one part per rank that :func:`finish` merges
(:mod:`bridge.backends.parts`); an error comes back as one JSON line with its exit code.  With
``ranks`` > 1 the worker starts under ``mpiexec`` (:mod:`bridge.backends.mpi`) in its own session,
so that nothing of it outlives the run.
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from typing import Any

from ..model import Model
from ..errors import EXIT_INVALID, EXIT_UNSUPPORTED, BackendFailure, ModelError, UnsupportedError
from ..result import Result
from . import mpi
from .parts import RankPart, merge, part_path


def job_for(model: Model, backend: str, dt: float | None = None, options: dict[str, Any] | None = None) -> dict:
    """Everything the worker needs for one run; with ``dt`` (ms) the model is rebuilt at that step."""
    if dt is not None and dt != model.simulation.dt:
        from ..model.timestep import with_dt

        model = with_dt(model, dt)
    return {"model": model, "backend": backend, "options": options or {}}


def start(model: Model, backend: str, dt: float | None = None, options: dict[str, Any] | None = None,
          ranks: int | None = None):
    """Start a run in a subprocess (``ranks`` > 1: under ``mpiexec``; None: the model's
    ``simulation.ranks``); returns a handle for :func:`finish`.  A request for ranks the backend or
    this machine cannot serve raises here, before anything starts (:func:`.mpi.check_ranks`)."""
    from .registry import check_backend_names

    check_backend_names([backend])
    job = job_for(model, backend, dt, options)
    if ranks is None:
        ranks = job["model"].simulation.ranks
        mpi.check_ranks(job["model"], backend, ranks)
    else:
        mpi.check_ranks(job["model"], backend, ranks, "ranks", "<call>")
    workdir = tempfile.mkdtemp(prefix="bridge-run-")
    job_file = os.path.join(workdir, "job.pickle")
    with open(job_file, "wb") as handle:
        pickle.dump(job, handle, protocol=pickle.HIGHEST_PROTOCOL)
    out_file = os.path.join(workdir, "result.npz")
    argv = [sys.executable, "-m", "bridge.backends.worker", job_file, out_file]
    env = None
    if ranks > 1:
        argv, env = mpi.command(ranks, argv)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=ranks > 1)
    return process, workdir, out_file, backend, job["model"], ranks


def finish(handle) -> Result:
    """Wait for a run started by :func:`start` and return its result (or raise its error)."""
    process, workdir, out_file, backend, model, ranks = handle
    try:
        stdout, stderr = process.communicate()
    finally:
        if ranks > 1:
            _stop_ranks(process.pid, workdir)
    try:
        if ranks > 1:
            parts = [part_path(out_file, rank) for rank in range(ranks)]
            if process.returncode == 0 and all(os.path.exists(p) for p in parts):
                return merge(model, [RankPart.load(p) for p in parts], backend)
        elif process.returncode == 0 and os.path.exists(out_file):
            return Result.load(out_file)
        error = _rank_error(workdir) if ranks > 1 else None
        error = error or _error_from(stdout)
        if error is not None:
            kind, payload = error
            if kind == "model":
                raise ModelError(payload["message"], payload["path"], payload["expected"], payload["source"])
            if kind == "unsupported":
                raise UnsupportedError(backend, payload["reason"])
            raise BackendFailure(f"{backend} failed: {payload['message']}")
        death = mpi.rank_death((stdout or "") + (stderr or ""), process.returncode) if ranks > 1 else None
        if death:
            raise BackendFailure(f"{backend} failed on {ranks} MPI ranks: {death}; mpiexec stopped the other "
                                 "ranks, no result")
        tail = "\n".join((stderr or "").strip().splitlines()[-15:])
        raise BackendFailure(f"{backend} process exited with code {process.returncode}:\n{tail}")
    finally:
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))
        os.rmdir(workdir)


def _stop_ranks(session: int, workdir: str) -> None:
    """Kill whatever is left of an ``mpiexec`` run: its session (mpiexec and its proxy) and every rank
    that wrote its process id into ``workdir`` (``mpiexec`` starts each rank in a session of its own;
    it stops them itself when one dies, this makes sure nothing outlives the run)."""
    try:
        os.killpg(session, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for name in os.listdir(workdir):
        if not name.startswith("pid."):
            continue
        with open(os.path.join(workdir, name)) as handle:
            pid = int(handle.read().strip() or 0)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if b"bridge.backends.worker" in handle.read():  # still that rank, not a reused pid
                    os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass


def simulate(model: Model, backend: str = "reference", dt: float | None = None,
             options: dict[str, Any] | None = None, ranks: int | None = None) -> Result:
    """Run ``model`` on ``backend`` in a fresh subprocess and return the :class:`Result`.

    ``dt`` (ms) overrides the model's time step; ``options`` are backend-specific settings; ``ranks``
    (default: the model's ``simulation.ranks``) runs it on that many MPI ranks (NEURON; NEST built
    with MPI), each simulating its share of the cells, the result merged here.
    """
    return finish(start(model, backend, dt, options, ranks))


def _error_from(stdout: str):
    for line in reversed((stdout or "").splitlines()):
        if line.startswith("BRIDGE-ERROR "):
            try:
                payload = json.loads(line[len("BRIDGE-ERROR "):])
            except ValueError:  # two processes' lines interleaved
                continue
            return payload.pop("kind"), payload
    return None


def _rank_error(workdir: str):
    """The error a rank of an MPI run reported (the lowest rank's), or None."""
    for name in sorted(os.listdir(workdir)):
        if name.startswith("error."):
            with open(os.path.join(workdir, name), encoding="utf-8") as handle:
                payload = json.loads(handle.read())
            return payload.pop("kind"), payload
    return None


__all__ = ["simulate", "start", "finish", "EXIT_INVALID", "EXIT_UNSUPPORTED"]
