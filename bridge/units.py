"""Quantities with units, parsed and checked with pint.

Inside bridge every quantity is a plain float in the *internal unit* of its dimension, the same set
NEST uses for point neurons, so that equations need no conversion factors:

=============  =========  ==========================================
dimension      unit       note
=============  =========  ==========================================
time           ms
voltage        mV
current        pA
capacitance    pF         pA / pF = mV / ms
conductance    nS         nS * mV = pA
resistance     GOhm       mV / pA
concentration  mM         (reaction networks: nM, see bridge.model.reactions)
rate           1/ms       (Poisson rates are given in Hz in files)
amount         particle   1 particle = 1/N_A mol (injection rates in particle/ms)
=============  =========  ==========================================
"""
from __future__ import annotations

import functools
import math
import numbers
import re

import pint

from .errors import ModelError

def _registry() -> pint.UnitRegistry:
    """pint's registry, with its parsed definitions cached on disk (0.15 s -> 0.02 s per process,
    paid by every backend worker).  pint writes that cache non-atomically, so a process may meet a
    half-written file while another writes it, and a directory may be read-only: then it parses
    the definitions itself."""
    try:
        return pint.UnitRegistry(cache_folder=":auto:")
    except Exception:  # noqa: BLE001 - any failure of the optional cache means "no cache"
        return pint.UnitRegistry()


units = _registry()
units.define("molar = mole / liter = M")
# one molecule: ``"251.8 particle/ms"`` is an amount per time (NeuroRD injection rates); a reaction
# network divides it by its volume to get nM/ms.  pint ships this definition; make sure of it.
if "particle" not in units:
    units.define("particle = mole / avogadro_number = molecule")


@functools.lru_cache(maxsize=None)
def _unit(unit: str) -> pint.Unit:
    return units.Unit(unit) if unit not in ("", "1") else units.dimensionless


_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")


class QuantityError(ValueError):
    """Text that is not one number followed by one unit."""


def parse(text: str) -> pint.Quantity:
    """A quantity from text of exactly one finite number and one unit (``"250 pA"``, ``"1e-3 1/ms"``,
    ``"0.5"``); anything else (``"'20' ms"``, ``"20 ms 5"``, ``"nan mV"``) raises :class:`QuantityError`
    rather than being read as something else (pint alone reads ``"20 ms 5"`` as 100 ms)."""
    match = _QUANTITY.match(text)
    if match is None:
        raise QuantityError(f"{text!r} does not start with a number")
    number, unit = float(match.group(1)), match.group(2)
    if not math.isfinite(number):
        raise QuantityError(f"{text!r} is not finite")
    try:
        return units.Quantity(number, _unit(unit) if unit else units.dimensionless)
    except Exception:
        raise QuantityError(f"{unit!r} in {text!r} is not a unit") from None


def to_internal(value: object, unit: str, path: str, source: str = "<model>") -> float:
    """Parse ``value`` (``"250 pA"``, ``250``, a pint quantity) and return it as a finite float in ``unit``.

    A plain number is accepted only for dimensionless quantities; anything with a dimension must
    state its unit, as one number and one unit (:func:`parse`).  Raises :class:`ModelError` naming
    ``path`` on a missing, malformed or wrong unit, or a value that is not finite.
    """
    target = _unit(unit)
    dimensionless = target.dimensionality == units.dimensionless.dimensionality
    expected = "a plain number" if dimensionless else f"a quantity in units of {_describe(unit)}, e.g. '1 {unit}'"
    if isinstance(value, bool) or value is None:
        raise ModelError(f"{value!r} is not a quantity", path, expected, source)
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ModelError(f"{value!r} is not finite", path, expected, source)
        if dimensionless:
            return float(value)
        raise ModelError(f"{value!r} has no unit", path, expected, source)
    if isinstance(value, str):
        try:
            quantity = parse(value)
        except QuantityError as exc:
            raise ModelError(f"cannot read {value!r} as a quantity ({exc})", path, expected, source) from None
    elif isinstance(value, units.Quantity):
        quantity = value
    else:
        raise ModelError(f"{value!r} is not a quantity", path, expected, source)
    if quantity.dimensionality != target.dimensionality:
        raise ModelError(f"{value!r} has the wrong dimension", path, expected, source)
    converted = float(quantity.to(target).magnitude)
    if not math.isfinite(converted):
        raise ModelError(f"{value!r} is not finite in {unit}", path, expected, source)
    return converted


#: names of the dimensions a model file mostly uses, for error messages
_DIMENSION_NAMES = {"ms": "time", "mV": "voltage", "pA": "current", "pF": "capacitance", "nS": "conductance",
                    "mM": "concentration", "1/ms": "rate", "Gohm": "resistance", "um**3": "volume"}


def _describe(unit: str) -> str:
    """``"voltage (mV)"``; the dimension formula where it has no common name."""
    dimensionality = _unit(unit).dimensionality
    for name, word in _DIMENSION_NAMES.items():
        if _unit(name).dimensionality == dimensionality:
            return f"{word} ({unit})"
    return f"{dimensionality} ({unit})"
