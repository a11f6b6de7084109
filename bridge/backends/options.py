"""Backend options (``--option BACKEND.KEY=VALUE``, ``simulate(..., options={...})``), declared as data
and checked with their type and bounds before anything runs.

Each backend class lists its options in ``options`` (name -> :class:`Option`); :func:`check_options`
turns the given values into the declared types (``"1e-8"`` from the command line is a float) or
raises :class:`~bridge.errors.ModelError` naming ``BACKEND.KEY``, the value and what is allowed
(exit 2), so that ``neuron.n_sub=-3`` never reaches a simulator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ModelError


@dataclass(frozen=True)
class Option:
    """One backend option: its ``kind`` (``bool``, ``int``, ``float`` or ``str``), bounds (``minimum`` /
    ``maximum`` inclusive, ``positive``: > 0), allowed ``choices``, whether None (``null``: the
    backend's default for the model) is allowed, and ``doc`` (with units)."""

    kind: type
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    choices: tuple[Any, ...] | None = None
    nullable: bool = True

    def expected(self) -> str:
        """What a valid value looks like, for error messages."""
        if self.choices is not None:
            text = "one of " + ", ".join(map(str, self.choices))
        elif self.kind is bool:
            text = "true or false"
        else:
            text = {int: "an integer", float: "a number", str: "a text"}[self.kind]
            low = "0 (excluded)" if self.positive else None if self.minimum is None else f"{self.minimum:g}"
            if low is not None and self.maximum is not None:
                text += f" from {low} to {self.maximum:g}"
            elif low is not None:
                text += " > 0" if self.positive else f" >= {low}"
            elif self.maximum is not None:
                text += f" <= {self.maximum:g}"
        return text + (", or null" if self.nullable else "")

    def convert(self, value: Any) -> Any:
        """``value`` as this option's type, or ValueError saying why it is not allowed."""
        if value is None:
            if not self.nullable:
                raise ValueError("has no value")
            return None
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError("is not true or false")
            return value
        if self.kind is str:
            if not isinstance(value, str):
                raise ValueError("is not a text")
            converted: Any = value
        elif isinstance(value, bool):
            raise ValueError(f"is not {'an integer' if self.kind is int else 'a number'}")
        elif self.kind is int:
            if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
                value = int(value)
            if not isinstance(value, int):
                raise ValueError("is not an integer")
            converted = value
        else:
            if not isinstance(value, (int, float, str)):
                raise ValueError("is not a number")
            try:
                converted = float(value)
            except ValueError:
                raise ValueError("is not a number") from None
            if not math.isfinite(converted):
                raise ValueError("is not a finite number")
        if self.choices is not None and converted not in self.choices:
            raise ValueError("is not one of the choices")
        if self.positive and not converted > 0:
            raise ValueError("is not positive")
        if self.minimum is not None and converted < self.minimum:
            raise ValueError(f"is below the minimum {self.minimum:g}")
        if self.maximum is not None and converted > self.maximum:
            raise ValueError(f"is above the maximum {self.maximum:g}")
        return converted


#: positive tolerances of the solvers (relative or absolute)
TOLERANCE = dict(kind=float, positive=True, maximum=1.0)


def check_options(backend: str, declared: Mapping[str, Option], given: Any,
                  source: str = "command line") -> dict[str, Any]:
    """The ``given`` options of ``backend`` converted to their declared types; a ModelError (field
    ``--option``) for an option the backend does not have or a value it does not allow."""
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise ModelError(f"{given!r} is not a mapping of option names to values", "options",
                         "a dict such as {'n_sub': 2}", source)
    checked = {}
    for key, value in given.items():
        if not isinstance(key, str) or key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ModelError(f"{backend} has no option {key!r}", "--option", f"one of {backend}'s options: {known}",
                             source)
        option = declared[key]
        try:
            checked[key] = option.convert(value)
        except ValueError as exc:
            raise ModelError(f"{value!r} {exc}", f"--option {backend}.{key}", f"{option.expected()}: {option.doc}",
                             source) from None
    return checked


__all__ = ["Option", "check_options", "TOLERANCE"]
