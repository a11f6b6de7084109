"""Validate the ``network:`` section of a model description and build a :class:`ReactionNetwork`.

The section describes a well-mixed mass-action reaction network in one compartment::

    network:
      name: spine                  # owner in recording keys "spine.Ca"; default "network"
      volume: 0.5 um**3
      species: {Ca: 50 nM, CaM: 5 uM, CaMCa4: 0 nM}
      reactions:                   # a mapping name -> reaction, or a list of reactions with 'name'
        CaM_bind: {reactants: {CaM: 1, Ca: 4}, products: {CaMCa4: 1},
                   forward: 1e-20 1/(nM**4*ms), reverse: 0.01 1/ms}
        PKA_diss: {reactants: {PKAcAMP4: 1}, products: {PKAr: 1, PKAc: 2},
                   forward: 0.00024 1/ms, reverse: 2.55e-05 1/(nM*ms), reverse_powers: {PKAc: 1}}
      injections:                  # constant-rate pulses [onset, onset + duration)
        ca: {species: Ca, onset: 1000 ms, duration: 3 ms, rate: 1900 particle/ms,
             period: 10 ms, count: 100, trains: 4, train_interval: 4000 ms}
      protocol:                    # pulses injecting several species together (see _protocol)
        name: 4xHFS
        onset: 4040000 ms
        pulses: 100                # per train
        frequency: 100 Hz          # or period: 10 ms
        pulse_duration: 3 ms
        trains: 4
        train_gap: 3007 ms         # end of a train to the next onset; or train_interval (onset to onset)
        fluxes: {Ca: 1900 particle/ms, L: 10 particle/ms}
      readouts:
        CaM_bound: {sum: {CaMCa4: 1, CaM: 0}}          # weighted sum of species (nM)
        GluR2_memb_N: {sum: [GluR2_memb], unit: particles}   # the same as a number of molecules
        g_ampa: {ampa_conductance: {glur1: [...], glur1_s831: [...], glur2: [...]}}   # pS

Rate constants carry units matching the order of their rate law (the sum of the exponents, which
are the stoichiometries unless ``forward_powers``/``reverse_powers`` say otherwise): order ``n``
needs concentration^(1-n)/time; ``scale`` (both directions), ``forward_scale`` and
``reverse_scale`` multiply them (numbers >= 0; 0 blocks a reaction), so that a sweep can reach a rate
by ``network.reactions.NAME.scale``.  Injection rates are concentration/time or amount/time
(``particle/ms``, converted with the volume).  An injection or protocol flux of rate 0 injects
nothing but keeps the species injectable (:attr:`ReactionNetwork.silent_injections`), so that a
control run shares the stimulated run's generated code.  Every error names the file, the field
path, the value and what was expected.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

from ..catalog.names import object_problem
from .checker import Checker
from .description import Recording
from ..errors import ModelError
from ..limits import BYTES_PER_PULSE, BYTES_PER_SAMPLE
from .reactions import NM_UM3_TO_PARTICLES, Injection, Protocol, Reaction, ReactionNetwork, Readout
from ..units import QuantityError, parse

_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_SECTION_KEYS = {"name", "volume", "species", "reactions", "injections", "protocol", "readouts"}
_SCALES = ("scale", "forward_scale", "reverse_scale")
_REACTION_KEYS = {"name", "reactants", "products", "forward", "reverse", "forward_powers", "reverse_powers",
                  "note", *_SCALES}
_PROTOCOL_KEYS = {"name", "onset", "pulses", "frequency", "period", "pulse_duration", "trains", "train_interval",
                  "train_gap", "fluxes", "note"}
_INJECTION_KEYS = {"species", "onset", "duration", "rate", "period", "count", "trains", "train_interval"}
#: unit conductances (pS) of the tetramer classes, from the shared spine README (Mäki-Marttunen 2020)
DEFAULT_AMPA_CONDUCTANCES = {"glur1": 12.4, "glur1_s831": 18.9, "glur2": 2.2, "hetero": 2.5}
_AMPA_GROUPS = ("glur1", "glur1_s831", "glur2")


def rate_unit(order: int) -> str:
    """Internal unit of a rate constant of a rate law of ``order``: nM^(1-order)/ms."""
    if order == 0:
        return "nM/ms"
    if order == 1:
        return "1/ms"
    if order == 2:
        return "1/(nM*ms)"
    return f"1/(nM**{order - 1}*ms)"


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def parse_network(spec: Any, check: Checker, dt: float) -> ReactionNetwork:
    """Validate the ``network`` section ``spec`` and return the network (nM, ms, µm³).

    ``dt`` (ms) is the model's time step: injection times must lie on its grid.
    """
    spec = check.mapping(spec, "network", "a mapping with volume, species and reactions")
    check.keys(spec, _SECTION_KEYS, "network")
    name = spec.get("name", "network")
    if object_problem(name):
        raise check.fail(object_problem(name), "network.name", "a name of letters, digits and '_' starting with a letter")
    if "volume" not in spec:
        raise check.fail("missing 'volume'", "network.volume", "a volume such as '0.5 um**3'")
    volume = check.quantity(spec["volume"], "um**3", "network.volume")
    if not volume > 0:
        raise check.fail(f"{spec['volume']!r} is not positive", "network.volume", "a volume > 0 um**3")
    species = _species(check.mapping(spec.get("species"), "network.species"), check)
    reactions = _reactions(spec.get("reactions"), species, check)
    injections: list[Injection] = []
    silent: list[str] = []
    for key, item in check.mapping(spec.get("injections"), "network.injections").items():
        pulses = _injection(str(key), check.mapping(item, f"network.injections.{key}"), species, volume, dt, check)
        injections += [p for p in pulses if p.rate != 0]
        silent += [p.species for p in pulses if p.rate == 0]
    protocol = None
    if spec.get("protocol") is not None:
        protocol = _protocol(check.mapping(spec["protocol"], "network.protocol"), species, volume, check)
        injections += protocol.injections()
        silent += [s for s, rate in protocol.fluxes.items() if rate == 0]
    readouts = {str(key): _readout(str(key), check.mapping(item, f"network.readouts.{key}"), species, check)
                for key, item in check.mapping(spec.get("readouts"), "network.readouts").items()}
    return ReactionNetwork(name=name, species=species, reactions=reactions, volume=volume,
                           injections=injections, readouts=readouts, protocol=protocol,
                           silent_injections=tuple(dict.fromkeys(silent)))


def _species(spec: Mapping[str, Any], check: Checker) -> dict[str, float]:
    if not spec:
        raise check.fail("no species", "network.species", "a mapping of species names to initial concentrations")
    species: dict[str, float] = {}
    for key, value in spec.items():
        path = f"network.species.{key}"
        if not isinstance(key, str) or not _NAME.match(key):
            raise check.fail(f"{key!r} is not a valid species name", path, "letters, digits and '_'")
        species[key] = check.quantity(value, "nM", path)
        if species[key] < 0:
            raise check.fail(f"{value!r} is negative", path, "an initial concentration >= 0 nM")
    return species


def _reactions(spec: Any, species: Mapping[str, float], check: Checker) -> list[Reaction]:
    if isinstance(spec, list):
        items = []
        for i, item in enumerate(spec):
            item = check.mapping(item, f"network.reactions[{i}]", "a reaction mapping with 'name'")
            if "name" not in item:
                raise check.fail("missing 'name'", f"network.reactions[{i}].name", "a reaction name")
            items.append((str(item["name"]), item, f"network.reactions[{i}]"))
    else:
        items = [(str(k), check.mapping(v, f"network.reactions.{k}"), f"network.reactions.{k}")
                 for k, v in check.mapping(spec, "network.reactions").items()]
    seen: set[str] = set()
    reactions = []
    for name, item, path in items:
        if not _NAME.match(name):
            raise check.fail(f"{name!r} is not a valid reaction name", path, "letters, digits and '_'")
        if name in seen:
            raise check.fail(f"duplicate reaction name {name!r}", f"{path}.name" if "name" in item else path,
                             "unique reaction names")
        seen.add(name)
        reactions.append(_reaction(name, item, species, check, path))
    return reactions


def _stoichiometry(value: Any, species: Mapping[str, float], check: Checker, path: str) -> dict[str, int]:
    value = check.mapping(value, path, "a mapping of species to integer stoichiometries, e.g. {Ca: 2}")
    result = {}
    for key, n in value.items():
        if key not in species:
            raise check.fail(f"unknown species {key!r}", f"{path}.{key}", "a species declared in network.species")
        result[str(key)] = check.integer(n, f"{path}.{key}", minimum=1)
    return result


def _powers(value: Any, side: Mapping[str, int], check: Checker, path: str) -> dict[str, int]:
    value = check.mapping(value, path, "a mapping of species to rate-law exponents")
    result = {}
    for key, p in value.items():
        if key not in side:
            raise check.fail(f"{key!r} is not on this side of the reaction", f"{path}.{key}",
                             "one of " + (", ".join(side) or "no species"))
        result[str(key)] = check.integer(p, f"{path}.{key}", minimum=1)
    return result


def _rate_constant(value: Any, order: int, side: Mapping[str, int], check: Checker, path: str) -> float:
    """Parse a rate constant whose unit must be concentration^(1-order)/time."""
    terms = " + ".join(f"{k}{'^' + str(p) if p != 1 else ''}" for k, p in side.items()) or "nothing"
    unit = rate_unit(order)
    expected = (f"the rate constant of a {_ordinal(order)}-order rate law ({terms}) in "
                f"concentration^{1 - order}/time, e.g. '1 {unit}'") if order else \
        f"a zero-order rate constant in concentration/time, e.g. '1 {unit}'"
    try:
        number = check.quantity(value, unit, path)
    except ModelError as exc:
        raise check.fail(exc.message, path, expected) from None
    if number < 0:
        raise check.fail(f"{value!r} is negative", path, "a rate constant >= 0")
    return number


def _reaction(name: str, spec: Mapping[str, Any], species: Mapping[str, float], check: Checker,
              path: str) -> Reaction:
    check.keys(spec, _REACTION_KEYS, path)
    reactants = _stoichiometry(spec.get("reactants"), species, check, f"{path}.reactants")
    products = _stoichiometry(spec.get("products"), species, check, f"{path}.products")
    if not reactants and not products:
        raise check.fail("no reactants and no products", path, "at least one reactant or product")
    forward_powers = _powers(spec.get("forward_powers"), reactants, check, f"{path}.forward_powers")
    reverse_powers = _powers(spec.get("reverse_powers"), products, check, f"{path}.reverse_powers")
    draft = Reaction(name, reactants, products, 0.0, 0.0, forward_powers, reverse_powers)
    if "forward" not in spec:
        raise check.fail("missing 'forward'", f"{path}.forward",
                         f"a rate constant in {rate_unit(draft.order)}-compatible units")
    forward = _rate_constant(spec["forward"], draft.order, draft.forward_exponents, check, f"{path}.forward")
    reverse = 0.0
    if spec.get("reverse") is not None:
        if not products:
            raise check.fail("a reverse rate without products", f"{path}.reverse",
                             "no reverse rate for a degradation reaction")
        reverse = _rate_constant(spec["reverse"], draft.reverse_order, draft.reverse_exponents, check,
                                 f"{path}.reverse")
    factors = {}
    for key in _SCALES:
        factors[key] = check.quantity(spec.get(key, 1.0), "1", f"{path}.{key}")
        if not factors[key] >= 0:
            raise check.fail(f"{spec.get(key)!r} is negative", f"{path}.{key}", "a factor >= 0 (0 blocks the reaction)")
    forward *= factors["scale"] * factors["forward_scale"]
    reverse *= factors["scale"] * factors["reverse_scale"]
    return Reaction(name, reactants, products, forward, reverse, forward_powers, reverse_powers)


def _injection_rate(value: Any, volume: float, check: Checker, path: str) -> float:
    """An injection rate in nM/ms from concentration/time or amount/time (particle/ms)."""
    expected = "a rate in concentration/time ('2 uM/ms') or amount/time ('1900 particle/ms')"
    if isinstance(value, str):
        try:
            quantity = parse(value)
        except QuantityError as exc:
            raise check.fail(f"cannot read {value!r} as a quantity ({exc})", path, expected) from None
        if quantity.check("[substance]/[time]"):
            particles_per_ms = float(quantity.to("particle/ms").magnitude)
            return particles_per_ms / (NM_UM3_TO_PARTICLES * volume)
    try:
        return check.quantity(value, "nM/ms", path)
    except ModelError as exc:
        raise check.fail(exc.message, path, expected) from None


def _injection(name: str, spec: Mapping[str, Any], species: Mapping[str, float], volume: float, dt: float,
               check: Checker) -> list[Injection]:
    """Expand one injection entry (a pulse, a train of ``count`` pulses every ``period``, or
    ``trains`` such trains every ``train_interval``) into :class:`Injection` pulses."""
    path = f"network.injections.{name}"
    check.keys(spec, _INJECTION_KEYS, path)
    target = spec.get("species")
    if not isinstance(target, str) or target not in species:
        raise check.fail(f"unknown species {target!r}", f"{path}.species", "a species declared in network.species")
    for key in ("onset", "duration", "rate"):
        if key not in spec:
            raise check.fail(f"missing {key!r}", f"{path}.{key}", "onset, duration and rate")
    onset = check.quantity(spec["onset"], "ms", f"{path}.onset")
    duration = check.quantity(spec["duration"], "ms", f"{path}.duration")
    if onset < 0:
        raise check.fail(f"{spec['onset']!r} is negative", f"{path}.onset", "an onset >= 0 ms")
    if not duration > 0:
        raise check.fail(f"{spec['duration']!r} is not positive", f"{path}.duration", "a duration > 0 ms")
    rate = _injection_rate(spec["rate"], volume, check, f"{path}.rate")
    count = check.integer(spec.get("count", 1), f"{path}.count", minimum=1)
    trains = check.integer(spec.get("trains", 1), f"{path}.trains", minimum=1)
    period = _spacing(spec, "period", count, duration, check, path)
    train_interval = _spacing(spec, "train_interval", trains, (count - 1) * period + duration, check, path)
    for key, value in (("onset", onset), ("duration", duration), ("period", period),
                       ("train_interval", train_interval)):
        check.on_grid(value, dt, f"{path}.{key}")
    check.budget.add("pulses", trains * count, BYTES_PER_PULSE, f"{path}.count", f"{trains} x {count} pulses")
    return [Injection(target, onset + t * train_interval + k * period, duration, rate)
            for t in range(trains) for k in range(count)]


def _spacing(spec: Mapping[str, Any], key: str, repeats: int, span: float, check: Checker, path: str) -> float:
    """``period`` / ``train_interval``: required when repeating, longer than what it repeats."""
    if key not in spec:
        if repeats > 1:
            raise check.fail(f"missing {key!r} for {repeats} repetitions", f"{path}.{key}", "a time such as '10 ms'")
        return 0.0
    value = check.quantity(spec[key], "ms", f"{path}.{key}")
    if repeats > 1 and not value > span:
        raise check.fail(f"{spec[key]!r} does not exceed what it repeats ({span:g} ms)", f"{path}.{key}",
                         f"a time > {span:g} ms (repetitions must not overlap)")
    return value


def _protocol(spec: Mapping[str, Any], species: Mapping[str, float], volume: float, check: Checker) -> Protocol:
    """The ``network.protocol`` block: ``trains`` trains of ``pulses`` pulses of ``pulse_duration``
    at ``frequency`` (or every ``period``), trains every ``train_interval`` (onset to onset) or
    ``train_gap`` after the end of the previous train, from ``onset``; every species of ``fluxes`` is
    injected at its rate during every pulse.  Pulse times need not lie on the dt grid (the fixed-step
    backends refuse them when they do not)."""
    path = "network.protocol"
    check.keys(spec, _PROTOCOL_KEYS, path)
    for key in ("onset", "pulse_duration", "fluxes"):
        if key not in spec:
            raise check.fail(f"missing {key!r}", f"{path}.{key}", "onset, pulse_duration and fluxes")
    name = str(spec.get("name", "protocol"))
    onset = check.quantity(spec["onset"], "ms", f"{path}.onset")
    if onset < 0:
        raise check.fail(f"{spec['onset']!r} is negative", f"{path}.onset", "an onset >= 0 ms")
    duration = check.quantity(spec["pulse_duration"], "ms", f"{path}.pulse_duration")
    if not duration > 0:
        raise check.fail(f"{spec['pulse_duration']!r} is not positive", f"{path}.pulse_duration",
                         "a pulse duration > 0 ms")
    pulses = check.integer(spec.get("pulses", 1), f"{path}.pulses", minimum=1)
    trains = check.integer(spec.get("trains", 1), f"{path}.trains", minimum=1)
    fluxes_given = spec["fluxes"] if isinstance(spec["fluxes"], dict) else {}
    check.budget.add("pulses", trains * pulses * max(1, len(fluxes_given)), BYTES_PER_PULSE, f"{path}.pulses",
                     f"{trains} trains of {pulses} pulses of {max(1, len(fluxes_given))} species")
    period = _pulse_period(spec, pulses, duration, check, path)
    span = (pulses - 1) * period + duration
    train_interval = _train_interval(spec, trains, span, check, path)
    fluxes_spec = check.mapping(spec["fluxes"], f"{path}.fluxes", "a mapping of species to injection rates")
    if not fluxes_spec:
        raise check.fail("no fluxes", f"{path}.fluxes", "at least one species: rate (e.g. Ca: 1900 particle/ms)")
    fluxes = {}
    for key, value in fluxes_spec.items():
        if key not in species:
            raise check.fail(f"unknown species {key!r}", f"{path}.fluxes.{key}", "a species declared in network.species")
        fluxes[str(key)] = _injection_rate(value, volume, check, f"{path}.fluxes.{key}")
        if fluxes[str(key)] < 0:
            raise check.fail(f"{value!r} is negative", f"{path}.fluxes.{key}", "a rate >= 0 (0: not injected)")
    return Protocol(name, onset, pulses, period, duration, trains, train_interval, fluxes)


def _pulse_period(spec: Mapping[str, Any], pulses: int, duration: float, check: Checker, path: str) -> float:
    """Pulse period (ms) from ``frequency`` or ``period`` (exactly one when ``pulses`` > 1)."""
    given = [k for k in ("frequency", "period") if spec.get(k) is not None]
    if len(given) > 1:
        raise check.fail("both 'frequency' and 'period' given", f"{path}.period", "one of them")
    if not given:
        if pulses > 1:
            raise check.fail(f"missing 'frequency' for {pulses} pulses", f"{path}.frequency", "a frequency such as '100 Hz'")
        return 0.0
    key = given[0]
    if key == "frequency":
        frequency = check.quantity(spec[key], "Hz", f"{path}.frequency")
        if not frequency > 0:
            raise check.fail(f"{spec[key]!r} is not positive", f"{path}.frequency", "a frequency > 0 Hz")
        period = 1000.0 / frequency
    else:
        period = check.quantity(spec[key], "ms", f"{path}.period")
    if pulses > 1 and not period > duration:
        raise check.fail(f"{spec[key]!r} gives pulses every {period:g} ms, not longer than a pulse ({duration:g} ms)",
                         f"{path}.{key}", f"pulses that do not overlap: a period > {duration:g} ms")
    return period


def _train_interval(spec: Mapping[str, Any], trains: int, span: float, check: Checker, path: str) -> float:
    """Train onset-to-onset interval (ms) from ``train_interval`` or ``train_gap`` (end of a train's
    last pulse to the next onset); exactly one when ``trains`` > 1."""
    given = [k for k in ("train_interval", "train_gap") if spec.get(k) is not None]
    if len(given) > 1:
        raise check.fail("both 'train_interval' and 'train_gap' given", f"{path}.train_gap", "one of them")
    if not given:
        if trains > 1:
            raise check.fail(f"missing 'train_interval' for {trains} trains", f"{path}.train_interval",
                             "a time such as '4000 ms' (onset to onset), or train_gap")
        return 0.0
    key = given[0]
    value = check.quantity(spec[key], "ms", f"{path}.{key}")
    interval = value if key == "train_interval" else span + value
    if key == "train_gap" and value < 0:
        raise check.fail(f"{spec[key]!r} is negative", f"{path}.train_gap", "a gap >= 0 ms")
    if trains > 1 and not interval > span:
        raise check.fail(f"{spec[key]!r} does not exceed a train ({span:g} ms)", f"{path}.{key}",
                         f"an interval > {span:g} ms (trains must not overlap; or use train_gap)")
    return interval


def _species_list(value: Any, species: Mapping[str, float], check: Checker, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise check.fail(f"{value!r} is not a list of species", path, "a non-empty list of species names")
    for i, name in enumerate(value):
        if not isinstance(name, str) or name not in species:
            raise check.fail(f"unknown species {name!r}", f"{path}[{i}]", "a species declared in network.species")
    return tuple(value)


def _readout(name: str, spec: Mapping[str, Any], species: Mapping[str, float], check: Checker) -> Readout:
    path = f"network.readouts.{name}"
    if not _NAME.match(name):
        raise check.fail(f"{name!r} is not a valid name", path, "letters, digits and '_'")
    if name in species:
        raise check.fail(f"read-out {name!r} has the name of a species", path, "a name distinct from every species")
    kinds = [k for k in ("sum", "ampa_conductance") if k in spec]
    if len(kinds) != 1:
        raise check.fail("needs exactly one of 'sum' and 'ampa_conductance'", path,
                         "{sum: {species: weight, ...}} or {ampa_conductance: {glur1: [...], glur1_s831: [...], "
                         "glur2: [...]}}")
    if kinds[0] == "sum":
        check.keys(spec, {"sum", "unit"}, path)
        unit = spec.get("unit", "nM")
        if unit not in ("nM", "particles"):
            raise check.fail(f"unknown unit {unit!r}", f"{path}.unit", "nM (concentration) or particles (molecules)")
        terms_spec = spec["sum"]
        if isinstance(terms_spec, list):
            terms = {s: 1.0 for s in _species_list(terms_spec, species, check, f"{path}.sum")}
        else:
            terms = {}
            for key, weight in check.mapping(terms_spec, f"{path}.sum").items():
                if key not in species:
                    raise check.fail(f"unknown species {key!r}", f"{path}.sum.{key}",
                                     "a species declared in network.species")
                terms[str(key)] = check.quantity(weight, "1", f"{path}.sum.{key}")
            if not terms:
                raise check.fail("an empty sum", f"{path}.sum", "at least one species")
        return Readout(name, "sum", terms=terms, particles=unit == "particles")
    check.keys(spec, {"ampa_conductance", "conductances"}, path)
    groups_spec = check.mapping(spec["ampa_conductance"], f"{path}.ampa_conductance")
    check.keys(groups_spec, _AMPA_GROUPS, f"{path}.ampa_conductance")
    groups = {}
    for group in _AMPA_GROUPS:
        if group not in groups_spec:
            raise check.fail(f"missing {group!r}", f"{path}.ampa_conductance.{group}", "a list of membrane species")
        groups[group] = _species_list(groups_spec[group], species, check, f"{path}.ampa_conductance.{group}")
    stray = [s for s in groups["glur1_s831"] if s not in groups["glur1"]]
    if stray:
        raise check.fail(f"{stray[0]!r} is in glur1_s831 but not in glur1", f"{path}.ampa_conductance.glur1_s831",
                         "S831-phosphorylated species that are also listed in glur1")
    given = check.mapping(spec.get("conductances"), f"{path}.conductances")
    check.keys(given, DEFAULT_AMPA_CONDUCTANCES, f"{path}.conductances")
    conductances = {k: check.quantity(given[k], "pS", f"{path}.conductances.{k}") if k in given else v
                    for k, v in DEFAULT_AMPA_CONDUCTANCES.items()}
    return Readout(name, "ampa_conductance", groups=groups, conductances=conductances)


def network_recording(name: str, spec: Mapping[str, Any], network: ReactionNetwork, dt: float,
                      check: Checker) -> Recording:
    """A recording of species and read-outs of ``network`` (``population: <network name>``)."""
    path = f"recordings.{name}"
    check.keys(spec, {"population", "variables", "interval", "indices", "start", "stop"}, path)
    variables = spec.get("variables", [])
    if isinstance(variables, str):
        variables = [variables]
    if not isinstance(variables, list) or not variables:
        raise check.fail(f"{variables!r} records nothing", f"{path}.variables",
                         "a list of species and read-out names of the network")
    known = set(network.species) | set(network.readouts)
    for i, variable in enumerate(variables):
        if not isinstance(variable, str) or variable not in known:
            raise check.fail(f"network {network.name!r} has no species or read-out {variable!r}",
                             f"{path}.variables[{i}]", "a species or read-out name")
    if spec.get("indices") not in (None, "all", [0]):
        raise check.fail(f"{spec.get('indices')!r} is not a valid index list", f"{path}.indices",
                         "'all' or [0] (a network is one compartment)")
    interval = check.quantity(spec.get("interval", f"{dt} ms"), "ms", f"{path}.interval")
    if interval < dt * (1 - 1e-6):
        raise check.fail(f"interval {interval:g} ms is below the time step", f"{path}.interval", f">= dt = {dt:g} ms")
    check.on_grid(interval, dt, f"{path}.interval")
    start = check.quantity(spec.get("start", "0 ms"), "ms", f"{path}.start")
    if start < 0:
        raise check.fail(f"{spec.get('start')!r} is negative", f"{path}.start", "a time >= 0 ms")
    stop = None
    if spec.get("stop") is not None:
        stop = check.quantity(spec["stop"], "ms", f"{path}.stop")
        if not stop > start:
            raise check.fail(f"{spec['stop']!r} is not after the start ({start:g} ms)", f"{path}.stop",
                             "a time after 'start'")
    first = max(1, math.ceil(start / interval - 1e-9))
    if first * interval > (stop if stop is not None else math.inf) * (1 + 1e-12):
        raise check.fail(f"no multiple of the interval ({interval:g} ms) in [{start:g}, {stop:g}] ms",
                         f"{path}.stop", "a window holding at least one sample time (a multiple of the interval)")
    end = check.duration if stop is None else min(stop, check.duration)
    values = max(0, math.floor(end / interval + 1e-9) - first + 1) * len(variables)
    check.budget.add("samples", values, BYTES_PER_SAMPLE, f"{path}.interval",
                     f"{len(variables)} variables every {interval:g} ms make {values:.3g} samples")
    return Recording(name=name, population=network.name, variables=list(variables), spikes=False, indices=[0],
                     interval=interval, start=start, stop=stop)


__all__ = ["parse_network", "network_recording", "rate_unit", "DEFAULT_AMPA_CONDUCTANCES"]
