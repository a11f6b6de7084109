"""Run a backend on a model in its own subprocess (a worker).

NEST's kernel and NEURON's loaded mechanisms are process-global, so every run gets a fresh Python
process (``python -m bridge.backends.worker``).  The validated model travels pickled, so the worker
neither validates it again nor redraws its connections and input trains (nor imports the loader);
the result comes back as an NPZ file.

With ``ranks`` > 1 the worker starts under ``mpiexec`` (:mod:`bridge.backends.mpi`): every rank
draws only the connections and input trains of its own cells (:mod:`bridge.model.drawing`) and
writes its part of the result, which :meth:`Job.result` merges (:mod:`bridge.backends.parts`).

Each worker (a :class:`Job`):

* gets a private temporary directory (``bridge-run-<parent pid>-*``, mode 0700) holding the job file,
  the result, its output (stdout and stderr: ``output.log``) and its temporary files (``TMPDIR``
  points there, also for the compilers it runs); the directory is removed when the job ends, however
  it ends, and one left by a parent that was killed (``kill -9``) is removed by the next run;
* runs in its own session and process group, so a Ctrl-C in the terminal reaches only the parent,
  which stops the whole group (compilers included): it forwards the signal, waits up to
  :data:`GRACE_S` and then kills the group (:meth:`Job.stop`, :func:`stop_all`); the worker also
  dies with its parent (``PR_SET_PDEATHSIG``), so a parent killed with ``kill -9`` leaves no worker;
* reports its phase, progress, notices and a final error over a pipe (:mod:`bridge.progress`);
* ends with a result, or an error with its exit code; a worker killed by a signal is reported with
  the signal's name, the phase it was in and the last lines of its output.

Options (:mod:`.options`) and the time step are checked here, in the parent, before any process
starts: bad input is :class:`~bridge.errors.ModelError` (exit 2), never a failed run.
"""
from __future__ import annotations

import atexit
import fcntl
import json
import os
import pickle
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping

from ..errors import BackendFailure, BridgeError, ModelError, UnsupportedError
from ..interrupts import deferred, signal_name, signal_number
from ..model import Model
from ..model.timestep import check_dt
from ..progress import Status, notice
from ..result import Result
from . import mpi
from .parts import RankPart, merge, part_path

#: seconds a worker may take to exit after its parent forwarded a signal, before it is killed
GRACE_S = 2.0
#: lines of a failed worker's output quoted in the error
TAIL_LINES = 15
#: jobs whose worker may still be running (stopped by :func:`stop_all`)
_LIVE: set["Job"] = set()
#: name prefix of a job's temporary directory, followed by the parent's process id
WORKDIR_PREFIX = "bridge-run-"


def remove_stale_workdirs() -> None:
    """Remove job directories of parents that no longer run (killed before they could clean up)."""
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        owner = name[len(WORKDIR_PREFIX):].partition("-")[0] if name.startswith(WORKDIR_PREFIX) else ""
        if not owner.isdigit() or int(owner) == os.getpid():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        except OSError:
            pass


def job_for(model: Model, backend: str, dt: float | None = None, options: dict[str, Any] | None = None,
            live: bool = False) -> dict:
    """Everything the worker needs for one run; with ``dt`` (ms) the model is rebuilt at that step;
    ``live``: the parent displays progress (the worker reports its simulated time)."""
    if dt is not None and dt != model.simulation.dt:
        from ..model.timestep import with_dt

        model = with_dt(model, dt)
    return {"model": model, "backend": backend, "options": options or {}, "live": live}


def checked_options(backend: str, options: Any, source: str = "<call>") -> dict[str, Any]:
    """``options`` of ``backend`` checked against what it declares (:mod:`.options`)."""
    from .registry import get_backend

    backend_object = get_backend(backend)
    backend_object.configure(options, source)
    return {key: getattr(backend_object, key) for key in (options or {})}


class Job:
    """One run of ``model`` on ``backend`` in a worker process (see the module docstring).

    ``label`` names it in progress displays and errors (default: the backend); ``live``: the worker
    reports its simulated time for a display; ``ranks``: MPI ranks (None: the model's
    ``simulation.ranks``), checked before anything starts (:func:`.mpi.check_ranks`)."""

    def __init__(self, model: Model, backend: str, dt: float | None = None, options: Mapping[str, Any] | None = None,
                 label: str | None = None, live: bool = False, ranks: int | None = None):
        from .registry import check_backend_names

        if not isinstance(model, Model):
            raise ModelError(f"{type(model).__name__} {model!r:.60} is not a model", "model",
                             "a bridge.Model (bridge.load(path) or bridge.from_dict(...))", "<call>")
        check_backend_names([backend])
        dt = check_dt(dt)
        options = checked_options(backend, options)
        job = job_for(model, backend, dt, options, live)
        if ranks is None:
            ranks = job["model"].simulation.ranks
            mpi.check_ranks(job["model"], backend, ranks)
        else:
            mpi.check_ranks(job["model"], backend, ranks, "ranks", "<call>")
        self.ranks = ranks
        self.model = job["model"] if ranks > 1 else None  # the parts of the ranks are merged with it
        self.backend = backend
        self.label = label or backend
        self.status = Status(self.label, total=job["model"].simulation.duration)
        self.stopping = False
        self.read_fd: int | None = None
        self.buffer = b""
        remove_stale_workdirs()
        self.workdir = tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-")
        try:
            job_file = os.path.join(self.workdir, "job.pickle")
            with open(job_file, "xb") as handle:
                pickle.dump(job, handle, protocol=pickle.HIGHEST_PROTOCOL)
            del job
            self.out_file = os.path.join(self.workdir, "result.npz")
            self.log_file = os.path.join(self.workdir, "output.log")
            read_fd, write_fd = os.pipe()
            self.read_fd = read_fd
            fcntl.fcntl(read_fd, fcntl.F_SETFL, fcntl.fcntl(read_fd, fcntl.F_GETFL) | os.O_NONBLOCK)
            argv = [sys.executable, "-m", "bridge.backends.worker", job_file, self.out_file]
            env = dict(os.environ)
            if ranks > 1:  # no pipe (see the worker), and the ranks' parent is mpiexec's proxy
                argv, env = mpi.command(ranks, [*argv, "-1"])
            else:
                argv += [str(write_fd), str(os.getpid())]
            try:
                with open(self.log_file, "xb") as log:
                    self.process = subprocess.Popen(
                        argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=[write_fd],
                        start_new_session=True, env={**env, "TMPDIR": self.workdir})
            finally:
                os.close(write_fd)
        except BaseException:
            self.cleanup()
            raise
        self.started = time.perf_counter()
        self.error: dict | None = None
        _LIVE.add(self)

    # ------------------------------------------------------------------ watching
    def fileno(self) -> int:
        """The progress pipe (for ``select``)."""
        return self.read_fd if self.read_fd is not None else -1

    def pump(self) -> None:
        """Read whatever the worker sent; update :attr:`status` (and :attr:`error`)."""
        while self.read_fd is not None:
            try:
                chunk = os.read(self.read_fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                os.close(self.read_fd)
                self.read_fd = None
                return
            self.buffer += chunk
            *lines, self.buffer = self.buffer.split(b"\n")
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if message.get("kind") == "error":
                    self.error = message
                else:
                    self.status.apply(message)

    def done(self) -> bool:
        """True once the worker has exited (everything it sent is then read)."""
        if self.process.poll() is None:
            return False
        self.pump()
        return True

    def result(self) -> Result:
        """Wait for the worker and return its result, or raise its error; the job's files are gone
        afterwards."""
        try:
            while not self.done():
                wait([self], 0.5)
            returncode = self.process.returncode
            if self.ranks > 1:
                _stop_ranks(self.process.pid, self.workdir)
                parts = [part_path(self.out_file, rank) for rank in range(self.ranks)]
                if returncode == 0 and all(os.path.exists(p) for p in parts):
                    result = merge(self.model, [RankPart.load(p) for p in parts], self.backend)
                    result.metadata.setdefault("notices", self.status.notices)
                    return result
                self.error = _rank_error(self.workdir) or self.error
            elif returncode == 0 and os.path.exists(self.out_file):
                result = Result.load(self.out_file)
                result.metadata.setdefault("notices", self.status.notices)
                return result
            raise self._failure(returncode)
        finally:
            self.cleanup()

    def _failure(self, returncode: int) -> BridgeError:
        if self.error is not None:
            kind = self.error.get("error")
            if kind == "model":
                return ModelError(self.error["message"], self.error["path"], self.error["expected"], self.error["source"])
            if kind == "unsupported":
                return UnsupportedError(self.backend, self.error["reason"])
            return BackendFailure(f"{self.label} failed: {self.error['message']}")
        where = self.status.phase + (f" at t = {self.status.t:g} ms" if self.status.phase == "integrating"
                                     and self.status.t > 0 else "")
        tail = self.output_tail()
        last = f"; its last output:\n{tail}" if tail else " (it wrote nothing)"
        death = mpi.rank_death(tail, returncode) if self.ranks > 1 else None
        if death:
            return BackendFailure(f"{self.label} failed on {self.ranks} MPI ranks: {death}; mpiexec stopped the "
                                  f"other ranks, no result{last}")
        if returncode < 0:
            hint = " (perhaps out of memory: see --max-memory)" if -returncode == signal.SIGKILL else ""
            return BackendFailure(f"{self.label} worker was killed by {signal_name(-returncode)}{hint} while "
                                  f"{where}{last}")
        return BackendFailure(f"{self.label} worker exited with code {returncode} while {where}{last}")

    def output_tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` non-empty lines the worker printed."""
        try:
            with open(self.log_file, "rb") as handle:
                handle.seek(max(0, os.path.getsize(self.log_file) - 16384))
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])

    # ------------------------------------------------------------------ stopping
    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the worker's process group (its compilers too)."""
        self.stopping = True
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop the worker (see :func:`stop_all`)."""
        stop_all(signum, [self])

    def cleanup(self) -> None:
        """Close the pipe, end what is left of MPI ranks and remove the job's directory."""
        if getattr(self, "ranks", 1) > 1 and hasattr(self, "process"):
            _stop_ranks(self.process.pid, self.workdir)
        if self.read_fd is not None:
            os.close(self.read_fd)
            self.read_fd = None
        shutil.rmtree(self.workdir, ignore_errors=True)
        _LIVE.discard(self)


def stop_all(signum: int = signal.SIGTERM, jobs: list[Job] | None = None, grace: float = GRACE_S) -> None:
    """Stop ``jobs`` (default: every job of this process that may still run): forward ``signum`` to
    each worker's process group, wait up to ``grace`` seconds for them to exit, kill what is left
    (SIGKILL, whole groups), then remove their files.  Further SIGINT/SIGTERM are ignored meanwhile."""
    jobs = list(_LIVE if jobs is None else jobs)
    if not jobs:
        return
    with deferred():
        for job in jobs:
            job.send_signal(signum)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(job.process.poll() is None for job in jobs):
            time.sleep(0.02)
        for job in jobs:
            job.send_signal(signal.SIGKILL)  # the group: compilers the worker started may outlive it
            try:
                job.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            job.cleanup()


atexit.register(stop_all)


def wait(jobs: list[Job], timeout: float) -> None:
    """Wait until a job's worker sends something or ``timeout`` seconds pass; read what came."""
    readable = [job for job in jobs if job.read_fd is not None]
    if readable:
        select.select(readable, [], [], timeout)
    else:
        time.sleep(min(timeout, 0.05))
    for job in jobs:
        job.pump()


@dataclass
class Spec:
    """One run for :func:`run_all`: ``model`` on ``backend`` at ``dt`` with ``options``, shown as ``label``."""

    model: Model
    backend: str
    dt: float | None = None
    options: Mapping[str, Any] | None = None
    label: str | None = None
    ranks: int | None = None


def run_all(specs: Mapping[Hashable, Spec], parallel: int | None = None, display: Any = None,
            on_done: Callable[[Hashable, Result | BridgeError, float], None] | None = None) -> None:
    """Run every spec, at most ``parallel`` workers at a time (default: the number of cores), in the
    given order; ``on_done(key, result or error, seconds)`` is called as each one ends, while the
    others still run.  ``display`` (optional, :mod:`bridge.progress_display`) gets ``started(job)``,
    ``update(job)`` and ``finished(job)`` calls; when its ``live`` is true the workers report their
    simulated time for it.  Without a display the workers' notices go to standard error.  On any
    exception (an interrupt, an error raised by ``on_done``) every running worker is stopped before
    it propagates (:func:`stop_all`)."""
    parallel = max(1, parallel or os.cpu_count() or 1)
    if display is None or not hasattr(display, "update"):
        display = _Notices()
    live = bool(getattr(display, "live", False))
    queue = list(specs.items())
    running: dict[Hashable, Job] = {}
    try:
        while queue or running:
            while queue and len(running) < parallel:
                key, spec = queue.pop(0)
                try:
                    running[key] = Job(spec.model, spec.backend, spec.dt, spec.options, spec.label, live, spec.ranks)
                except UnsupportedError as exc:  # e.g. ranks the backend cannot serve: refused, nothing started
                    if on_done is not None:
                        on_done(key, exc, 0.0)
                    continue
                display.started(running[key])
            wait(list(running.values()), 0.2)
            for key, job in list(running.items()):
                display.update(job)
                if not job.done():
                    continue
                del running[key]
                try:
                    outcome: Result | BridgeError = job.result()
                except BridgeError as exc:
                    outcome = exc
                display.finished(job)
                if on_done is not None:
                    on_done(key, outcome, time.perf_counter() - job.started)
    except BaseException as exc:
        stop_all(signal_number(exc) if isinstance(exc, KeyboardInterrupt) else signal.SIGTERM, list(running.values()))
        raise


class _Notices:
    """The display of :func:`run_all` without one: each worker notice once on standard error."""

    live = False

    def __init__(self) -> None:
        self.shown: set[str] = set()

    def started(self, job: Job) -> None:
        pass

    def update(self, job: Job) -> None:
        for text in job.status.notices:
            if text not in self.shown:
                self.shown.add(text)
                notice(text)

    finished = update


def _stop_ranks(session: int, workdir: str) -> None:
    """Kill whatever is left of an ``mpiexec`` run: its session (mpiexec and its proxy) and every rank
    that wrote its process id into ``workdir`` (``mpiexec`` starts each rank in a session of its own;
    it stops them itself when one dies, this makes sure nothing outlives the run)."""
    try:
        os.killpg(session, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        names = os.listdir(workdir)
    except OSError:
        return
    for name in names:
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
             options: dict[str, Any] | None = None, display: Any = None, ranks: int | None = None) -> Result:
    """Run ``model`` on ``backend`` in a fresh subprocess and return the :class:`Result`.

    ``dt`` (ms) overrides the model's time step; ``options`` are backend-specific settings
    (README, "Backends"); ``display`` shows progress (:mod:`bridge.progress_display`); ``ranks``
    (default: the model's ``simulation.ranks``) runs it on that many MPI ranks (NEURON; a NEST built
    with MPI), each simulating its share of the cells, the result merged here.  Bad input raises
    :class:`~bridge.errors.ModelError` before anything runs; Ctrl-C stops the worker."""
    from .registry import check_backend_names

    check_backend_names([backend])
    outcome: list[Result | BridgeError] = []
    run_all({backend: Spec(model, backend, dt, options, ranks=ranks)}, 1, display, lambda key, out, seconds: outcome.append(out))
    if isinstance(outcome[0], BridgeError):
        raise outcome[0]
    return outcome[0]


__all__ = ["simulate", "run_all", "Spec", "Job", "stop_all", "check_dt", "job_for"]


def _rank_error(workdir: str) -> dict | None:
    """The error a rank of an MPI run reported (the lowest rank's), or None."""
    for name in sorted(os.listdir(workdir)):
        if name.startswith("error."):
            try:
                with open(os.path.join(workdir, name), encoding="utf-8") as handle:
                    return json.loads(handle.read())
            except (OSError, ValueError):
                continue
    return None
