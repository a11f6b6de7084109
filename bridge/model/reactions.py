"""Well-mixed biochemical reaction networks (mass action, one compartment).

Internal units: concentrations in nM, time in ms, volume in µm³.  A reaction of order ``n`` (the sum
of its reactant stoichiometries) has a forward rate constant in nM^(1-n)/ms; likewise the reverse
rate constant with the order of its products.  Injections add a species at a constant rate (nM/ms)
during ``[onset, onset + duration)``.

The numerical helpers here (stoichiometry, rates, the analytic Jacobian, conserved moieties,
read-outs) are shared by every backend, so that they all integrate the same right-hand side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

import numpy as np
import scipy.linalg
import scipy.sparse

#: Avogadro's number (1/mol); particles in ``V`` µm³ at ``c`` nM: c * 1e-9 * N_A * V * 1e-15
AVOGADRO = 6.02214076e23
NM_UM3_TO_PARTICLES = 1e-9 * AVOGADRO * 1e-15  # particles per (nM · µm³) = 0.602214076


@dataclass(frozen=True)
class Reaction:
    """``reactants -> products`` (stoichiometry as species -> integer), mass-action rates.

    ``forward`` is in nM^(1-order)/ms with order = sum of reactant stoichiometries; ``reverse``
    likewise with the products' order (0 for an irreversible reaction).
    """

    name: str
    reactants: Mapping[str, int]
    products: Mapping[str, int]
    forward: float
    reverse: float = 0.0

    @property
    def order(self) -> int:
        return int(sum(self.reactants.values()))

    @property
    def reverse_order(self) -> int:
        return int(sum(self.products.values()))


@dataclass(frozen=True)
class Injection:
    """One constant-rate injection pulse of ``species``: ``rate`` nM/ms from ``onset`` for
    ``duration`` ms (both ms)."""

    species: str
    onset: float
    duration: float
    rate: float

    @property
    def end(self) -> float:
        return self.onset + self.duration


@dataclass(frozen=True)
class Readout:
    """A derived quantity computed from species concentrations.

    ``kind == "sum"``: Σ weight·[species] in nM (``terms``: species -> weight).
    ``kind == "ampa_conductance"``: the statistical tetramer model of the shared spine README, in pS;
    ``groups`` maps ``glur1``, ``glur1_s831`` and ``glur2`` to lists of membrane species
    (``glur1_s831`` ⊂ ``glur1``), ``conductances`` the unit conductances (pS) of
    ``glur1``, ``glur1_s831``, ``glur2`` and ``hetero``.
    """

    name: str
    kind: str
    terms: Mapping[str, float] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    conductances: Mapping[str, float] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return "pS" if self.kind == "ampa_conductance" else "nM"

    def species(self) -> list[str]:
        if self.kind == "sum":
            return list(self.terms)
        return sorted({s for group in self.groups.values() for s in group})


@dataclass
class ReactionNetwork:
    """Species with initial concentrations (nM), reactions, injections, read-outs, volume (µm³)."""

    name: str
    species: dict[str, float]
    reactions: list[Reaction]
    volume: float
    injections: list[Injection] = field(default_factory=list)
    readouts: dict[str, Readout] = field(default_factory=dict)

    # --- structure -------------------------------------------------------------------------
    @cached_property
    def names(self) -> list[str]:
        return list(self.species)

    @cached_property
    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    @property
    def initial(self) -> np.ndarray:
        """Initial concentrations (nM) in species order."""
        return np.array([self.species[n] for n in self.names], dtype=float)

    @cached_property
    def stoichiometry(self) -> scipy.sparse.csr_matrix:
        """Net stoichiometry matrix S (species × reactions): dc/dt = S @ (forward - reverse flux)."""
        rows, cols, vals = [], [], []
        for j, reaction in enumerate(self.reactions):
            net: dict[int, int] = {}
            for name, k in reaction.reactants.items():
                net[self.index[name]] = net.get(self.index[name], 0) - k
            for name, k in reaction.products.items():
                net[self.index[name]] = net.get(self.index[name], 0) + k
            for i, k in net.items():
                if k:
                    rows.append(i), cols.append(j), vals.append(float(k))
        return scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(len(self.names), len(self.reactions)))

    @cached_property
    def _orders(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """Per reaction: reactant indices and powers, product indices and powers."""
        ri = [np.array([self.index[s] for s in r.reactants], dtype=int) for r in self.reactions]
        rp = [np.array(list(r.reactants.values()), dtype=float) for r in self.reactions]
        pi = [np.array([self.index[s] for s in r.products], dtype=int) for r in self.reactions]
        pp = [np.array(list(r.products.values()), dtype=float) for r in self.reactions]
        return ri, rp, pi, pp

    # --- right-hand side -------------------------------------------------------------------
    def fluxes(self, c: np.ndarray) -> np.ndarray:
        """Net flux of each reaction (nM/ms) at concentrations ``c`` (nM)."""
        ri, rp, pi, pp = self._orders
        out = np.empty(len(self.reactions))
        for j, r in enumerate(self.reactions):
            forward = r.forward * np.prod(c[ri[j]] ** rp[j])
            reverse = r.reverse * np.prod(c[pi[j]] ** pp[j]) if r.reverse else 0.0
            out[j] = forward - reverse
        return out

    def injection_rates(self, t: float) -> np.ndarray:
        """Injection rate of each species (nM/ms) at time ``t`` (ms); pulses are [onset, end)."""
        rates = np.zeros(len(self.names))
        for inj in self.injections:
            if inj.onset <= t < inj.end:
                rates[self.index[inj.species]] += inj.rate
        return rates

    def derivative(self, c: np.ndarray, t: float | None = None) -> np.ndarray:
        """dc/dt (nM/ms); with ``t`` given the injections active at ``t`` are added."""
        dc = self.stoichiometry @ self.fluxes(c)
        return dc if t is None else dc + self.injection_rates(t)

    def jacobian(self, c: np.ndarray) -> scipy.sparse.csc_matrix:
        """Analytic Jacobian d(dc/dt)/dc (1/ms), sparse."""
        ri, rp, pi, pp = self._orders
        rows, cols, vals = [], [], []
        for j, r in enumerate(self.reactions):
            for idx, pw, k in ((ri[j], rp[j], r.forward), (pi[j], pp[j], -r.reverse)):
                if not k or len(idx) == 0:
                    continue
                for a in range(len(idx)):
                    # d/dc_a of k * prod c_i^p_i
                    others = np.prod([c[idx[b]] ** pw[b] for b in range(len(idx)) if b != a]) if len(idx) > 1 else 1.0
                    d = k * pw[a] * c[idx[a]] ** (pw[a] - 1) * others
                    rows.append(j), cols.append(idx[a]), vals.append(d)
        dflux = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(len(self.reactions), len(self.names)))
        return (self.stoichiometry @ dflux).tocsc()

    # --- invariants and read-outs -----------------------------------------------------------
    @cached_property
    def conservation_laws(self) -> np.ndarray:
        """Rows ``L`` with ``L @ S = 0``: each row's ``L @ c`` is constant without injections.

        An orthonormal basis of the left null space of the stoichiometry matrix (dense SVD; the
        spine network's 204 × 262 matrix is small).
        """
        s = self.stoichiometry.toarray()
        if s.size == 0:
            return np.eye(len(self.names))
        return scipy.linalg.null_space(s.T).T

    def breakpoints(self, t_stop: float) -> np.ndarray:
        """Sorted times (ms) in (0, t_stop) at which an injection switches on or off."""
        times = {t for inj in self.injections for t in (inj.onset, inj.end) if 0 < t < t_stop}
        return np.array(sorted(times))

    def readout(self, name: str, concentrations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Value of read-out ``name`` (nM or pS) from species concentration arrays (nM)."""
        spec = self.readouts[name]
        if spec.kind == "sum":
            return sum(w * np.asarray(concentrations[s]) for s, w in spec.terms.items())
        if spec.kind == "ampa_conductance":
            return ampa_conductance(*(sum(np.asarray(concentrations[s]) for s in spec.groups[g]) * self.volume
                                      * NM_UM3_TO_PARTICLES for g in ("glur1", "glur1_s831", "glur2")),
                                    spec.conductances)
        raise ValueError(f"unknown read-out kind {spec.kind!r}")


def ampa_conductance(n1: np.ndarray, n1p: np.ndarray, n2: np.ndarray,
                     unit: Mapping[str, float]) -> np.ndarray:
    """Total AMPA conductance (pS) of N/4 randomly assembled tetramers (shared spine README).

    ``n1``: GluR1 at the membrane, ``n1p``: of those S831-phosphorylated, ``n2``: GluR2 (counts);
    ``unit``: pS per tetramer for ``glur1``, ``glur1_s831``, ``glur2``, ``hetero``.
    """
    n1, n1p, n2 = (np.asarray(x, dtype=float) for x in (n1, n1p, n2))
    n = n1 + n2
    with np.errstate(invalid="ignore", divide="ignore"):
        tetramers = n / 4
        homo1 = tetramers * ((n1 - n1p) / n) ** 4
        homo1p = tetramers * (n1 ** 4 - (n1 - n1p) ** 4) / n ** 4
        homo2 = tetramers * (n2 / n) ** 4
        hetero = tetramers * (1 - (n1 / n) ** 4 - (n2 / n) ** 4)
        g = (homo1 * unit["glur1"] + homo1p * unit["glur1_s831"] + homo2 * unit["glur2"]
             + hetero * unit["hetero"])
    return np.where(n > 0, g, 0.0)
