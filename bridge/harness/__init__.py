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
    table unless every supported backend agrees within the model's tolerances.

    Backends in ``require`` must also be supported (an unsupported one fails instead of being
    listed).  ``reference`` reuses a reference :class:`~bridge.result.Result` of the same model.
    Returns the :class:`Comparison` for further checks.
    """
    comparison = compare(model, backends, overrides, reference=reference)
    if report_dir:
        write(comparison, report_dir)
    missing = [b for b in require if b in comparison.unsupported]
    ran_nothing = any(b != "reference" for b in (backends or ())) and not comparison.checks \
        and not comparison.unsupported
    if not comparison.passed or missing or ran_nothing:
        raise AssertionError("backends disagree or failed:\n" + table(comparison)
                             + (f"\nrequired but unsupported: {', '.join(missing)}" if missing else ""))
    return comparison


__all__ = ["assert_agree", "compare", "convergence", "Comparison", "Check", "table", "write"]
