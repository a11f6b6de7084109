"""Read a model description (YAML/JSON file or dict), apply overrides, validate, build a Model.

Every problem is reported as a :class:`~bridge.errors.ModelError` naming the file, the field
path, the offending value and what was expected.
"""
from __future__ import annotations

import copy
import math
import os
from typing import Any, Iterable, Mapping

import numpy as np
import yaml

from ..catalog import STIMULI, names
from ..catalog.base import NeuronType, SynapseType
from ..documents import load_yaml, read_document
from ..errors import ModelError
from ..limits import (BYTES_PER_CELL, BYTES_PER_CONNECTION, BYTES_PER_DC_STEP, BYTES_PER_INPUT_SPIKE, BYTES_PER_SAMPLE,
                      BYTES_PER_STEP_VALUE, BYTES_PER_THREAD, MAX_THREADS)
from .checker import GRID_EPS, Checker
from .description import (Model, Population, Projection, Recording, Simulation, Stimulus,
                          Synapse, steps)
from .drawing import Connector, PoissonDraw, round_up_to_grid
from .network_loader import network_recording, parse_network
from .scaling import read_scale, scaled_probability, scaled_size
from .types import ModelType, all_types, resolve_types

from .variants import check_variants

_TOP_LEVEL = {"name", "description", "simulation", "populations", "stimuli", "projections",
              "recordings", "tolerances", "notes", "network", "types", "include", "variants", "scale",
              "statistics"}


def load(path: str | os.PathLike, overrides: Iterable[str] = ()) -> Model:
    """Load and validate a model file; ``overrides`` are ``"field.path=value"`` strings."""
    source = source_path(path)
    document = read_document(source)
    document = apply_overrides(document, overrides, source)
    return from_dict(document, source)


def source_path(path: Any) -> str:
    """``path`` (a model file name) as a string; anything else is a ModelError."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise ModelError(f"{type(path).__name__} {path!r:.60} is not a file name", "path",
                         "the path of a YAML or JSON model file (a bridge.Model goes to simulate/compare itself)",
                         "<call>")
    return os.fspath(path)


def override_list(overrides: Any, source: str = "<model>") -> list[str]:
    """``overrides`` as a list of ``"path=value"`` strings; anything else (one string, a number) is a
    ModelError rather than something iterated character by character."""
    if overrides is None:
        return []
    if isinstance(overrides, (str, bytes)) or not isinstance(overrides, Iterable):
        raise ModelError(f"{overrides!r:.80} is not a list of overrides", "--set",
                         "a list of 'field.path=value' strings, e.g. ['simulation.seed=2']", source)
    overrides = list(overrides)
    for override in overrides:
        if not isinstance(override, str):
            raise ModelError(f"{override!r:.80} is not an override", "--set", "a 'field.path=value' string", source)
    return overrides


def apply_overrides(document: dict[str, Any], overrides: Iterable[str], source: str = "<model>") -> dict[str, Any]:
    """Return a copy of ``document`` with each ``"a.b.c=value"`` applied (value parsed as YAML)."""
    document = copy.deepcopy(document)
    for override in override_list(overrides, source):
        if "=" not in override:
            raise ModelError(f"override {override!r} has no '='", "--set", "field.path=value", source)
        path, _, text = override.partition("=")
        keys = path.strip().split(".")
        node: Any = document
        for depth, key in enumerate(keys[:-1]):
            if not isinstance(node, dict) or key not in node:
                raise ModelError(f"no field {key!r} to override", ".".join(keys[: depth + 1]),
                                 "a field that exists in the model", source)
            node = node[key]
        if not isinstance(node, dict):
            raise ModelError(f"cannot set {keys[-1]!r} inside a non-mapping", path, "a mapping field", source)
        try:
            node[keys[-1]] = load_yaml(text)
        except yaml.YAMLError:
            node[keys[-1]] = text
    return document


def _initial_states(states, parameters: Mapping[str, float], given: Mapping[str, Any],
                    check: Checker, path: str) -> dict[str, float]:
    declared = {s.name: s for s in states}
    values: dict[str, float] = {}
    for key, value in given.items():
        if key not in declared:
            raise check.fail(f"unknown state variable {key!r}", f"{path}.{key}", "one of " + ", ".join(declared))
        values[key] = check.quantity(value, declared[key].unit, f"{path}.{key}")
    for name, state in declared.items():
        if name not in values:
            values[name] = parameters[state.initial] if isinstance(state.initial, str) else float(state.initial)
    return values


def from_dict(document: Mapping[str, Any], source: str = "<model>") -> Model:
    """Validate a description given as a (YAML-shaped) dict and build the :class:`Model`."""
    source = str(source)
    check = Checker(source)
    document = check.mapping(document, "", "a mapping with 'populations'")
    _check_depth(document, check)
    check.keys(document, _TOP_LEVEL, "")
    if "populations" not in document and "network" not in document:
        raise check.fail("missing section 'populations'", "populations",
                         "a mapping of population names to types (or a 'network' section)")

    declared = resolve_types(document, source)
    kinds = all_types(declared)
    check_variants(document.get("variants"), check)
    simulation = _simulation(check.mapping(document.get("simulation"), "simulation"), check)
    dt = simulation.dt
    check.scale = read_scale(document, check)
    populations = {name: _population(name, check.mapping(spec, f"populations.{name}"), kinds, check, dt)
                   for name, spec in check.named(document.get("populations"), "populations", "a mapping of population names to types").items()}
    network = parse_network(document["network"], check, dt) if "network" in document else None
    if not populations and network is None:
        raise check.fail("no populations", "populations", "at least one population")
    if network is not None and network.name in populations:
        raise check.fail(f"name {network.name!r} is used by a population and the network", "network.name",
                         "unique names")
    stimuli = {name: _stimulus(name, check.mapping(spec, f"stimuli.{name}"), populations, simulation, check)
               for name, spec in check.named(document.get("stimuli"), "stimuli", "a mapping of stimulus names").items()}
    clash = set(stimuli) & set(populations)
    if clash:
        name = sorted(clash)[0]
        raise check.fail(f"name {name!r} is used by a population and a stimulus", f"stimuli.{name}", "unique names")
    projections = {name: _projection(name, check.mapping(spec, f"projections.{name}"), populations, stimuli, kinds,
                                     dt, check)
                   for name, spec in check.named(document.get("projections"), "projections", "a mapping of projection names").items()}
    recordings = {name: _any_recording(name, check.mapping(spec, f"recordings.{name}"), populations, projections,
                                       network, dt, check)
                  for name, spec in check.named(document.get("recordings"), "recordings", "a mapping of recording names").items()}
    if not recordings:
        raise check.fail("nothing is recorded", "recordings", "at least one recording")
    for field in ("name", "description"):
        if document.get(field) is not None and not isinstance(document[field], str):
            raise check.fail(f"{document[field]!r:.60} is not a text", field, f"a text ({field} of the model)")
    name = document.get("name") or os.path.splitext(os.path.basename(source))[0]
    return Model(
        name=str(name),
        simulation=simulation,
        populations=populations,
        stimuli=stimuli,
        projections=projections,
        recordings=recordings,
        description=str(document.get("description", "")).strip(),
        tolerances=check.mapping(document.get("tolerances"), "tolerances"),
        source=source,
        document=copy.deepcopy(dict(document)),
        network=network,
        types=declared,
        estimate=check.budget.estimate,
    )


#: how deeply a description may nest (a YAML file is limited by libyaml; a dict from Python is not)
MAX_DEPTH = 100


def _check_depth(document: Any, check: Checker) -> None:
    """Refuse a description nested more than :data:`MAX_DEPTH` deep (copying it would recurse until
    Python gives up), without recursing to find out."""
    stack = [(document, 0, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            raise check.fail(f"nested more than {MAX_DEPTH} levels deep", path, "a model description (see README)")
        if isinstance(node, dict):
            stack.extend((value, depth + 1, path or str(key)) for key, value in node.items())
        elif isinstance(node, (list, tuple)):
            stack.extend((value, depth + 1, path) for value in node)


def _simulation(spec: Mapping[str, Any], check: Checker) -> Simulation:
    check.keys(spec, {"duration", "dt", "seed", "threads", "ranks"}, "simulation")
    if "duration" not in spec:
        raise check.fail("missing 'duration'", "simulation.duration", "a time such as '1000 ms'")
    duration = check.quantity(spec["duration"], "ms", "simulation.duration")
    dt = check.quantity(spec.get("dt", "0.1 ms"), "ms", "simulation.dt")
    if not dt > 0:
        raise check.fail(f"{spec.get('dt')!r} is not positive", "simulation.dt", "a time step > 0 ms")
    if not duration > 0:
        raise check.fail(f"{spec['duration']!r} is not positive", "simulation.duration", "a duration > 0 ms")
    check.budget.steps(duration / dt, "simulation.dt", f"a duration of {duration:g} ms at dt = {dt:g} ms")
    check.on_grid(duration, dt, "simulation.duration")
    seed = check.integer(spec.get("seed", 0), "simulation.seed")
    threads = check.integer(spec.get("threads", 1), "simulation.threads", minimum=1)
    if threads > MAX_THREADS:
        raise check.fail(f"{threads} threads are more than bridge allows", "simulation.threads",
                         f"an integer from 1 to {MAX_THREADS} (NEST allocates about 1 MiB per thread)")
    check.budget.add("threads", threads, BYTES_PER_THREAD, "simulation.threads", f"{threads} threads")
    ranks = check.integer(spec.get("ranks", 1), "simulation.ranks", minimum=1)
    check.seed = seed
    check.duration = duration
    return Simulation(duration=duration, dt=dt, seed=seed, threads=threads, ranks=ranks)


def _kind(kinds: Mapping[str, ModelType], family: type, name: Any, path: str, check: Checker) -> Any:
    """The type ``name`` of ``family`` (NeuronType or SynapseType) among ``kinds``."""
    matching = [n for n, k in kinds.items() if isinstance(k, family)]
    if not isinstance(name, str) or not isinstance(kinds.get(name), family):
        word = "neuron" if family is NeuronType else "synapse"
        raise check.fail(f"unknown {word} type {name!r}", path,
                         "one of " + ", ".join(matching) + " (or a type declared under 'types:')")
    return kinds[name]


def _population(name: str, spec: Mapping[str, Any], kinds: Mapping[str, ModelType], check: Checker,
                dt: float | None = None) -> Population:
    path = f"populations.{name}"
    check.keys(spec, {"type", "size", "parameters", "initial"}, path)
    type_name = spec.get("type")
    neuron = _kind(kinds, NeuronType, type_name, f"{path}.type", check)
    size = scaled_size(check.integer(spec.get("size", 1), f"{path}.size", minimum=1), check.scale, f"{path}.size",
                       check)
    check.budget.add("cells", size, BYTES_PER_CELL, f"{path}.size", f"{size} cells")
    parameters = check.parameters(neuron.parameters, check.mapping(spec.get("parameters"), f"{path}.parameters"),
                                  f"{path}.parameters")
    check.constraints(neuron, parameters, f"{path}.parameters")
    initial = _initial_states(neuron.states, parameters, check.mapping(spec.get("initial"), f"{path}.initial"),
                              check, f"{path}.initial")
    if neuron.refractory and neuron.threshold_detection == "grid" and dt is not None:
        check.on_grid(parameters[neuron.refractory], dt, f"{path}.parameters.{neuron.refractory}")
    return Population(name=name, type=type_name, size=size, parameters=parameters, initial=initial,
                      neuron_type=neuron)


def _stimulus(name: str, spec: Mapping[str, Any], populations: Mapping[str, Population],
              simulation: Simulation, check: Checker) -> Stimulus:
    path = f"stimuli.{name}"
    type_name = check.reference(spec.get("type"), STIMULI, f"{path}.type", "stimulus type")
    kind = STIMULI[type_name]
    structural = {"type", "target", "indices"} if not kind.spike_source else {"type", "size", "seed", "times"}
    params_given = {k: v for k, v in spec.items() if k not in structural}
    parameters = check.parameters(kind.parameters, params_given, path)
    stimulus = Stimulus(name=name, type=type_name, parameters=parameters)
    dt = simulation.dt
    for key in ("start", "stop"):
        if key in parameters:
            check.on_grid(parameters[key], dt, f"{path}.{key}")
    if not kind.spike_source:
        target = check.reference(spec.get("target"), populations, f"{path}.target", "target")
        steps_ = check.budget.estimate.steps
        check.budget.add("dc values", steps_, BYTES_PER_DC_STEP, path, f"its amplitude at each of {steps_:.3g} steps")
        stimulus.target = target
        stimulus.indices = _indices(spec.get("indices"), populations[target].size, f"{path}.indices", check)
        return stimulus
    if type_name == "spike_times":
        stimulus.explicit = _explicit_trains(spec.get("times"), dt, f"{path}.times", check)
        stimulus.size = len(stimulus.explicit)
        count = sum(len(train) for train in stimulus.explicit)
        check.budget.add("input_spikes", count, BYTES_PER_INPUT_SPIKE, f"{path}.times", f"{count} input spikes")
    else:
        size = check.integer(spec.get("size", 1), f"{path}.size", minimum=1)
        size = scaled_size(size, check.scale, f"{path}.size", check) if type_name == "poisson" else size
        seed = check.integer(spec.get("seed", simulation.seed), f"{path}.seed")
        stop = min(parameters["stop"], simulation.duration)
        expected = size * parameters["rate"] / 1000.0 * max(0.0, stop - parameters["start"])
        check.budget.add("input_spikes", expected, BYTES_PER_INPUT_SPIKE, f"{path}.rate",
                         f"{size} train{'s' if size != 1 else ''} at {parameters['rate']:g} Hz for {max(0.0, stop - parameters['start']):g} ms "
                         f"draw about {expected:.3g} input spikes")
        stimulus.poisson = PoissonDraw(name, size, parameters["rate"], parameters["start"], stop, dt, seed)
        stimulus.size = size
    return stimulus


def _explicit_trains(times: Any, dt: float, path: str, check: Checker) -> list[np.ndarray]:
    if not isinstance(times, list) or not times:
        raise check.fail(f"{times!r} is not a list of spike times", path, "a list of times in ms, or a list of lists")
    trains = times if isinstance(times[0], list) else [times]
    result = []
    for i, train in enumerate(trains):
        if not isinstance(train, list):
            raise check.fail(f"{train!r} is not a list of spike times", f"{path}[{i}]",
                             "a list of times in ms (every train a list, when several are given)")
        values = np.array([_spike_time(t, f"{path}[{i}][{j}]", check) for j, t in enumerate(train)], dtype=float)
        if np.any(values <= 0) or np.any(np.diff(values) < 0):
            raise check.fail("spike times must be positive and sorted", f"{path}[{i}]",
                             "increasing times > 0 ms (plain numbers are ms)")
        result.append(round_up_to_grid(values, dt))
    return result


def _spike_time(value: Any, path: str, check: Checker) -> float:
    """One spike time in ms: a quantity (``"10 ms"``) or a plain finite number of ms."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise check.fail(f"{value!r} is not finite", path, "a finite time in ms")
        return float(value)
    if isinstance(value, str):
        return check.quantity(value, "ms", path)
    raise check.fail(f"{value!r} is not a spike time", path, "a time in ms (a number or a quantity such as '10 ms')")


def poisson_trains(name: str, size: int, rate_hz: float, start: float, stop: float, dt: float,
                   seed: int) -> list[np.ndarray]:
    """``size`` Poisson trains (ms), drawn reproducibly from ``seed`` and the stimulus ``name`` per block
    of trains (see :mod:`bridge.model.drawing`)."""
    return PoissonDraw(name, size, rate_hz, start, stop, dt, seed).trains()


def _indices(value: Any, size: int, path: str, check: Checker) -> list[int] | range:
    """Cell indices: ``all`` (or none given) is ``range(size)``, which takes no memory per cell."""
    if value is None or value == "all":
        return range(size)
    if not isinstance(value, list) or not all(isinstance(i, int) and 0 <= i < size for i in value):
        raise check.fail(f"{value!r} is not a list of cell indices", path, f"integers in 0..{size - 1}, or 'all'")
    return list(value)


def _projection(name: str, spec: Mapping[str, Any], populations: Mapping[str, Population],
                stimuli: Mapping[str, Stimulus], kinds: Mapping[str, ModelType], dt: float, check: Checker) -> Projection:
    path = f"projections.{name}"
    check.keys(spec, {"source", "target", "rule", "pairs", "p", "synapse", "weight", "delay", "receptor"}, path)
    sources = {**{k: p.size for k, p in populations.items()},
               **{k: s.size for k, s in stimuli.items() if s.stimulus_type.spike_source}}
    source = check.reference(spec.get("source"), sources, f"{path}.source", "source",
                             "a population or spike source: " + ", ".join(sources))
    target = check.reference(spec.get("target"), populations, f"{path}.target", "target")
    target_pop = populations[target]
    target_type = target_pop.neuron_type
    rule = spec.get("rule", "all_to_all")
    if rule == "fixed_probability":
        if "p" not in spec:
            raise check.fail("missing 'p'", f"{path}.p", "a connection probability in (0, 1]")
        p = check.quantity(spec["p"], "1", f"{path}.p")
        if not 0 < p <= 1:
            raise check.fail(f"{spec['p']!r} is outside (0, 1]", f"{path}.p", "a connection probability in (0, 1]")
        p, weight_factor = scaled_probability(p, check.scale)
        count = p * sources[source] * target_pop.size
        check.budget.add("connections", count, BYTES_PER_CONNECTION, f"{path}.p",
                         f"p = {p:g} of {sources[source]} x {target_pop.size} makes about {count:.3g} connections")
        connector = Connector(rule, f"projection:{name}", sources[source], target_pop.size,
                              seed=getattr(check, "seed", 0), p=p)
    else:
        weight_factor = 1.0
        if "p" in spec:
            raise check.fail(f"'p' given with rule {rule!r}", f"{path}.p", "'p' only with rule fixed_probability")
        count = {"one_to_one": sources[source], "all_to_all": sources[source] * target_pop.size,
                 "list": len(spec["pairs"]) if isinstance(spec.get("pairs"), list) else 0}.get(rule, 0) \
            if isinstance(rule, str) else 0
        check.budget.add("connections", count, BYTES_PER_CONNECTION, f"{path}.rule",
                         f"{rule} from {sources[source]} onto {target_pop.size} cells makes {count:.3g} connections")
        connector = _connector(name, rule, spec.get("pairs"), sources[source], target_pop.size, path, check)

    synapse_spec = dict(check.mapping(spec.get("synapse", {"type": "static"}), f"{path}.synapse"))
    synapse_name = synapse_spec.pop("type", "static")
    kind: SynapseType = _kind(kinds, SynapseType, synapse_name, f"{path}.synapse.type", check)
    state_names = {s.name for s in kind.states}
    parameters = check.parameters(kind.parameters, {k: v for k, v in synapse_spec.items() if k not in state_names},
                                  f"{path}.synapse")
    check.constraints(kind, parameters, f"{path}.synapse")
    initial = _initial_states(kind.states, parameters, {k: v for k, v in synapse_spec.items() if k in state_names},
                              check, f"{path}.synapse")
    if source in populations and populations[source].neuron_type.emits and synapse_name != "static":
        raise check.fail(f"synapse {synapse_name!r} on a {populations[source].type} source", f"{path}.synapse.type",
                         "'static' (the source neuron applies its own Tsodyks–Markram rule)")
    if kind.continuous:
        if target_type.membrane not in {s.name for s in target_type.states}:
            raise check.fail(f"target type {target_type.name} has no membrane potential", f"{path}.target",
                             "a target with V_m")
        if "receptor" in spec:
            raise check.fail(f"a receptor for the continuous synapse {kind.name}", f"{path}.receptor",
                             "no receptor (a continuous synapse injects its current)")
        weight_unit = kind.weight_unit or target_type.weight_unit
    else:
        if not target_type.receptors:
            raise check.fail(f"target type {target_type.name} has no synaptic receptors", f"{path}.target",
                             "a spiking neuron type, or a continuous synapse such as nmda_kinetic")
        weight_unit = target_type.weight_unit
    weight = check.quantity(spec.get("weight"), weight_unit, f"{path}.weight") * weight_factor
    receptor = "" if kind.continuous else _receptor(spec, weight, target_type, path, check)
    ends = [target_type] + ([populations[source].neuron_type] if source in populations else [])
    clash = names.synapse_collisions({p.name for p in kind.parameters} | {s.name for s in kind.states},
                                     {n for end in ends for n in _names_of(end)})
    if clash:
        raise check.fail(f"synapse {kind.name} and its source/target both use the name {clash[0]!r} in generated code",
                         f"{path}.synapse.type", f"types whose names do not meet as X and X{names.SYNAPTIC_SUFFIX}")
    delay = check.quantity(spec.get("delay", f"{dt} ms"), "ms", f"{path}.delay")
    if delay < dt * (1 - GRID_EPS):
        raise check.fail(f"delay {delay:g} ms is below the time step", f"{path}.delay", f"a delay >= dt = {dt:g} ms")
    check.on_grid(delay, dt, f"{path}.delay")
    if kind.matches_target_tau:
        tau = parameters[kind.matches_target_tau]
        port = "tau_syn_ex" if weight >= 0 else "tau_syn_in"
        if port in target_pop.parameters and abs(target_pop.parameters[port] - tau) > 1e-12 * tau:
            raise check.fail(f"{kind.matches_target_tau} = {tau:g} ms differs from the target's {port} = "
                             f"{target_pop.parameters[port]:g} ms", f"{path}.synapse.{kind.matches_target_tau}",
                             f"{kind.matches_target_tau} equal to {port} (the three-state PSC decays with it)")
    if kind.pulse:
        check.on_grid(parameters[kind.pulse[1]], dt, f"{path}.synapse.{kind.pulse[1]}")
    return Projection(name=name, source=source, target=target, rule=rule, connector=connector,
                      synapse=Synapse(type=synapse_name, parameters=parameters, initial=initial, synapse_type=kind),
                      weight=weight, delay=delay, receptor=receptor, weight_factor=weight_factor)


def _names_of(kind: NeuronType) -> set[str]:
    return {p.name for p in kind.parameters} | {s.name for s in kind.states}


def _receptor(spec: Mapping[str, Any], weight: float, target: NeuronType, path: str, check: Checker) -> str:
    """The target port an event projection acts on: ``receptor`` if given, else ``excitatory`` for a
    weight >= 0 and ``inhibitory`` for a negative one (NEST's convention)."""
    ports = ", ".join(target.receptors)
    if "receptor" in spec:
        if not isinstance(spec["receptor"], str) or spec["receptor"] not in target.receptors:
            raise check.fail(f"{target.name} has no receptor {spec['receptor']!r}", f"{path}.receptor", f"one of {ports}")
        return str(spec["receptor"])
    port = "excitatory" if weight >= 0 else "inhibitory"
    if port not in target.receptors:
        raise check.fail(f"no receptor given, and {target.name} has no {port!r} port for a weight of this sign",
                         f"{path}.receptor", f"one of {ports}")
    return port


def _connector(name: str, rule: Any, given: Any, n_source: int, n_target: int, path: str,
               check: Checker) -> Connector:
    """The :class:`Connector` of a deterministic rule (one_to_one, all_to_all, list), checked."""
    if rule == "one_to_one":
        if n_source != n_target:
            raise check.fail(f"one_to_one between sizes {n_source} and {n_target}", f"{path}.rule",
                             "source and target of equal size")
        return Connector(rule, f"projection:{name}", n_source, n_target)
    if rule == "all_to_all":
        return Connector(rule, f"projection:{name}", n_source, n_target)
    if rule == "list":
        ok = isinstance(given, list) and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(i, int) for i in p)
            and 0 <= p[0] < n_source and 0 <= p[1] < n_target for p in given)
        if not ok or not given:
            raise check.fail(f"{given!r} is not a list of [source, target] index pairs", f"{path}.pairs",
                             f"pairs with source in 0..{n_source - 1} and target in 0..{n_target - 1}")
        return Connector(rule, f"projection:{name}", n_source, n_target, given=np.array(given, dtype=np.int64))
    raise check.fail(f"unknown connection rule {rule!r}", f"{path}.rule",
                     "one_to_one, all_to_all, fixed_probability or list")


def fixed_probability_pairs(name: str, n_source: int, n_target: int, p: float, seed: int) -> np.ndarray:
    """Each (source, target) pair connected independently with probability ``p``, drawn reproducibly
    from ``seed`` and the projection ``name`` per block of targets (:mod:`bridge.model.drawing`);
    autapses (i -> i within one population) are allowed, as in NEST's ``pairwise_bernoulli`` and
    Brian2's ``connect(p=...)`` defaults.  Pairs come sorted by target, then source; int32 when the
    indices fit."""
    return Connector("fixed_probability", f"projection:{name}", n_source, n_target, seed=seed, p=p).pairs()


def _any_recording(name: str, spec: Mapping[str, Any], populations: Mapping[str, Population],
                   projections: Mapping[str, Projection], network, dt: float, check: Checker) -> Recording:
    """A recording of a population, a projection or the reaction network (``population: <its name>``)."""
    if network is None:
        return _recording(name, spec, populations, projections, dt, check)
    if spec.get("population") == network.name:
        return network_recording(name, spec, network, dt, check)
    if "projection" not in spec and (not isinstance(spec.get("population"), str)
                                     or spec.get("population") not in populations):
        raise check.fail(f"unknown population {spec.get('population')!r}", f"recordings.{name}.population",
                         "one of " + ", ".join([*populations, network.name]) + " (the network)")
    return _recording(name, spec, populations, projections, dt, check)


def _recording(name: str, spec: Mapping[str, Any], populations: Mapping[str, Population],
               projections: Mapping[str, Projection], dt: float, check: Checker) -> Recording:
    path = f"recordings.{name}"
    check.keys(spec, {"population", "projection", "variables", "spikes", "indices", "interval"}, path)
    variables = check.sequence(spec.get("variables", []), f"{path}.variables", "a list of state variable names")
    projection = spec.get("projection")
    if projection is not None:
        projection = check.reference(projection, projections, f"{path}.projection", "projection")
        kind = projections[projection].synapse.synapse_type
        if not kind.continuous:
            raise check.fail(f"{kind.name} synapses have no continuous state to sample", f"{path}.projection",
                             "a projection with a continuous synapse such as nmda_kinetic")
        known, owner_type, size = [s.name for s in kind.states], kind.name, projections[projection].connector.count()
        population = projections[projection].target
        spikes = False
    else:
        population = check.reference(spec.get("population"), populations, f"{path}.population", "population")
        neuron = populations[population].neuron_type
        known, owner_type, size = [s.name for s in neuron.states], neuron.name, populations[population].size
        spikes = bool(spec.get("spikes", False))
        if spikes and neuron.threshold is None:
            raise check.fail(f"{neuron.name} cells never spike", f"{path}.spikes", "a spiking neuron type")
    for i, variable in enumerate(variables):
        if not isinstance(variable, str) or variable not in known:
            raise check.fail(f"{owner_type} has no state variable {variable!r}", f"{path}.variables[{i}]",
                             "one of " + ", ".join(known))
    if not variables and not spikes:
        raise check.fail("records nothing", path, "'variables' and/or 'spikes: true'")
    interval = check.quantity(spec.get("interval", f"{dt} ms"), "ms", f"{path}.interval")
    if interval < dt * (1 - GRID_EPS):
        raise check.fail(f"interval {interval:g} ms is below the time step", f"{path}.interval", f">= dt = {dt:g} ms")
    check.on_grid(interval, dt, f"{path}.interval")
    indices = _indices(spec.get("indices"), size, f"{path}.indices", check)
    values = math.floor(check.duration / interval + GRID_EPS) * len(indices) * len(variables)
    each = max(BYTES_PER_SAMPLE, BYTES_PER_STEP_VALUE * round(interval / dt))  # NEURON: every step meanwhile
    check.budget.add("samples", values, each, f"{path}.interval",
                     f"{len(variables)} variables of {len(indices)} cells every {interval:g} ms make {values:.3g} samples")
    return Recording(name=name, population=population, variables=list(variables), spikes=spikes,
                     indices=indices, interval=interval, projection=projection)


__all__ = ["load", "from_dict", "apply_overrides", "read_document", "poisson_trains", "round_up_to_grid", "steps",
           "fixed_probability_pairs"]
