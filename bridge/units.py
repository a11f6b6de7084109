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
import numbers

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


def to_internal(value: object, unit: str, path: str, source: str = "<model>") -> float:
    """Parse ``value`` (``"250 pA"``, ``250``, a pint quantity) and return it as a float in ``unit``.

    A plain number is accepted only for dimensionless quantities; anything with a dimension must
    state its unit.  Raises :class:`ModelError` naming ``path`` on a missing or wrong unit.
    """
    target = _unit(unit)
    dimensionless = target.dimensionality == units.dimensionless.dimensionality
    expected = "a plain number" if dimensionless else f"a quantity in units of {_describe(unit)}, e.g. '1 {unit}'"
    if isinstance(value, bool) or value is None:
        raise ModelError(f"{value!r} is not a quantity", path, expected, source)
    if isinstance(value, numbers.Real):
        if dimensionless:
            return float(value)
        raise ModelError(f"{value!r} has no unit", path, expected, source)
    if isinstance(value, str):
        try:
            quantity = units.Quantity(value.strip())
        except Exception:
            raise ModelError(f"cannot read {value!r} as a quantity", path, expected, source) from None
    elif isinstance(value, units.Quantity):
        quantity = value
    else:
        raise ModelError(f"{value!r} is not a quantity", path, expected, source)
    if not isinstance(quantity, units.Quantity):  # pint returns a bare number for "3"
        return to_internal(float(quantity), unit, path, source)
    if quantity.dimensionality != target.dimensionality:
        raise ModelError(f"{value!r} has the wrong dimension", path, expected, source)
    return float(quantity.to(target).magnitude)


def _describe(unit: str) -> str:
    dim = str(_unit(unit).dimensionality)
    return f"{dim} ({unit})"
