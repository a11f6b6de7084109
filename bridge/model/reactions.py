"""Well-mixed biochemical reaction networks (mass action, one compartment).

Internal units: concentrations in nM, time in ms, volume in µm³.  A reaction of order ``n`` (the sum
of its forward rate-law exponents, which are the reactant stoichiometries unless
``Reaction.forward_powers`` says otherwise) has a forward rate constant in nM^(1-n)/ms; likewise the
reverse rate constant with the order of its products.  Injections add a species at a constant rate (nM/ms)
during ``[onset, onset + duration)``; a :class:`Protocol` (pulses, trains, co-injected fluxes) expands
into such injections.

The numerical helpers here (stoichiometry, rates, the analytic Jacobian, conserved moieties,
read-outs) are shared by every backend, so that they all integrate the same right-hand side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Mapping

import numpy as np

# scipy.sparse (0.1 s) and scipy.linalg (0.27 s) are imported where they are needed: a backend worker
# that runs no reaction network must not pay for them.
if TYPE_CHECKING:
    import scipy.sparse

#: Avogadro's number (1/mol); particles in ``V`` µm³ at ``c`` nM: c * 1e-9 * N_A * V * 1e-15
AVOGADRO = 6.02214076e23
NM_UM3_TO_PARTICLES = 1e-9 * AVOGADRO * 1e-15  # particles per (nM · µm³) = 0.602214076


@dataclass(frozen=True)
class Reaction:
    """``reactants -> products`` (stoichiometry as species -> integer), mass-action rates.

    ``forward`` is in nM^(1-order)/ms with order = sum of the forward rate-law exponents (the
    reactant stoichiometries unless ``forward_powers`` overrides some); ``reverse`` likewise with
    the products (0 for an irreversible reaction).
    """

    name: str
    reactants: Mapping[str, int]
    products: Mapping[str, int]
    forward: float
    reverse: float = 0.0
    #: exponents of the forward rate law where they differ from the stoichiometry (NeuroRD
    #: ``power`` vs ``n``: e.g. 2 molecules consumed, rate linear in the concentration);
    #: species not listed use their stoichiometry
    forward_powers: Mapping[str, int] = field(default_factory=dict)
    #: likewise for the reverse rate law (exponents of the products)
    reverse_powers: Mapping[str, int] = field(default_factory=dict)

    @property
    def forward_exponents(self) -> dict[str, int]:
        """Exponent of each reactant in the forward rate law (stoichiometry unless overridden)."""
        return {s: int(self.forward_powers.get(s, k)) for s, k in self.reactants.items()}

    @property
    def reverse_exponents(self) -> dict[str, int]:
        """Exponent of each product in the reverse rate law (stoichiometry unless overridden)."""
        return {s: int(self.reverse_powers.get(s, k)) for s, k in self.products.items()}

    @property
    def mass_action(self) -> bool:
        """True when every rate-law exponent equals the stoichiometry (plain mass action)."""
        return self.forward_exponents == dict(self.reactants) and self.reverse_exponents == dict(self.products)

    @property
    def order(self) -> int:
        """Order of the forward rate law (sum of its exponents): ``forward`` is in nM^(1-order)/ms."""
        return int(sum(self.forward_exponents.values()))

    @property
    def reverse_order(self) -> int:
        """Order of the reverse rate law: ``reverse`` is in nM^(1-reverse_order)/ms."""
        return int(sum(self.reverse_exponents.values()))


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
class Protocol:
    """A named stimulation protocol driving several co-injected species together.

    ``trains`` trains of ``pulses`` pulses; a pulse lasts ``pulse_duration`` ms, pulses of a train start
    every ``period`` ms, trains every ``train_interval`` ms (onset to onset), the first at ``onset``
    (ms).  During every pulse each species of ``fluxes`` is injected at its rate (nM/ms); a species with
    a rate of 0 is not injected (but keeps its injection flux variable, so that a backend's generated
    code is the same as with the rate on).
    """

    name: str
    onset: float
    pulses: int
    period: float
    pulse_duration: float
    trains: int
    train_interval: float
    fluxes: Mapping[str, float]

    def pulse_onsets(self) -> np.ndarray:
        """Onset of every pulse (ms), sorted."""
        k = np.arange(self.pulses) * self.period
        return np.sort((self.onset + np.arange(self.trains)[:, None] * self.train_interval + k[None, :]).ravel())

    @property
    def train_span(self) -> float:
        """Onset of a train's first pulse to the end of its last pulse (ms)."""
        return (self.pulses - 1) * self.period + self.pulse_duration

    @property
    def end(self) -> float:
        """End of the protocol's last pulse (ms)."""
        return self.onset + (self.trains - 1) * self.train_interval + self.train_span

    @property
    def frequency_hz(self) -> float | None:
        """Pulse frequency within a train (Hz); None for a single pulse."""
        return 1000.0 / self.period if self.pulses > 1 and self.period > 0 else None

    def injections(self) -> list[Injection]:
        """The protocol's pulses as :class:`Injection` pulses (species with a rate of 0 left out)."""
        onsets = self.pulse_onsets()
        return [Injection(species, float(t), self.pulse_duration, rate)
                for species, rate in self.fluxes.items() if rate != 0 for t in onsets]


@dataclass(frozen=True)
class Readout:
    """A derived quantity computed from species concentrations.

    ``kind == "sum"``: Σ weight·[species] in nM (``terms``: species -> weight), or with
    ``particles`` set the same sum as a number of molecules in the compartment.
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
    #: a ``sum`` read-out counted in molecules (``particles``) instead of nM
    particles: bool = False

    @property
    def unit(self) -> str:
        if self.kind == "ampa_conductance":
            return "pS"
        return "particles" if self.particles else "nM"

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
    #: the stimulation protocol the injections came from (or None)
    protocol: Protocol | None = None
    #: species that can be injected although none of ``injections`` injects them (a protocol flux or an
    #: injection set to a rate of 0, e.g. in a control run): they keep their injection flux variable
    silent_injections: tuple[str, ...] = ()

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
        import scipy.sparse

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
    def _kinetics(self) -> "_Kinetics":
        return _Kinetics(self)

    # --- right-hand side -------------------------------------------------------------------
    def fluxes(self, c: np.ndarray) -> np.ndarray:
        """Net flux of each reaction (nM/ms) at concentrations ``c`` (nM)."""
        return self._kinetics.fluxes(np.asarray(c, dtype=float))

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
        return self._kinetics.jacobian(np.asarray(c, dtype=float))

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
        import scipy.linalg

        return scipy.linalg.null_space(s.T).T

    @property
    def injected_species(self) -> list[str]:
        """Species with an injection flux (injected, or injectable at a rate of 0), in species order:
        what generated code declares, so that a run and its control share one compiled mechanism."""
        injected = {inj.species for inj in self.injections} | set(self.silent_injections)
        return [name for name in self.names if name in injected]

    @property
    def stimulation_onset(self) -> float | None:
        """Start of the stimulation (ms): the protocol's onset, else the first injection's; None without."""
        if self.protocol is not None:
            return self.protocol.onset
        return min((inj.onset for inj in self.injections), default=None)

    @property
    def stimulation_end(self) -> float | None:
        """End of the last injection pulse (ms), or of the protocol; None without stimulation."""
        ends = [inj.end for inj in self.injections]
        if self.protocol is not None:
            ends.append(self.protocol.end)
        return max(ends, default=None)

    def breakpoints(self, t_stop: float) -> np.ndarray:
        """Sorted times (ms) in (0, t_stop) at which an injection switches on or off."""
        times = {t for inj in self.injections for t in (inj.onset, inj.end) if 0 < t < t_stop}
        return np.array(sorted(times))

    def species_for(self, variables: list[str]) -> list[str]:
        """The species needed to compute ``variables`` (species and read-outs), in species order."""
        needed = set()
        for variable in variables:
            needed.update(self.readouts[variable].species() if variable in self.readouts else [variable])
        return [name for name in self.names if name in needed]

    def recorded(self, variables: list[str], concentrations: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, str]]:
        """Each recorded variable (a species or a read-out) as ``(values, unit)``: nM, or the
        read-out's unit; ``concentrations`` maps species to their sampled values (nM)."""
        out = {}
        for variable in variables:
            if variable in self.readouts:
                out[variable] = (np.asarray(self.readout(variable, concentrations), float), self.readouts[variable].unit)
            else:
                out[variable] = (np.asarray(concentrations[variable], float), "nM")
        return out

    def readout(self, name: str, concentrations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Value of read-out ``name`` (nM or pS) from species concentration arrays (nM)."""
        spec = self.readouts[name]
        if spec.kind == "sum":
            total = sum(w * np.asarray(concentrations[s]) for s, w in spec.terms.items())
            return total * (self.volume * NM_UM3_TO_PARTICLES) if spec.particles else total
        if spec.kind == "ampa_conductance":
            return ampa_conductance(*(sum(np.asarray(concentrations[s]) for s in spec.groups[g]) * self.volume
                                      * NM_UM3_TO_PARTICLES for g in ("glur1", "glur1_s831", "glur2")),
                                    spec.conductances)
        raise ValueError(f"unknown read-out kind {spec.kind!r}")


class Extremes:
    """Running maximum and minimum (with their times) of recorded variables over every solver step.

    A backend feeds :meth:`update` with the states it stepped through (times in ms, concentrations in
    nM of the species :meth:`ReactionNetwork.species_for` names), in order, in as many chunks as it
    likes; the first of two equal extremes keeps its time.  :meth:`summary` gives, per variable,
    ``{"max", "t_max", "min", "t_min", "unit", "steps"}`` (values in the variable's unit, times in ms).
    """

    def __init__(self, network: ReactionNetwork, variables: list[str]):
        self.network = network
        self.variables = list(dict.fromkeys(variables))
        self.species = network.species_for(self.variables)
        self.steps = 0
        self._best: dict[str, list] = {}

    def update(self, times: np.ndarray, concentrations: Mapping[str, np.ndarray]) -> None:
        """Take in the states at ``times`` (ms): ``concentrations`` maps species to arrays (nM)."""
        times = np.asarray(times, dtype=float)
        if times.size == 0:
            return
        self.steps += int(times.size)
        for variable, (values, unit) in self.network.recorded(self.variables, concentrations).items():
            values = np.broadcast_to(np.asarray(values, dtype=float), times.shape)
            hi, lo = int(np.argmax(values)), int(np.argmin(values))
            best = self._best.setdefault(variable, [-np.inf, np.nan, np.inf, np.nan, unit])
            if values[hi] > best[0]:
                best[0], best[1] = float(values[hi]), float(times[hi])
            if values[lo] < best[2]:
                best[2], best[3] = float(values[lo]), float(times[lo])

    def summary(self) -> dict[str, dict[str, float | str | int]]:
        """Per variable: max, t_max, min, t_min (ms), unit and the number of states seen."""
        return {v: {"max": b[0], "t_max": b[1], "min": b[2], "t_min": b[3], "unit": b[4], "steps": self.steps}
                for v, b in self._best.items()}


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


class _Kinetics:
    """Vectorised rate laws of a network: fluxes and the sparse Jacobian without Python loops.

    Each rate law is a product over at most ``K`` factors ``c_i^p_i``; factors are padded with a
    constant 1 (an extra entry appended to the concentration vector), so that one reaction's forward
    and reverse rates are row products of a (reactions × K) array.  The Jacobian's sparsity pattern
    and the scatter of ``S[i, j] * d flux_j / d c_a`` into it are fixed at construction.
    """

    def __init__(self, network: ReactionNetwork):
        n, r = len(network.names), len(network.reactions)
        self.n = n
        self.k_fwd = np.array([x.forward for x in network.reactions], dtype=float)
        self.k_rev = np.array([x.reverse for x in network.reactions], dtype=float)
        forward = [x.forward_exponents for x in network.reactions]
        reverse = [x.reverse_exponents for x in network.reactions]
        width = max([len(e) for e in forward + reverse] + [1])
        self.fwd_idx, self.fwd_pow = self._terms(network, forward, width)
        self.rev_idx, self.rev_pow = self._terms(network, reverse, width)
        s = network.stoichiometry.tocsc()
        # one Jacobian contribution per (species i with S[i,j] != 0) x (rate-law factor a of reaction j)
        rows, cols, weights, sources = [], [], [], []
        for side, (idx, pw) in enumerate(((self.fwd_idx, self.fwd_pow), (self.rev_idx, self.rev_pow))):
            for j in range(r):
                col = s.indices[s.indptr[j]:s.indptr[j + 1]]
                val = s.data[s.indptr[j]:s.indptr[j + 1]]
                for slot in range(idx.shape[1]):
                    a = idx[j, slot]
                    if a == n:
                        continue
                    for i, v in zip(col, val):
                        rows.append(i), cols.append(a), weights.append(v if side == 0 else -v)
                        sources.append((side, j, slot))
        import scipy.sparse

        pattern = scipy.sparse.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        pattern.sum_duplicates()
        pattern.sort_indices()
        self.pattern = pattern
        # position of each contribution in pattern.data
        lookup = {(int(i), int(a)): p for a in range(n)
                  for p, i in zip(range(pattern.indptr[a], pattern.indptr[a + 1]),
                                  pattern.indices[pattern.indptr[a]:pattern.indptr[a + 1]])}
        self.positions = np.array([lookup[(int(i), int(a))] for i, a in zip(rows, cols)], dtype=np.int64)
        self.weights = np.array(weights, dtype=float)
        self.source_side = np.array([x[0] for x in sources], dtype=np.int64)
        self.source_reaction = np.array([x[1] for x in sources], dtype=np.int64)
        self.source_slot = np.array([x[2] for x in sources], dtype=np.int64)
        self.stoichiometry = network.stoichiometry

    @staticmethod
    def _terms(network: ReactionNetwork, exponents: list[dict[str, int]], width: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.full((len(exponents), width), len(network.names), dtype=np.int64)
        pw = np.zeros((len(exponents), width), dtype=float)
        for j, e in enumerate(exponents):
            for slot, (name, p) in enumerate(e.items()):
                idx[j, slot], pw[j, slot] = network.index[name], p
        return idx, pw

    def _factors(self, c: np.ndarray, idx: np.ndarray, pw: np.ndarray) -> np.ndarray:
        padded = np.append(c, 1.0)
        return padded[idx] ** pw

    def rates(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Forward and reverse rate-law factors and rates (nM/ms) at ``c``."""
        ff = self._factors(c, self.fwd_idx, self.fwd_pow)
        rf = self._factors(c, self.rev_idx, self.rev_pow)
        return ff, rf, self.k_fwd * ff.prod(axis=1), self.k_rev * rf.prod(axis=1)

    def fluxes(self, c: np.ndarray) -> np.ndarray:
        _, _, forward, reverse = self.rates(c)
        return forward - reverse

    def _partials(self, c: np.ndarray, idx: np.ndarray, pw: np.ndarray, k: np.ndarray) -> np.ndarray:
        """(reactions × K): d(rate)/d(c of the factor in that slot)."""
        padded = np.append(c, 1.0)
        base = padded[idx]
        factors = base ** pw
        out = np.empty_like(factors)
        for slot in range(idx.shape[1]):
            others = np.prod(np.delete(factors, slot, axis=1), axis=1) if idx.shape[1] > 1 else 1.0
            out[:, slot] = k * pw[:, slot] * base[:, slot] ** np.maximum(pw[:, slot] - 1, 0) * others
        return out

    def jacobian(self, c: np.ndarray) -> scipy.sparse.csc_matrix:
        d = (self._partials(c, self.fwd_idx, self.fwd_pow, self.k_fwd),
             self._partials(c, self.rev_idx, self.rev_pow, self.k_rev))
        stacked = np.stack(d)  # (2, reactions, K)
        values = self.weights * stacked[self.source_side, self.source_reaction, self.source_slot]
        data = np.bincount(self.positions, weights=values, minlength=self.pattern.nnz)
        import scipy.sparse

        return scipy.sparse.csc_matrix((data, self.pattern.indices, self.pattern.indptr), shape=(self.n, self.n))
