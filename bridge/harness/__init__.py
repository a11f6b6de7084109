"""The cross-backend harness: run a model on several backends and judge agreement.

>>> from bridge.harness import assert_agree
>>> assert_agree("models/tsodyks_depression.yaml", backends=["nest", "brian2"])
"""
from __future__ import annotations

import os
from typing import Iterable, Sequence

from ..model import Model
from .compare import Check, Comparison, compare, convergence
from .report import table, write


def assert_agree(model: str | os.PathLike | Model, backends: Sequence[str] | None = None,
                 overrides: Iterable[str] = (), require: Sequence[str] = (), report_dir: str | None = None,
                 reference=None) -> Comparison:
    """Run ``model`` on ``backends`` and the reference; raise ``AssertionError`` with the report
    table unless the verdict is ``AGREE``: everything compared agrees within the model's
    tolerances, no backend failed, and something was compared.

    Backends in ``require`` are run too and must be compared (one that refuses the model or
    fails makes the assertion fail; the others are listed with their reason).  ``reference`` reuses
    a reference :class:`~bridge.result.Result` of the same model.  Returns the
    :class:`Comparison` for further checks.
    """
    comparison = compare(model, backends, overrides, reference=reference, require=require)
    if report_dir:
        write(comparison, report_dir)
    if not comparison.passed:
        raise AssertionError(f"{comparison.verdict}:\n" + table(comparison))
    return comparison


__all__ = ["assert_agree", "compare", "convergence", "Comparison", "Check", "table", "write"]
