"""NMODL generation for well-mixed reaction networks (:class:`~bridge.model.reactions.ReactionNetwork`).

One POINT_PROCESS per network name and *structure* (``bridge_rn_<network name>_<hash>``, so that
``ls mod/networks`` tells which file is which network):

* every species is a STATE in nM; every reaction a KINETIC statement
  ``~ 2 A + B <-> C (kf<j>, kb<j>)`` (``METHOD sparse``: NEURON's Newton/sparse backward Euler in
  the fixed step, and the mechanism's analytic sparse Jacobian inside CVODE's Newton iteration);
* the rate constants ``kf<j>`` (nM^(1-order)/ms) and ``kb<j>`` are RANGE PARAMETERs set by the
  adapter, and initial concentrations are set by the adapter after ``finitialize``: the text
  depends only on the structure (species names and order, reactions' stoichiometry and names, which
  species are injected), so networks differing only in values share one mechanism and one compile.
  Every reaction is written reversible (``kb<j>`` = 0 for an irreversible one) for the same reason;
* a reaction with an empty side (degradation ``ACh ->``, or a zero-order source) cannot be a
  KINETIC reaction statement, nor can one whose rate-law exponents differ from its stoichiometry
  (``Reaction.forward_powers``); each becomes flux statements ``~ X << (n*(kf*... - kb*...))``
  with the net stoichiometry ``n`` of each species it changes.  NMODL puts no Jacobian entries
  for ``<<`` terms: only CVODE's Newton iteration (not its error control or result) and the fixed
  step's backward-Euler linearisation miss them; in the spine model these are the slow ``ACh``
  degradation (6e-3/ms) and ``PKAcAMP4 <-> PKAr + 2 PKAc`` (reverse rate linear in PKAc);
* injections: one ASSIGNED flux ``inj_<species>`` (nM/ms) per injected species (also one injected at a
  rate of 0, e.g. in a control run: :attr:`ReactionNetwork.injected_species`), added by
  ``~ X << (inj_X)``.  NET_RECEIVE(w, k) adds ``w`` to the flux of injected species number ``k``;
  the adapter (:mod:`.reactions`) sends ``+rate`` at each pulse's onset and ``-rate`` at its
  end through NetCon events.  Under CVODE NEURON integrates exactly up to an event, delivers it and
  re-initialises the integrator, so the discontinuities of the injection are exact (no step
  straddles an onset or an end).

Conservation: no CONSERVE statements.  NEURON ignores CONSERVE under CVODE (the default here), and
for the spine network the conserved moieties overlap heavily (each CONSERVE would need its own pivot
species not used by another one).  Mass action conserves every moiety ``L`` with ``L @ S = 0``
structurally, and both solvers keep ``L @ c`` constant up to round-off: every Newton update
``Δ`` of backward Euler (fixed step) and of CVODE's BDF corrector solves a system whose matrix is
``I - γ Σ_j s_j ∂flux_j/∂c`` (``s_j`` the reaction's column of ``S``; the ``<<`` reactions
missing) and whose right-hand side is a combination of ``S @ flux`` terms; ``L @ s_j = 0`` for
every reaction, so ``L @ Δ = 0``; the predictor is a linear combination of past states.
``tests/test_spine_backends.py`` checks every row of :attr:`ReactionNetwork.conservation_laws` to 1e-9 relative in a NEURON run.
(The fixed step's ``sparse`` solver clips negative concentrations to 0 after a Newton update, which
would break conservation; that does not happen at a step small enough to be accurate.)

Compilation: nocmodl writes the spine network's KINETIC block as ~4200 sparse-matrix statements in
two functions (18 000 lines of C++).  GCC 12 needs 7.5 min for them at NEURON's -O2 and more than
2 min at -O1 (100 s at -O1 -fno-inline), 30-40 s at -O0, but the -O0 library spends 86 % of the run
in the mechanism (NEURON's sparse LU and data accessors, instantiated from headers, are then
unoptimised too).  So the generated file starts with a VERBATIM ``#pragma GCC optimize ("O0")``,
which nocmodl places after the headers and before the generated functions: the huge generated
functions compile unoptimised (the whole library in 16-35 s) while the solver and accessors keep -O2;
100 Ca pulses of LFS run in 3.9 s instead of 20 s with the all--O0 library.  (VERBATIM makes nocmodl
call the mechanism not thread-safe, irrelevant for one point process in one thread.)

Building: a network's mechanism is generated into ``cache_dir("nrnkinetic")/<mechanism>/`` and
compiled there on first use (:func:`load`) by the content-hash cache of :mod:`.build`, in
its own library (loaded next to the catalog's), so that neither compile invalidates the other.
The generated files of the shipped models' networks (``models/*.yaml`` with a ``network:``
section) are committed in ``mod/networks/`` for review: ``python -m bridge.backends.neuron.sources``
rewrites them and a test fails when they are stale.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ...model.reactions import Reaction, ReactionNetwork
from ...cache import content_hash
from ..network_codegen import identifiers, injected_species, net_flux, net_stoichiometry, rate_parameters
from .build import Build, build as build_library, generated_source, load_extra
from .nmodl import MOD_DIR

#: prefix of every generated reaction-network mechanism (and of its ``.mod`` file name)
MECHANISM_PREFIX = "bridge_rn_"
HEADER = (": Generated by bridge.backends.neuron.kinetic from a reaction network "
          "({species} species, {reactions} reactions); do not edit.\n")


@dataclass(frozen=True)
class Layout:
    """How a network maps onto its mechanism: ``mechanism`` name, species -> STATE name,
    reaction index -> (forward, reverse) PARAMETER names, injected species -> flux variable."""

    mechanism: str
    species: dict[str, str]
    rates: list[tuple[str, str]]
    injections: dict[str, str]

    def injection_index(self, species: str) -> int:
        """Number ``k`` of the injected ``species`` in NET_RECEIVE(w, k)."""
        return list(self.injections).index(species)


def _order_unit(order: int) -> str:
    """NMODL unit of a rate constant of reaction order ``order``: nM^(1-order)/ms."""
    if order == 0:
        return "nM/ms"
    if order == 1:
        return "/ms"
    return f"/nM{order - 1 if order > 2 else ''}-ms"


def _side(side: dict[str, int], ids: dict[str, str]) -> str:
    return " + ".join(f"{int(k)} {ids[name]}" if int(k) != 1 else ids[name] for name, k in side.items())


def _statements(reaction: Reaction, ids: dict[str, str], kf: str, kb: str) -> list[str]:
    """KINETIC statements of one reaction: a reaction statement, or ``<<`` fluxes of the net
    stoichiometry when a side is empty or the rate-law exponents differ from the stoichiometry."""
    if reaction.reactants and reaction.products and reaction.mass_action:
        return [f"~ {_side(dict(reaction.reactants), ids)} <-> {_side(dict(reaction.products), ids)} ({kf}, {kb})"]
    flux = net_flux(reaction, ids, kf, kb)
    return [f"~ {ids[name]} << ({k}*{flux})" for name, k in net_stoichiometry(reaction).items()]


def _body(network: ReactionNetwork, name: str) -> str:
    """The mechanism text for mechanism ``name`` (see the module docstring)."""
    ids = identifiers(network.names)
    injected = injected_species(network)
    rates = [rate_parameters(j) for j in range(len(network.reactions))]
    lines = [HEADER.format(species=len(network.names), reactions=len(network.reactions)), UNOPTIMISED_PRAGMA]
    lines.append("COMMENT\nA well-mixed reaction network: species are STATEs (nM), rate constants RANGE PARAMETERs\n"
                 "set by bridge; see bridge/backends/neuron/kinetic.py for the design.\nENDCOMMENT\n")
    neuron = ["NEURON {", f"    POINT_PROCESS {name}"]
    names = [p for pair in rates for p in pair] + [f"inj_{ids[s]}" for s in injected]
    for start in range(0, len(names), 10):
        neuron.append("    RANGE " + ", ".join(names[start:start + 10]))
    neuron.append("}\n")
    lines.append("\n".join(neuron))
    lines.append("UNITS {\n    (nM) = (nano/liter)\n}\n")
    parameter = ["PARAMETER {"]
    for j, reaction in enumerate(network.reactions):
        kf, kb = rates[j]
        parameter.append(f"    {kf} = 0 ({_order_unit(reaction.order)}) : {reaction.name}")
        parameter.append(f"    {kb} = 0 ({_order_unit(reaction.reverse_order)})")
    lines.append("\n".join(parameter) + "\n}\n")
    assigned = ["ASSIGNED {"] + [f"    inj_{ids[s]} (nM/ms) : injection flux of {s}" for s in injected]
    lines.append("\n".join(assigned) + "\n}\n")
    lines.append("STATE {\n" + "\n".join(f"    {ids[s]} (nM) : {s}" for s in network.names) + "\n}\n")
    lines.append("INITIAL {\n" + "\n".join(f"    inj_{ids[s]} = 0" for s in injected)
                 + ("\n" if injected else "") + "    : concentrations are set by the adapter after finitialize\n}\n")
    lines.append("BREAKPOINT {\n    SOLVE scheme METHOD sparse\n}\n")
    kinetic = ["KINETIC scheme {"]
    for j, reaction in enumerate(network.reactions):
        kinetic.append(f"    : {reaction.name}")
        kinetic += [f"    {s}" for s in _statements(reaction, ids, *rates[j])]
    kinetic += [f"    ~ {ids[s]} << (inj_{ids[s]})" for s in injected]
    lines.append("\n".join(kinetic) + "\n}\n")
    receive = ["NET_RECEIVE(w (nM/ms), k) {",
               "    : an injection pulse of injected species number k starts (w = +rate) or ends (w = -rate)"]
    receive += [f"    if (k == {i}) {{ inj_{ids[s]} = inj_{ids[s]} + w }}" for i, s in enumerate(injected)]
    lines.append("\n".join(receive) + "\n}\n")
    return "\n".join(lines)


#: longest network-name part of a mechanism name (NEURON names are C identifiers; keep them readable)
NAME_PART_MAX = 32


def mechanism_name(network: ReactionNetwork) -> str:
    """Name of the network's mechanism: the prefix, the network's name (characters outside
    ``[A-Za-z0-9_]`` replaced by ``_``, at most :data:`NAME_PART_MAX` of them) and a hash of the
    structure-only text, e.g. ``bridge_rn_spine_2cad191a2db8``."""
    readable = re.sub(r"[^A-Za-z0-9_]", "_", network.name)[:NAME_PART_MAX]
    return f"{MECHANISM_PREFIX}{readable}_{content_hash(_body(network, MECHANISM_PREFIX))[:12]}"


def layout(network: ReactionNetwork) -> Layout:
    """Names of the mechanism, its states, rate parameters and injection fluxes for ``network``."""
    ids = identifiers(network.names)
    return Layout(mechanism_name(network), ids, [rate_parameters(j) for j in range(len(network.reactions))],
                  {s: f"inj_{ids[s]}" for s in injected_species(network)})


def network_mod(network: ReactionNetwork) -> str:
    """NMODL text of the network's mechanism (depends on the network's structure only)."""
    return _body(network, mechanism_name(network))


# ---------------------------------------------------------------------------------------- shipped files
#: committed mechanisms of the shipped models' networks (not compiled with the catalog's ``mod/``)
NETWORK_MOD_DIR = MOD_DIR / "networks"


def shipped_networks(models_dir: Path | None = None) -> list[ReactionNetwork]:
    """The reaction networks of the shipped model files (``models/*.yaml`` with a ``network:``)."""
    from ...model import load

    directory = models_dir or MOD_DIR.parent / "models"
    networks = []
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if not any(line.startswith("network:") for line in text.splitlines()):
            continue
        model = load(path)
        if model.network is not None:
            networks.append(model.network)
    return networks


def shipped_sources(models_dir: Path | None = None) -> dict[str, str]:
    """``{file name: NMODL text}`` of the shipped networks' mechanisms (one per distinct structure)."""
    return {f"{mechanism_name(n)}.mod": network_mod(n) for n in shipped_networks(models_dir)}


def stale_files(directory: Path = NETWORK_MOD_DIR) -> list[str]:
    """Generated files missing from ``directory`` or differing from the shipped models, and
    ``bridge_rn_*.mod`` files there that no shipped model generates any more."""
    sources = shipped_sources()
    stale = [name for name, text in sources.items()
             if not (directory / name).exists() or (directory / name).read_text(encoding="utf-8") != text]
    orphans = [p.name for p in sorted(directory.glob(f"{MECHANISM_PREFIX}*.mod")) if p.name not in sources]
    return stale + orphans


def write_sources(directory: Path = NETWORK_MOD_DIR) -> list[str]:
    """(Re)write the shipped networks' mechanisms in ``directory`` and delete orphans; return the names changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = stale_files(directory)
    sources = shipped_sources()
    for name in changed:
        if name in sources:
            (directory / name).write_text(sources[name], encoding="utf-8")
        else:
            (directory / name).unlink()
    return changed


# ---------------------------------------------------------------------------------------- build
#: prepended to every network mechanism (see "Compilation" in the module docstring)
UNOPTIMISED_PRAGMA = """VERBATIM
/* bridge: the generated KINETIC code below is compiled without optimisation (GCC needs minutes on it
   otherwise); NEURON's own sparse solver and accessors, defined in the headers above, keep -O2 */
#pragma GCC optimize ("O0")
ENDVERBATIM
"""


def source_directory(network: ReactionNetwork) -> Path:
    """``cache_dir("nrnkinetic")/<mechanism>/`` holding the network's ``.mod`` file (written if needed)."""
    name = mechanism_name(network)
    return generated_source("nrnkinetic", name, network_mod(network)).parent


def build(network: ReactionNetwork) -> Build:
    """Compile (or reuse from the content-hash cache) the network's mechanism (``compiled`` False
    when nothing was compiled)."""
    return build_library(source_directory(network))


def load(network: ReactionNetwork) -> tuple[Build, Layout]:
    """Make the network's mechanism available in this process's NEURON (compiled on first use,
    in its own library next to the catalog's); return ``(Build, Layout)``."""
    names = layout(network)
    return load_extra(source_directory(network), names.mechanism), names
