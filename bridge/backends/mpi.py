"""Starting a backend worker on several MPI ranks (``--ranks N``, ``simulation.ranks``,
``simulate(..., ranks=N)``): finding ``mpiexec`` and the MPI library, checking the request before
anything starts, the command and environment of the ranks, and what a failed launch means.

MPI comes from MPICH: the ``mpich`` wheel (``pip install -e ".[mpi]"``; the ``test`` extra has it
too) puts ``mpiexec`` next to the environment's ``python`` and ``libmpi.so.12`` into its ``lib/``;
a system MPICH (Debian's ``mpich``) is found on ``PATH`` instead.  NEURON loads the library at run
time (``MPI_LIB_NRN_PATH``, set here to the library found); a NEST built with MPI
(``scripts/build-nest-mpi``) is linked against it.
"""
from __future__ import annotations

import ctypes.util
import os
import re
import shutil
import sys
from pathlib import Path

from ..errors import ModelError, UnsupportedError
from ..model import Model
from .partition import total_cells

#: environment variable telling a worker how many ranks it was started with
RANKS_ENV = "BRIDGE_RANKS"


def find_mpiexec() -> str | None:
    """``$BRIDGE_MPIEXEC``, else ``mpiexec`` next to the running Python (the mpich wheel), else on
    ``PATH``; None when there is none."""
    given = os.environ.get("BRIDGE_MPIEXEC")
    if given:
        return given if os.access(given, os.X_OK) else None
    candidate = Path(sys.executable).parent / "mpiexec"
    if os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("mpiexec")


def find_mpi_library() -> str | None:
    """The MPI library NEURON should load: ``$MPI_LIB_NRN_PATH`` as given (even if missing, so that
    the run can say so), else ``libmpi.so.12`` of the environment (the mpich wheel), else the
    system's ``libmpi``; None when there is none."""
    given = os.environ.get("MPI_LIB_NRN_PATH")
    if given:
        return given
    for name in ("libmpi.so.12", "libmpi.so"):
        candidate = Path(sys.prefix) / "lib" / name
        if candidate.exists():
            return str(candidate)
    found = ctypes.util.find_library("mpi")
    return found


def check_ranks(model: Model, backend: str | None, ranks: int, field: str = "simulation.ranks",
                source: str | None = None) -> None:
    """Refuse a request for ``ranks`` before anything starts: fewer than 1 or more ranks than cells
    (invalid input, :class:`ModelError`), a ``backend`` without MPI or no ``mpiexec``
    (:class:`UnsupportedError`; not checked when ``backend`` is None).  ``field``/``source`` name
    where ``ranks`` came from."""
    from .registry import get_backend

    source = source or model.source
    if not isinstance(ranks, int) or isinstance(ranks, bool) or ranks < 1:
        raise ModelError(f"{ranks!r} ranks", field, "a whole number of MPI ranks >= 1", source)
    if ranks == 1:
        return
    cells = total_cells(model)
    if ranks > cells:
        raise ModelError(f"{ranks} ranks for {cells} cell{'s' * (cells != 1)}", field,
                         f"at most one rank per cell ({cells})", source)
    if backend is None:
        return
    problem = get_backend(backend).ranks_problem(ranks)
    if problem:
        raise UnsupportedError(backend, f"{ranks} MPI ranks ({problem})")
    if find_mpiexec() is None:
        raise UnsupportedError(backend, f"{ranks} MPI ranks need mpiexec, and there is none next to "
                               f"{sys.executable} or on PATH (install MPICH: pip install mpich, part of "
                               "bridge's [mpi] and [test] extras; or Debian's mpich)")


def command(ranks: int, argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """The command starting ``argv`` on ``ranks`` MPI ranks and its environment."""
    env = dict(os.environ, **{RANKS_ENV: str(ranks)})
    library = find_mpi_library()
    if library and "MPI_LIB_NRN_PATH" not in env:
        env["MPI_LIB_NRN_PATH"] = library
    return [find_mpiexec() or "mpiexec", "-n", str(ranks), *argv], env


def launched_ranks() -> int:
    """In a worker: the number of ranks it was started with (1 outside ``mpiexec``)."""
    return int(os.environ.get(RANKS_ENV, "1"))


def rank_death(output: str, returncode: int) -> str | None:
    """What ``mpiexec``'s output says about a rank that died (killed by a signal or exited without
    a result), or None."""
    match = re.search(r"EXIT STRING: (.+?) \(signal (\d+)\)", output)
    if match:
        return f"an MPI rank was killed by signal {match.group(2)} ({match.group(1)})"
    if "BAD TERMINATION" in output:
        code = re.search(r"EXIT CODE: (\d+)", output)
        return f"an MPI rank died (exit code {code.group(1) if code else returncode})"
    if returncode < 0:
        return f"mpiexec was killed by signal {-returncode}"
    return None


__all__ = ["RANKS_ENV", "check_ranks", "command", "find_mpiexec", "find_mpi_library", "launched_ranks",
           "rank_death"]
