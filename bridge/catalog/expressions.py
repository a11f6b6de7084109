"""Evaluation of catalog expressions and statements with NumPy (used by the reference backend).

The expression language is documented in :mod:`bridge.catalog.base`.  Code generators for other
backends translate the same strings; this module is the executable definition.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, MutableMapping

import numpy as np

from .base import Statements


def _exp(x):
    # clip only where exp would overflow to inf (V far beyond any spike cut-off)
    return np.exp(np.minimum(x, 700.0))


def _decay(h, tau):
    tau = np.asarray(tau, dtype=float)
    safe = np.where(tau > 0, tau, 1.0)
    return np.where(tau > 0, np.exp(-np.asarray(h, dtype=float) / safe), 0.0)


FUNCTIONS: dict[str, Any] = {"exp": _exp, "log": np.log, "sqrt": np.sqrt, "decay": _decay,
                             "__builtins__": {}}


@lru_cache(maxsize=None)
def compiled(expression: str):
    """Compile an expression once."""
    return compile(expression, f"<catalog: {expression}>", "eval")


def evaluate(expression: str, namespace: MutableMapping[str, Any]):
    """Evaluate ``expression`` with the catalog functions and ``namespace``."""
    return eval(compiled(expression), FUNCTIONS, namespace)  # noqa: S307 - catalog strings only


def execute(statements: Statements, namespace: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Execute ordered assignments in ``namespace`` (modified in place and returned)."""
    for variable, expression in statements:
        namespace[variable] = evaluate(expression, namespace)
    return namespace
