"""Which NEST bridge runs: the PyPI wheel, or a NEST built from source with MPI and development
headers (``scripts/build-nest-mpi``), and what that NEST can do.

A source-built NEST lives under a prefix: ``$BRIDGE_NEST_PREFIX``, else ``nest-mpi`` inside the
running environment (``sys.prefix``), where the build script installs it.  When one is there, its
PyNEST goes first on ``sys.path`` (:func:`activate`, called before ``import nest``), so every NEST
run uses it; otherwise the wheel's NEST runs.  What it can do is read from its ``config.h`` without
importing NEST (the parent process never imports a simulator): MPI (``HAVE_MPI``), loading
extension modules (``HAVE_LIBLTDL``), and with ``nest-config`` and the headers present plus the
``pynestml`` package, building NESTML modules.

    python -m bridge.backends.nest.install [--check]

prints what is found; ``--check`` also runs NEST on 2 MPI ranks and fails (exit 1) unless it reports
2 processes.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: environment variable naming the prefix of a source-built NEST
PREFIX_ENV = "BRIDGE_NEST_PREFIX"


@dataclass(frozen=True)
class NestInstall:
    """A NEST installation: ``prefix`` (None: the wheel), ``python_path`` of its PyNEST, ``mpi``,
    ``modules`` (can load extension modules), ``headers`` (``nest-config`` and ``include/nest``),
    ``nestml`` (pynestml is importable and the headers are there)."""

    prefix: Path | None
    python_path: Path | None
    mpi: bool
    modules: bool
    headers: bool
    nestml: bool

    @property
    def source_built(self) -> bool:
        return self.prefix is not None

    def summary(self) -> str:
        """One line for ``bridge info``."""
        where = f"built from source in {self.prefix}" if self.prefix else "PyPI wheel"
        yes = {True: "yes", False: "no"}
        nestml = yes[self.nestml] + ("" if self.nestml else
                                     " (needs a NEST built from source: scripts/build-nest-mpi)" if not self.headers
                                     else " (pip install nestml)")
        return f"{where}; MPI {yes[self.mpi]}, NESTML {nestml}"

    @property
    def nest_config(self) -> Path | None:
        return self.prefix / "bin" / "nest-config" if self.prefix else None


def find_prefix() -> Path | None:
    """The prefix of a source-built NEST (``$BRIDGE_NEST_PREFIX`` or ``<sys.prefix>/nest-mpi``), or None."""
    given = os.environ.get(PREFIX_ENV)
    candidates = [Path(given)] if given else [Path(sys.prefix) / "nest-mpi"]
    for prefix in candidates:
        if (prefix / "bin" / "nest-config").exists() and _python_path(prefix) is not None:
            return prefix
    return None


def _python_path(prefix: Path) -> Path | None:
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for lib in ("lib", "lib64"):
        path = prefix / lib / version / "site-packages"
        if (path / "nest" / "__init__.py").exists():
            return path
    return None


def _config_h(prefix: Path | None) -> str:
    if prefix is not None:
        path = prefix / "include" / "nest" / "config.h"
    else:
        spec = importlib.util.find_spec("nest")
        if spec is None or spec.origin is None:
            return ""
        path = Path(spec.origin).parent / "include" / "nest" / "config.h"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _defined(config: str, name: str) -> bool:
    return re.search(rf"^#define {name} 1\b", config, re.M) is not None


@lru_cache(maxsize=None)
def detect() -> NestInstall:
    """The NEST bridge runs and what it can do (cached for the process)."""
    prefix = find_prefix()
    config = _config_h(prefix)
    headers = prefix is not None and (prefix / "include" / "nest" / "nest.h").exists()
    nestml = headers and importlib.util.find_spec("pynestml") is not None
    return NestInstall(prefix, _python_path(prefix) if prefix else None, _defined(config, "HAVE_MPI"),
                       _defined(config, "HAVE_LIBLTDL"), headers, nestml)


def activate() -> NestInstall:
    """Put a source-built NEST's PyNEST first on ``sys.path`` (before ``import nest``); returns what
    :func:`detect` found."""
    found = detect()
    if found.python_path is not None and str(found.python_path) not in sys.path[:1]:
        sys.path.insert(0, str(found.python_path))
    return found


def _check() -> int:
    """Run NEST on 2 MPI ranks: each must report 2 processes."""
    from ..mpi import command

    found = detect()
    print(f"nest: {found.summary()}")
    if not found.mpi:
        print("no MPI in this NEST", file=sys.stderr)
        return 1
    code = ("from bridge.backends.nest.mapping import import_nest; nest = import_nest(); "
            "import sys; sys.stdout.write(f'NEST-RANK {nest.Rank()} {nest.NumProcesses()}\\n'); sys.stdout.flush()")
    argv, env = command(2, [sys.executable, "-c", code])
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    ranks = sorted(line.split()[1:] for line in done.stdout.splitlines() if line.startswith("NEST-RANK"))
    print("\n".join(f"rank {r} of {n}" for r, n in ranks))
    if done.returncode != 0 or ranks != [["0", "2"], ["1", "2"]]:
        print(done.stdout[-2000:] + done.stderr[-2000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        sys.exit(_check())
    print(f"nest: {detect().summary()}")
