"""Integration methods: Brian2's ``exact`` for linear types (its SymPy solution cached on disk), ``rk4``
otherwise; ``located`` threshold types get bridge's own Runge–Kutta in sub-steps
(:func:`.codegen.located_state_update`)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ... import cache_entries
from ...cache import cache_dir, content_hash

LINEAR_METHOD = "exact"
NONLINEAR_METHOD = "rk4"
LOCATED_METHOD = "rk4_substeps"
"""Name (in results' metadata) of the method of ``located`` threshold types (:class:`GeneratedCode`)."""


class CachedMethod:
    """A Brian2 integration method whose generated update code is cached on disk.

    Brian2's ``exact`` method solves the linear system symbolically with SymPy, which takes
    seconds per group on every run; the abstract code it returns depends only on the equations and
    on which identifiers are constants, so it is stored under ``cache_dir("brian2")/stateupdaters``
    keyed by their hash (written atomically with its checksum, verified on every read: an emptied
    or edited file is discarded and solved again, see :mod:`bridge.cache_entries`).
    """

    def __init__(self, name: str):
        self.name = name
        self.__name__ = name

    def key(self, equations: Any, variables: dict[str, Any] | None) -> str:
        """Hash of the equations, the kinds of the variables they name, and what produced the solution:
        Brian2's and SymPy's versions and the source of this backend (a cache that outlives an
        upgrade must not hand an older solution to newer code)."""
        variables = variables or {}
        names = sorted((set(equations.identifiers) | set(equations.names)) & set(variables))
        kinds = [(n, type(variables[n]).__name__, getattr(variables[n], "constant", None),
                  getattr(variables[n], "scalar", None)) for n in names]
        return content_hash(self.name, str(equations), repr(kinds), _producer())

    def __call__(self, equations: Any, variables: dict[str, Any] | None = None,
                 method_options: dict[str, Any] | None = None) -> str:
        from brian2 import StateUpdateMethod

        directory = cache_dir("brian2") / "stateupdaters"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}-{self.key(equations, variables)}.txt"
        stored = cache_entries.load(path, "solving the equations again")
        if stored is not None:
            return stored.decode("utf-8")
        code = StateUpdateMethod.stateupdaters[self.name](equations, variables, method_options)
        cache_entries.store(path, code.encode("utf-8"))
        return code


@lru_cache(maxsize=1)
def _producer() -> str:
    """Brian2's and SymPy's versions and a hash of this package's sources."""
    import brian2
    import sympy

    sources = sorted(Path(__file__).parent.glob("*.py"))
    return f"brian2 {brian2.__version__} sympy {sympy.__version__} " + content_hash(*(p.read_bytes() for p in sources))


class GeneratedCode:
    """A Brian2 integration method whose abstract code bridge generated itself (from the catalog),
    so Brian2 spends no SymPy work on it: the call ignores Brian2's equations."""

    def __init__(self, code: str):
        self.code = code
        self.__name__ = LOCATED_METHOD

    def __call__(self, equations: Any, variables: dict[str, Any] | None = None,
                 method_options: dict[str, Any] | None = None) -> str:
        return self.code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GeneratedCode) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)


def integrator(method: str, located_code: str | None = None) -> Any:
    """What Brian2 gets as ``method``: the disk-cached ``exact`` solver, the generated code of a
    ``located`` type (``located_code``, for :data:`LOCATED_METHOD`), or the method name."""
    if method == LOCATED_METHOD:
        return GeneratedCode(located_code or "")
    return CachedMethod(method) if method == LINEAR_METHOD else method
