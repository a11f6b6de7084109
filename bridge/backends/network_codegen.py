"""Code-generation helpers shared by the backends that turn a :class:`~bridge.model.reactions.ReactionNetwork`
into simulator code (NMODL for NEURON, equation strings for Brian2).

Only naming and expression text live here; the numbers (rates, Jacobian, conserved moieties) come
from :mod:`bridge.model.reactions`, so that every backend integrates the same right-hand side.
Units of the generated expressions: concentrations in nM, rates in nM/ms.
"""
from __future__ import annotations

import re
from typing import Mapping

from ..model.reactions import Reaction, ReactionNetwork

_INVALID = re.compile(r"[^A-Za-z0-9_]")


def identifiers(names: list[str], prefix: str = "c_") -> dict[str, str]:
    """A valid, unique code identifier for every species name: ``prefix`` + the name with every
    character outside ``[A-Za-z0-9_]`` replaced by ``_`` (``"2AG"`` -> ``"c_2AG"``).

    NMODL also declares ``<state>0`` for every STATE, so the identifiers are made unique together
    with those: on any collision every identifier gets its species index (``c17_name``), which
    cannot collide (the index is unique and is followed by ``_``).
    """
    plain = {name: prefix + _INVALID.sub("_", name) for name in names}
    taken = list(plain.values()) + [ident + "0" for ident in plain.values()]
    if len(set(taken)) == len(taken):
        return plain
    stem = prefix.rstrip("_")
    return {name: f"{stem}{i}_{_INVALID.sub('_', name)}" for i, name in enumerate(names)}


def rate_parameters(index: int) -> tuple[str, str]:
    """Names of the forward and reverse rate constants of reaction ``index``."""
    return f"kf{index}", f"kb{index}"


def monomial(side: Mapping[str, int], ids: Mapping[str, str]) -> str:
    """Product of the concentrations of ``side`` (species -> stoichiometry), powers written out as
    repeated multiplication; ``"1"`` for an empty side."""
    factors = [ids[name] for name, power in side.items() for _ in range(int(power))]
    return "*".join(factors) if factors else "1"


def net_flux(reaction: Reaction, ids: Mapping[str, str], forward: str, reverse: str) -> str:
    """Net flux (nM/ms) ``forward*Π reactants^e - reverse*Π products^e`` as an expression, with the
    rate-law exponents ``e`` (the stoichiometries unless the reaction overrides them)."""
    return (f"({forward}*{monomial(reaction.forward_exponents, ids)}"
            f" - {reverse}*{monomial(reaction.reverse_exponents, ids)})")


def net_stoichiometry(reaction: Reaction) -> dict[str, int]:
    """Net change of each species per unit of the reaction's flux (zero entries dropped)."""
    net: dict[str, int] = {}
    for name, k in reaction.reactants.items():
        net[name] = net.get(name, 0) - int(k)
    for name, k in reaction.products.items():
        net[name] = net.get(name, 0) + int(k)
    return {name: k for name, k in net.items() if k}


def balances(network: ReactionNetwork, flux_names: list[str]) -> dict[str, str]:
    """Right-hand side (nM/ms) of every species as a sum of the reactions' flux variables
    ``flux_names[j]``: ``"-2*f0 + f3"``; ``"0"`` for a species no reaction changes."""
    terms: dict[str, list[str]] = {name: [] for name in network.names}
    for j, reaction in enumerate(network.reactions):
        for name, k in net_stoichiometry(reaction).items():
            coefficient = "" if abs(k) == 1 else f"{abs(k)}*"
            terms[name].append(f"{'-' if k < 0 else '+'} {coefficient}{flux_names[j]}")
    out = {}
    for name, parts in terms.items():
        text = " ".join(parts)
        out[name] = (text[2:] if text.startswith("+ ") else "-" + text[2:]) if parts else "0"
    return out


def injected_species(network: ReactionNetwork) -> list[str]:
    """Species that receive an injection (or could: a rate set to 0), in species order
    (:attr:`ReactionNetwork.injected_species`)."""
    return network.injected_species
