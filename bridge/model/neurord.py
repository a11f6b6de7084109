"""Import a single-compartment NeuroRD model (reaction scheme, initial conditions, stimulation)
into a bridge model description (a YAML-shaped dict with a ``network:`` section).

NeuroRD units: concentrations in nM, times in ms, rate constants in nM^(1-order)/ms, injection rates
in particles/ms (converted by bridge with the compartment volume).  What is supported and how:

* ``<Specie>``: id (or name with spaces/slashes as '_'); ``kdiff`` is irrelevant in one compartment.
* ``<Reaction>``: ``Reactant``/``Product`` with ``power`` (rate-law exponent, default 1) and ``n``
  (stoichiometry, default ``power``), as NeuroRD defines them; where they differ the rate law gets
  ``forward_powers``/``reverse_powers``.  ``Q10`` is ignored (NeuroRD does not use it either).
  Reaction ids that are not identifiers are made so ('+', '-' ... become '_') and repeated ids get
  a suffix ``_2``, ``_3``; the original id is kept in the reaction's ``note``.
* ``<InitialConditions>``: one ``ConcentrationSet`` of ``NanoMolarity`` (a region attribute is
  accepted when it is the only set).  A species without an initial condition starts at 0 nM, as in
  NeuroRD; the importer writes the 0 explicitly and lists those species in the description.
* ``<StimulationSet>``: ``InjectionStim`` with onset, duration, rate and optionally period + end
  (pulses start at onset + k·period while before ``end``) and numTrains + interTrainInterval
  (trains start every ``end - onset + interTrainInterval``); ``injectionSite`` is irrelevant in one
  compartment.

With ``protocol`` (a name), injections that share their timing (onset, duration, period, pulse
count, trains) become one ``network.protocol`` block whose ``fluxes`` are their rates, so that one
``--set network.protocol.frequency=...`` changes every co-injected species; the gap NeuroRD puts
between trains (``interTrainInterval``) becomes ``train_gap``.

Read-outs are added by species name (:func:`receptor_and_kinase_readouts`): the AMPA receptor groups
and conductance, and the summed read-outs of :data:`PAPER_READOUTS` whose species all exist.

Anything else (several compartments, ``SurfaceDensitySet``, rate tables, unknown elements, unknown
species, a train without ``end``) is a :class:`ModelError` naming the file and the element.
"""
from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterable, Sequence

import yaml

from ..errors import ModelError
from .network_loader import DEFAULT_AMPA_CONDUCTANCES, rate_unit

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]+")


class _Source:
    """One XML input file: parse errors and element errors name it."""

    def __init__(self, path: str, root_tag: str):
        self.path = os.fspath(path)
        try:
            self.root = ET.parse(self.path).getroot()
        except FileNotFoundError:
            raise ModelError("no such file", "", f"a NeuroRD <{root_tag}> file", self.path) from None
        except ET.ParseError as exc:
            raise ModelError(f"XML syntax error: {exc}", "", "well-formed XML", self.path) from None
        tag = _local(self.root.tag)
        if tag != root_tag:
            raise ModelError(f"root element <{tag}>", "", f"a NeuroRD <{root_tag}> file", self.path)

    def fail(self, message: str, where: str, expected: str = "") -> ModelError:
        return ModelError(message, where, expected, self.path)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, allowed: Iterable[str], source: _Source, where: str) -> list[ET.Element]:
    allowed = set(allowed)
    children = list(element)
    for child in children:
        if _local(child.tag) not in allowed:
            raise source.fail(f"unsupported element <{_local(child.tag)}>", where,
                              "one of " + ", ".join(f"<{a}>" for a in sorted(allowed)))
    return children


def _number(text: str | None, source: _Source, where: str) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise source.fail(f"{text!r} is not a number", where, "a number") from None
    if not math.isfinite(value):
        raise source.fail(f"{text!r} is not finite", where, "a finite number")
    return value


def _integer_attribute(element: ET.Element, name: str, default: int, source: _Source, where: str) -> int:
    text = element.get(name)
    if text is None:
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise source.fail(f"{name}={text!r} is not an integer", where, f"an integer {name} >= 1") from None
    if value < 1:
        raise source.fail(f"{name}={text!r} is below 1", where, f"an integer {name} >= 1")
    return value


def _quantity(text: str, unit: str) -> str:
    """'0.5e-4' + '1/(nM*ms)' -> '0.5e-4 1/(nM*ms)' (the file's own digits, so values are exact)."""
    return f"{text.strip()} {unit}"


# ---------------------------------------------------------------------------------- reactions
def read_reactions(path: str) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    """Species ids and ``(name, reaction spec)`` pairs of a NeuroRD ``<ReactionScheme>`` file."""
    source = _Source(path, "ReactionScheme")
    species: list[str] = []
    aliases: dict[str, str] = {}
    reactions: list[tuple[str, dict[str, Any]]] = []
    used_names: dict[str, int] = {}
    for i, element in enumerate(_children(source.root, {"Specie", "Reaction"}, source, "ReactionScheme")):
        tag = _local(element.tag)
        if tag == "Specie":
            where = f"Specie[{len(species)}]"
            name = element.get("name")
            sid = element.get("id") or (re.sub(r"[ /]", "_", name) if name else None)
            if not sid:
                raise source.fail("a species without id or name", where, "an id or name attribute")
            if sid in aliases:
                raise source.fail(f"species {sid!r} declared twice", where, "unique species ids")
            species.append(sid)
            aliases[sid] = sid
            if name:
                aliases.setdefault(name, sid)
            continue
        reactions.append(_reaction(element, aliases, used_names, source, len(reactions)))
    if not species:
        raise source.fail("no <Specie> elements", "ReactionScheme", "at least one species")
    return species, reactions


def _reaction(element: ET.Element, aliases: dict[str, str], used_names: dict[str, int], source: _Source,
              index: int) -> tuple[str, dict[str, Any]]:
    original = element.get("id") or element.get("name") or f"reaction{index}"
    where = f"Reaction[{index}] (id {original!r})"
    sides: dict[str, dict[str, int]] = {"Reactant": {}, "Product": {}}
    powers: dict[str, dict[str, int]] = {"Reactant": {}, "Product": {}}
    rates: dict[str, str] = {}
    for child in _children(element, {"Reactant", "Product", "forwardRate", "reverseRate", "Q10"}, source, where):
        tag = _local(child.tag)
        if tag in sides:
            ref = child.get("specieID")
            if ref not in aliases:
                raise source.fail(f"unknown species {ref!r}", f"{where}.{tag}", "a declared <Specie> id or name")
            sid = aliases[ref]
            power = _integer_attribute(child, "power", 1, source, f"{where}.{tag}[{sid}]")
            n = _integer_attribute(child, "n", power, source, f"{where}.{tag}[{sid}]")
            if sid in sides[tag]:
                raise source.fail(f"species {sid!r} listed twice", f"{where}.{tag}", "each species once per side")
            sides[tag][sid] = n
            if power != n:
                powers[tag][sid] = power
        elif tag in ("forwardRate", "reverseRate"):
            _number(child.text, source, f"{where}.{tag}")
            rates[tag] = (child.text or "").strip()
    if "forwardRate" not in rates:
        raise source.fail("no <forwardRate>", where, "a forward rate constant")
    spec: dict[str, Any] = {"reactants": sides["Reactant"], "products": sides["Product"]}
    order = sum(powers["Reactant"].get(s, n) for s, n in sides["Reactant"].items())
    spec["forward"] = _quantity(rates["forwardRate"], rate_unit(order))
    if "reverseRate" in rates and float(rates["reverseRate"]) != 0:
        if not sides["Product"]:
            raise source.fail("a reverse rate without products", f"{where}.reverseRate", "no reverse rate")
        reverse_order = sum(powers["Product"].get(s, n) for s, n in sides["Product"].items())
        spec["reverse"] = _quantity(rates["reverseRate"], rate_unit(reverse_order))
    if powers["Reactant"]:
        spec["forward_powers"] = powers["Reactant"]
    if powers["Product"]:
        spec["reverse_powers"] = powers["Product"]
    name = _NOT_IDENTIFIER.sub("_", original).strip("_") or f"reaction{index}"
    used_names[name] = used_names.get(name, 0) + 1
    if used_names[name] > 1:
        name = f"{name}_{used_names[name]}"
    if name != original:
        spec["note"] = f"NeuroRD reaction id {original!r}"
    return name, spec


# ---------------------------------------------------------------------------------- initial conditions
def read_initial_conditions(path: str, species: Sequence[str]) -> dict[str, float]:
    """Initial concentrations (nM) of a NeuroRD ``<InitialConditions>`` file, by species id."""
    source = _Source(path, "InitialConditions")
    sets = _children(source.root, {"ConcentrationSet"}, source, "InitialConditions")
    if len(sets) != 1:
        raise source.fail(f"{len(sets)} concentration sets", "InitialConditions",
                          "exactly one <ConcentrationSet> (a single compartment)")
    values: dict[str, float] = {}
    for i, item in enumerate(_children(sets[0], {"NanoMolarity"}, source, "ConcentrationSet")):
        where = f"ConcentrationSet.NanoMolarity[{i}]"
        sid = item.get("specieID")
        if sid not in species:
            raise source.fail(f"unknown species {sid!r}", where, "a species of the reaction scheme")
        value = _number(item.get("value"), source, f"{where}.value")
        if value < 0:
            raise source.fail(f"negative concentration {value:g} nM", f"{where}.value", "a value >= 0 nM")
        values[sid] = value
    return values


# ---------------------------------------------------------------------------------- stimulation
def read_stimulation(path: str, species: Sequence[str]) -> list[dict[str, Any]]:
    """Injection entries (network ``injections`` items) of a NeuroRD ``<StimulationSet>`` file."""
    source = _Source(path, "StimulationSet")
    result = []
    for i, stim in enumerate(_children(source.root, {"InjectionStim"}, source, "StimulationSet")):
        where = f"InjectionStim[{i}]"
        sid = stim.get("specieID")
        if sid not in species:
            raise source.fail(f"injection of unknown species {sid!r}", f"{where}.specieID",
                              "a species of the reaction scheme (NeuroRD refuses this file too)")
        fields = {_local(c.tag): (c.text or "").strip() for c in _children(
            stim, {"onset", "duration", "rate", "period", "end", "interTrainInterval", "numTrains", "rates"},
            source, where)}
        if "rates" in fields:
            raise source.fail("rate tables (<rates>) are not supported", f"{where}.rates",
                              "onset, duration, rate (and optionally period, end, numTrains)")
        for key in ("onset", "duration", "rate"):
            if key not in fields:
                raise source.fail(f"no <{key}>", where, "onset, duration and rate")
        onset = _number(fields["onset"], source, f"{where}.onset")
        duration = _number(fields["duration"], source, f"{where}.duration")
        item: dict[str, Any] = {"species": sid, "onset": f"{fields['onset']} ms",
                                "duration": f"{fields['duration']} ms", "rate": f"{fields['rate']} particle/ms"}
        trains = 1
        if "numTrains" in fields:
            trains = int(_number(fields["numTrains"], source, f"{where}.numTrains"))
        gap = _number(fields["interTrainInterval"], source, f"{where}.interTrainInterval") \
            if "interTrainInterval" in fields else 0.0
        if "period" in fields:
            period = _number(fields["period"], source, f"{where}.period")
            if "end" not in fields:
                raise source.fail("a periodic injection without <end>", where, "an <end> time (ms)")
            end = _number(fields["end"], source, f"{where}.end")
            count = max(1, math.ceil((end - onset) / period - 1e-9))
            span = end - onset
            if count > 1:
                item["period"] = f"{fields['period']} ms"
                item["count"] = count
        else:
            span = duration
        if trains > 1:
            item["trains"] = trains
            item["train_interval"] = f"{_format(span + gap)} ms"
        result.append(item)
    return result


def _format(value: float) -> str:
    return f"{value:.12g}"


# ---------------------------------------------------------------------------------- volume
def read_mesh_volume(path: str) -> float:
    """Volume (µm³) of a single-element NeuroRD mesh file (``mesh_general.out``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = [line.split() for line in handle if line.strip()]
    except FileNotFoundError:
        raise ModelError("no such file", "", "a NeuroRD mesh file, or give the volume", path) from None
    if not lines or "volume" not in lines[0]:
        raise ModelError("no 'volume' column", "header", "a NeuroRD mesh file with a volume column", path)
    if len(lines) != 2:
        raise ModelError(f"{len(lines) - 1} mesh elements: multi-compartment models (diffusion) are not "
                         "supported", "", "a single-compartment mesh", path)
    return float(lines[1][lines[0].index("volume")])


# ---------------------------------------------------------------------------------- assembly
def ampa_groups(species: Iterable[str]) -> dict[str, list[str]] | None:
    """Membrane AMPA-receptor species by name (shared spine README): GluR1_memb*, of those the
    S831-phosphorylated ones (GluR1_memb*S831*), GluR2_memb*; None when there are none."""
    species = list(species)
    glur1 = [s for s in species if s.startswith("GluR1_memb")]
    glur2 = [s for s in species if s.startswith("GluR2_memb")]
    if not glur1 or not glur2:
        return None
    return {"glur1": glur1, "glur1_s831": [s for s in glur1 if "S831" in s], "glur2": glur2}


_GLUR1_S831P = ["GluR1_S831", "GluR1_S845_S831", "GluR1_S831_PKAc", "GluR1_S845_S831_PP1", "GluR1_S831_PP1",
                 "GluR1_S845_S831_PP2B", "GluR1_memb_S831", "GluR1_memb_S845_S831", "GluR1_memb_S831_PKAc",
                 "GluR1_memb_S845_S831_PP1", "GluR1_memb_S831_PP1", "GluR1_memb_S845_S831_PP2B"]
_GLUR1_S845P = ["GluR1_S845", "GluR1_S845_S831", "GluR1_S845_CKCam", "GluR1_S845_CKpCam", "GluR1_S845_CKp",
                "GluR1_S845_PKCt", "GluR1_S845_PKCp", "GluR1_S845_PP1", "GluR1_S845_S831_PP1", "GluR1_S845_PP2B",
                "GluR1_S845_S831_PP2B", "GluR1_memb_S845", "GluR1_memb_S845_S831", "GluR1_memb_S845_CKCam",
                "GluR1_memb_S845_CKpCam", "GluR1_memb_S845_CKp", "GluR1_memb_S845_PKCt", "GluR1_memb_S845_PKCp",
                "GluR1_memb_S845_PP1", "GluR1_memb_S845_S831_PP1", "GluR1_memb_S845_PP2B", "GluR1_memb_S845_S831_PP2B"]

#: summed read-outs added when all their species exist: the quantities the paper plots (Maki-Marttunen et
#: al. 2020, Fig. 3; species lists from its figure script NEURON/drawfig3.py, ModelDB 260971), named as in
#: its panels.  CaMKII_phospho is the paper's "activated CaMKII" (CKp + CKpCaMCa4); CaMKII_active also
#: counts the CaM-bound unphosphorylated form.
PAPER_READOUTS = {
    "CaMKII_active": ["CKCaMCa4", "CKpCaMCa4", "CKp"],
    "CaMKII_phospho": ["CKp", "CKpCaMCa4"],
    "CaMCa4_total": ["AC1GsaGTPCaMCa4", "AC1GsaGTPCaMCa4ATP", "AC1GiaGTPCaMCa4", "AC1GiaGTPCaMCa4ATP",
                     "AC1GsaGTPGiaGTPCaMCa4", "AC1GsGiCaMCa4ATP", "AC1CaMCa4", "AC1CaMCa4ATP", "AC8CaMCa4",
                     "AC8CaMCa4ATP", "PDE1CaMCa4", "PDE1CaMCa4cAMP", "CaMCa4", "PP2BCaMCa4", "CKCaMCa4", "CKpCaMCa4",
                     "CKpCaMCa4PP1", "Ip35PP2BCaMCa4", "Ip35PP1PP2BCaMCa4", "PP1PP2BCaMCa4"],
    "PKA_active": ["PKAc"],
    "PKC_active": ["PKCt", "PKCp"],
    "Gs_active": ["GsaGTP", "AC1GsaGTP", "AC1GsaGTPCaMCa4"],
    "Gi_active": ["GiaGTP", "AC1GiaGTP", "AC1GiaGTPCaMCa4"],
    "Gq_active": ["GqaGTP", "PLCGqaGTP", "PLCCaGqaGTP", "PLCCaGqaGTPPip2"],
    "L_total": ["L", "LR", "LRGs", "PKAcLR", "PKAcpLR", "PKAcppLR", "PKAcpppLR", "pLR", "ppLR", "pppLR", "ppppLR",
                "ppppLRGi", "ppppLRGibg", "LRGsbg"],
    "Glu_total": ["Glu", "MGluR_Glu", "MGluR_Gqabg_Glu"],
    "ACh_total": ["ACh", "AChM1R", "AChM1RGq"],
    "GluR1_S831p": _GLUR1_S831P,
    "GluR1_S845p": _GLUR1_S845P,
    "GluR1_S845_S831p": [s for s in _GLUR1_S845P if s in _GLUR1_S831P],
    "GluR2_S880p": ["GluR2_S880", "GluR2_S880_PP2A", "GluR2_memb_S880", "GluR2_memb_S880_PP2A"],
}


#: read-outs recorded by default (when they exist), besides Ca: plasticity and the kinases
DEFAULT_RECORDED = ("GluR1_memb_total", "GluR1_memb_S831p", "GluR2_memb_total", "g_ampa", "CaMKII_active",
                    "CaMKII_phospho", "PKA_active", "PKC_active")


def receptor_and_kinase_readouts(species: Iterable[str]) -> dict[str, Any]:
    """Read-outs by species name: membrane GluR1 (total and S831-phosphorylated) and membrane GluR2 in
    nM and as molecule counts (``_N``), and the AMPA conductance g_ampa, when the receptor species
    exist; the read-outs of :data:`PAPER_READOUTS` whose species all exist."""
    species = list(species)
    readouts: dict[str, Any] = {}
    groups = ampa_groups(species)
    if groups:
        readouts["GluR1_memb_total"] = {"sum": groups["glur1"]}
        readouts["GluR1_memb_S831p"] = {"sum": groups["glur1_s831"]}
        readouts["GluR2_memb_total"] = {"sum": groups["glur2"]}
        readouts["GluR1_memb_N"] = {"sum": groups["glur1"], "unit": "particles"}
        readouts["GluR1_memb_S831p_N"] = {"sum": groups["glur1_s831"], "unit": "particles"}
        readouts["GluR2_memb_N"] = {"sum": groups["glur2"], "unit": "particles"}
        readouts["g_ampa"] = {"ampa_conductance": groups,
                              "conductances": {k: f"{v} pS" for k, v in DEFAULT_AMPA_CONDUCTANCES.items()}}
    for name, members in PAPER_READOUTS.items():
        if all(m in species for m in members):
            readouts[name] = {"sum": members}
    return readouts


def import_neurord(reactions: str, initial: str, stimulation: str | None = None, *, volume: str | None = None,
                   duration: str = "1000 ms", dt: str = "1 ms", interval: str = "1000 ms",
                   name: str | None = None, network_name: str = "spine", keep_species: Sequence[str] | None = None,
                   record: Sequence[str] | None = None, description: str = "", protocol: str | None = None,
                   protocol_note: str = "", recordings: dict[str, Any] | None = None,
                   variants: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build a model description dict from NeuroRD files.

    ``volume`` (e.g. ``"0.5 um**3"``) defaults to the ``mesh_general.out`` next to ``reactions``;
    ``keep_species`` restricts the network to those species and the reactions among them;
    ``record`` lists the recorded variables (default: ``Ca`` if present plus the read-outs of
    :data:`DEFAULT_RECORDED`, or every read-out when none of those exists);
    ``protocol`` (a name) groups the co-timed injections into one ``network.protocol`` block (with
    ``protocol_note`` as its note); ``recordings`` adds more recordings (e.g. a window over the
    stimulation) and ``variants`` a ``variants:`` section (:mod:`bridge.model.variants`), both as given.
    """
    species, scheme = read_reactions(reactions)
    initial_values = read_initial_conditions(initial, species)
    injections = read_stimulation(stimulation, species) if stimulation else []
    if volume is None:
        volume = f"{_format(read_mesh_volume(os.path.join(os.path.dirname(reactions) or '.', 'mesh_general.out')))} um**3"
    notes = []
    if keep_species is not None:
        unknown = [s for s in keep_species if s not in species]
        if unknown:
            raise ModelError(f"unknown species {unknown[0]!r}", "--species", "species of the reaction scheme",
                             reactions)
        kept = set(keep_species)
        species = [s for s in species if s in kept]
        scheme = [(n, r) for n, r in scheme if set(r["reactants"]) | set(r["products"]) <= kept]
        injections = [i for i in injections if i["species"] in kept]
        notes.append(f"Sub-network: the {len(species)} listed species and the {len(scheme)} reactions among them.")
    missing = [s for s in species if s not in initial_values]
    if missing:
        notes.append("No initial condition (0 nM, as in NeuroRD): " + ", ".join(missing) + ".")
    readouts = receptor_and_kinase_readouts(species)
    default = [r for r in readouts if r in DEFAULT_RECORDED] or list(readouts)
    variables = list(record) if record else (["Ca"] if "Ca" in species else []) + default
    network: dict[str, Any] = {
        "name": network_name,
        "volume": volume,
        "species": {s: f"{_format(initial_values.get(s, 0.0))} nM" for s in species},
        "reactions": dict(scheme),
    }
    if injections and protocol:
        network["protocol"] = group_protocol(injections, protocol, stimulation or "", protocol_note)
    elif injections:
        network["injections"] = {f"{i['species']}_{k}": i for k, i in enumerate(injections)}
    if readouts:
        network["readouts"] = readouts
    files = ", ".join(os.path.basename(p) for p in (reactions, initial, stimulation) if p)
    text = "\n".join(filter(None, [description.strip(), f"Imported from NeuroRD ({files}) by bridge import-neurord.",
                                   *notes]))
    document = {
        "name": name or os.path.splitext(os.path.basename(stimulation or reactions))[0],
        "description": text,
        "simulation": {"duration": duration, "dt": dt},
        "network": network,
        "recordings": {"network": {"population": network_name, "variables": variables, "interval": interval},
                       **(recordings or {})},
    }
    if variants:
        document["variants"] = variants
    return document


_TIMING = ("onset", "duration", "period", "count", "trains", "train_interval")


def _ms(text: str) -> float:
    """The number of a ``"<number> ms"`` string written by :func:`read_stimulation`."""
    return float(text.split()[0])


def group_protocol(injections: list[dict[str, Any]], name: str, source: str, note: str = "") -> dict[str, Any]:
    """One ``network.protocol`` block from injection entries that share their timing (onset, duration,
    period, count, trains, train_interval); their rates become the protocol's ``fluxes``."""
    first = injections[0]
    for item in injections[1:]:
        for key in _TIMING:
            if item.get(key) != first.get(key):
                raise ModelError(f"injections of {first['species']} and {item['species']} differ in {key} "
                                 f"({first.get(key)} vs {item.get(key)}): no common protocol", "StimulationSet",
                                 "co-timed injections (or no protocol name)", source)
    pulses = int(first.get("count", 1))
    duration = _ms(first["duration"])
    block: dict[str, Any] = {"name": name, "onset": first["onset"], "pulses": pulses}
    if pulses > 1:
        period = _ms(first["period"])
        frequency = _format(1000.0 / period)
        if 1000.0 / float(frequency) == period:
            block["frequency"] = f"{frequency} Hz"
        else:
            block["period"] = first["period"]
    block["pulse_duration"] = first["duration"]
    trains = int(first.get("trains", 1))
    if trains > 1:
        span = (pulses - 1) * (_ms(first["period"]) if pulses > 1 else 0.0) + duration
        block["trains"] = trains
        block["train_gap"] = f"{_format(_ms(first['train_interval']) - span)} ms"
    block["fluxes"] = {item["species"]: item["rate"] for item in injections}
    if note:
        block["note"] = note
    return block


def _scalar(value: Any) -> str:
    """One YAML scalar or flow collection on one line."""
    return yaml.safe_dump([value], default_flow_style=True, width=10**9, allow_unicode=True,
                          sort_keys=False).strip()[1:-1]


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line if line.strip() else line for line in text.splitlines(True))


def dump(document: dict[str, Any]) -> str:
    """YAML text of an imported description: block style, one line per species, reaction and
    injection (flow mappings), so that diffs of regenerated files stay readable."""
    head = {k: document[k] for k in ("name", "description") if k in document}
    text = yaml.safe_dump(head, sort_keys=False, width=100, allow_unicode=True)
    text += f"simulation: {_scalar(document['simulation'])}\n"
    network = document["network"]
    text += "network:\n"
    for key in ("name", "volume"):
        text += f"  {key}: {_scalar(network[key])}\n"
    for section in ("species", "reactions", "injections"):
        if section in network:
            text += f"  {section}:\n" + "".join(f"    {_scalar(k)}: {_scalar(v)}\n"
                                                for k, v in network[section].items())
    if "protocol" in network:
        text += _indent(yaml.safe_dump({"protocol": network["protocol"]}, sort_keys=False,
                                       default_flow_style=None, width=100, allow_unicode=True), 2)
    if "readouts" in network:
        text += _indent(yaml.safe_dump({"readouts": network["readouts"]}, sort_keys=False,
                                       default_flow_style=None, width=100), 2)
    rest = {k: v for k, v in document.items() if k not in ("name", "description", "simulation", "network")}
    text += yaml.safe_dump(rest, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    return text


# ---------------------------------------------------------------------------------- manifest
def regenerate(manifest: str, check: bool = False) -> list[str]:
    """Re-import every model listed in ``manifest`` (YAML: output file -> import arguments, paths
    relative to the manifest); write them, or with ``check`` return the names of stale ones."""
    base = os.path.dirname(os.path.abspath(manifest))
    with open(manifest, encoding="utf-8") as handle:
        entries = yaml.safe_load(handle)
    stale = []
    for output, spec in entries.items():
        spec = dict(spec)
        files = [os.path.join(base, spec.pop(k)) if spec.get(k) else None
                 for k in ("reactions", "initial", "stimulation")]
        text = dump(import_neurord(*files, **spec))
        target = os.path.join(base, output)
        current = open(target, encoding="utf-8").read() if os.path.exists(target) else None
        if current != text:
            stale.append(output)
            if not check:
                from ..outputs import atomic_file

                with atomic_file(target, "w", encoding="utf-8") as handle:
                    handle.write(text)
    return stale


if __name__ == "__main__":  # python -m bridge.model.neurord MANIFEST [--check]
    import sys

    outdated = regenerate(sys.argv[1], check="--check" in sys.argv[2:])
    print("\n".join(outdated) or "up to date")
    sys.exit(1 if outdated and "--check" in sys.argv[2:] else 0)
