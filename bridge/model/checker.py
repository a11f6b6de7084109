"""Validation helpers bound to one source file: every failure becomes a :class:`ModelError` naming
the file, the field path, the value and what was expected."""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from ..catalog.base import Parameter
from ..catalog.declare import bounds_text, violated_bound
from ..catalog.names import object_problem
from ..errors import ModelError
from ..limits import Budget
from ..units import to_internal

from .drawing import GRID_EPS  # relative slack when testing that a time lies on the dt grid


class Checker:
    """Validation helpers bound to one source file."""

    def __init__(self, source: str):
        self.source = source
        self.seed = 0  # the model's seed (set by _simulation), for rules that draw at random
        self.duration = 0.0  # the model's duration in ms (set by _simulation)
        self.budget = Budget(source)  # the model's estimated cost, refused past the limits in force
        self.scale = 1.0  # the model's scale (see bridge.model.scaling)

    def fail(self, message: str, path: str, expected: str = "") -> ModelError:
        return ModelError(message, path, expected, self.source)

    def mapping(self, value: Any, path: str, what: str = "a mapping") -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{value!r} is not a mapping", path, what)
        return value

    def named(self, value: Any, path: str, what: str) -> dict[str, Any]:
        """A section mapping user-chosen names to specs (populations, stimuli, ...), each name checked
        by the identifier rule of :func:`bridge.catalog.names.object_problem`."""
        section = self.mapping(value, path, what)
        for name in section:
            problem = object_problem(name)
            if problem:
                raise self.fail(problem, f"{path}.{name}", "a name of letters, digits and '_' starting with a letter "
                                "(it becomes part of file names and generated code)")
        return section

    def reference(self, value: Any, known: Iterable[str], path: str, what: str, expected: str = "") -> str:
        """``value`` when it names one of ``known`` (a population, a projection, ...), else an error
        saying it is an unknown ``what`` (also for a value that is no name at all, e.g. a list)."""
        known = list(known)
        if not isinstance(value, str) or value not in known:
            raise self.fail(f"unknown {what} {value!r}", path, expected or ("one of " + ", ".join(known) if known
                                                                            else f"a {what} name"))
        return value

    def sequence(self, value: Any, path: str, what: str) -> list[Any]:
        """``value`` as a list (a single string stands for a list of one), else an error."""
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise self.fail(f"{value!r} is not a list", path, what)
        return value

    def keys(self, mapping: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
        allowed = sorted(allowed)
        for key in mapping:
            if key not in allowed:
                raise self.fail(f"unknown field {key!r}", f"{path}.{key}" if path else key,
                                "one of " + ", ".join(allowed))

    def quantity(self, value: Any, unit: str, path: str) -> float:
        return to_internal(value, unit, path, self.source)

    def parameter(self, parameter: Parameter, value: Any, path: str) -> float:
        if isinstance(value, str) and value.strip() in ("inf", "infinity") and parameter.unit == "ms":
            number = math.inf
        else:
            number = self.quantity(value, parameter.unit, path)
        reason = violated_bound(parameter, number)
        if reason:
            raise self.fail(f"{value!r} {reason}", path, bounds_text(parameter))
        return number

    def parameters(self, declared: Iterable[Parameter], given: Mapping[str, Any], path: str) -> dict[str, float]:
        declared = {p.name: p for p in declared}
        values: dict[str, float] = {}
        for key, value in given.items():
            if key not in declared:
                raise self.fail(f"unknown parameter {key!r}", f"{path}.{key}",
                                "one of " + ", ".join(declared) if declared else "no parameters")
            values[key] = self.parameter(declared[key], value, f"{path}.{key}")
        for name, parameter in declared.items():
            if name not in values:
                if parameter.default is None:
                    raise self.fail(f"missing parameter {name!r}", f"{path}.{name}",
                                    f"a value in {parameter.unit or 'plain numbers'}")
                values[name] = parameter.default
        return values

    def constraints(self, kind: Any, values: Mapping[str, float], path: str) -> None:
        """Refuse parameter ``values`` that break one of the type's declared constraints."""
        from ..catalog.expressions import evaluate, identifiers, parse

        for difference, operator, text in kind.constraints:
            value = float(evaluate(difference, dict(values)))
            if not (value > 0 if operator == ">" else value >= 0):
                unit = {p.name: "" if p.unit == "1" else f" {p.unit}" for p in kind.parameters}
                shown = ", ".join(f"{n} = {values[n]:g}{unit[n]}" for n in identifiers(parse(difference)) if n in values)
                raise self.fail(f"{shown} breaks {text!r}", path, f"parameters with {text} (a condition of {kind.name})")

    def on_grid(self, time: float, dt: float, path: str) -> None:
        if math.isfinite(time) and abs(time / dt - round(time / dt)) > GRID_EPS:
            raise self.fail(f"{time:g} ms is not on the time grid", path, f"a multiple of dt = {dt:g} ms")

    def integer(self, value: Any, path: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"{value!r} is not an integer >= {minimum}", path, f"an integer >= {minimum}")
        return value
