"""Dimensions of model-type expressions, checked with pint before anything runs.

bridge computes in one coherent set of units (:mod:`bridge.units`): ms, mV, pA, and what follows
from them (pF, nS, GOhm, pA/mV², ...), mM for concentrations and µm for lengths.  A declared unit
must be *coherent* with that set (factor 1: ``nS/mV`` yes, ``nA`` no — write ``pA``; values in
model files may still be given in any unit of the right dimension), so that expressions need no
conversion factors.  Unit symbols inside expressions (``0.04/(mV*ms)``) carry their factor.
"""
from __future__ import annotations

import ast
import math
from functools import lru_cache
from typing import Mapping

import pint

from ..units import units
from .expressions import UNIT_SYMBOLS

Quantity = pint.Quantity

#: the internal unit of each base dimension (mass follows from mV = kg m² s⁻³ A⁻¹ at ms, pA, µm)
_ANCHORS = {"[time]": "ms", "[current]": "pA", "[length]": "um", "[mass]": "mV*pA*ms**3/um**2",
            "[substance]": "mM*um**3", "[temperature]": "K"}
#: names preferred when a dimension is shown (the first unit of each dimension wins)
_PREFERRED = ("ms", "mV", "pA", "pF", "nS", "Gohm", "mM", "1/ms", "mV/ms", "pA/ms", "nS/mV", "1/mV",
              "1/(mM*ms)", "um", "fC")


class DimensionError(ValueError):
    """An expression whose dimensions do not fit; the message names the offending part."""


@lru_cache(maxsize=None)
def quantity(unit: str) -> Quantity:
    """1 of ``unit`` as a pint quantity (``"1"`` or ``""``: dimensionless)."""
    return units.Quantity(1.0, "dimensionless" if unit in ("", "1") else unit)


def internal(dimensionality) -> Quantity:
    """1 of the internal (coherent) unit of ``dimensionality``."""
    preferred = _preferred().get(_key(dimensionality))
    if preferred is not None:
        return quantity(preferred)
    result = quantity("1")
    for dimension, exponent in dimensionality.items():
        if dimension not in _ANCHORS:
            raise DimensionError(f"bridge has no internal unit for the dimension {dimension}")
        result = result * quantity(_ANCHORS[dimension]) ** exponent
    return result


@lru_cache(maxsize=1)
def _preferred() -> dict[tuple, str]:
    table: dict[tuple, str] = {}
    for unit in _PREFERRED:
        table.setdefault(_key(quantity(unit).dimensionality), unit)
    return table


def _key(dimensionality) -> tuple:
    return tuple(sorted(dict(dimensionality).items()))


def factor(unit: str | Quantity) -> float:
    """The value of 1 ``unit`` in the internal unit of its dimension (``"nA"`` -> 1000)."""
    q = quantity(unit) if isinstance(unit, str) else unit
    value = float(q.to(internal(q.dimensionality).units).magnitude)
    return float(f"{value:.12g}")  # 1000, not pint's 1000.0000000000001


def coherent(unit: str) -> bool:
    """Whether ``unit`` is an internal unit (factor 1), e.g. ``pF``, ``nS/mV``, ``1/(mM*ms)``."""
    return math.isclose(factor(unit), 1.0, rel_tol=1e-12)


def internal_name(unit: str) -> str:
    """A readable internal unit of ``unit``'s dimension (``"nA"`` -> ``"pA"``)."""
    return show(internal(quantity(unit).dimensionality))


@lru_cache(maxsize=1)
def unit_factors() -> dict[str, float]:
    """Factor of every unit symbol expressions may use."""
    return {symbol: factor(symbol) for symbol in UNIT_SYMBOLS}


def show(q: Quantity) -> str:
    """A unit as text, e.g. ``"nS·mV²/pF"``; ``"1"`` when dimensionless."""
    if q.dimensionless:
        return "1"
    return f"{q.units:~P}"


def describe(q: Quantity) -> str:
    """A unit, with its internal equivalent when that reads differently: ``"mV·nS/pF (= mV/ms)"``."""
    if q.dimensionless:
        return "a plain number"
    written = show(q)
    preferred = _preferred().get(_key(q.dimensionality)) or show(internal(q.dimensionality))
    if written == show(quantity(preferred)):
        return written
    relation = "=" if math.isclose(factor(q), 1.0, rel_tol=1e-12) else "dimension of"
    return f"{written} ({relation} {preferred})"


def same(a: Quantity, b: Quantity) -> bool:
    return a.dimensionality == b.dimensionality


def infer(node: ast.AST, names: Mapping[str, Quantity]) -> Quantity:
    """The unit (a pint quantity of magnitude ~1) of an expression whose names have the units in
    ``names``; unit symbols have their own.  Raises :class:`DimensionError` on a mismatch."""
    if isinstance(node, ast.Constant):
        return quantity("1")
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        if node.id in UNIT_SYMBOLS:
            return quantity(node.id)
        raise DimensionError(f"unknown name {node.id!r}")
    if isinstance(node, ast.UnaryOp):
        return infer(node.operand, names)
    if isinstance(node, ast.BinOp):
        left = infer(node.left, names)
        if isinstance(node.op, ast.Pow):
            return _power(node, left, names)
        right = infer(node.right, names)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            if not same(left, right):
                sign = "+" if isinstance(node.op, ast.Add) else "-"
                raise DimensionError(f"cannot {'add' if sign == '+' else 'subtract'} {show(right)} "
                                     f"{'to' if sign == '+' else 'from'} {show(left)} in '{ast.unparse(node)}'")
            return left
        return left * right if isinstance(node.op, ast.Mult) else left / right
    if isinstance(node, ast.Call):
        return _call(node, [infer(a, names) for a in node.args])
    raise DimensionError(f"cannot check '{ast.unparse(node)}'")


def _power(node: ast.BinOp, base: Quantity, names: Mapping[str, Quantity]) -> Quantity:
    from .expressions import constant_value

    exponent_unit = infer(node.right, names)
    if not exponent_unit.dimensionless:
        raise DimensionError(f"the exponent of '{ast.unparse(node)}' is in {show(exponent_unit)} (expected a plain number)")
    if base.dimensionless:
        return base
    exponent = constant_value(node.right)
    if exponent is None:
        raise DimensionError(f"'{ast.unparse(node)}' raises {show(base)} to a non-constant power "
                             "(expected a number as exponent of a quantity with a unit)")
    return base ** exponent


def _call(node: ast.Call, arguments: list[Quantity]) -> Quantity:
    name = node.func.id
    text = ast.unparse(node)
    if name in ("exp", "log"):
        if not arguments[0].dimensionless:
            raise DimensionError(f"the argument of '{text}' is in {show(arguments[0])} (expected a plain number)")
        return quantity("1")
    if name == "sqrt":
        return arguments[0] ** 0.5
    if name == "abs":
        return arguments[0]
    if name in ("min", "max", "decay"):
        if not same(arguments[0], arguments[1]):
            raise DimensionError(f"the arguments of '{text}' are in {show(arguments[0])} and {show(arguments[1])} "
                                 "(expected one dimension)")
        return quantity("1") if name == "decay" else arguments[0]
    raise DimensionError(f"unknown function {name}")
