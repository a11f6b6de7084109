"""Model types declared as data: one parser for the built-in catalog (``bridge/catalog/types/*.yaml``),
the ``types:`` section of a model file and the type files it includes.

A declaration is checked completely before anything runs: every expression is parsed with the
allow-list grammar of :mod:`.expressions` (never evaluated as written), every name it reads must be
declared, every equation, threshold, reset, rule and current is dimension-checked with pint
(:mod:`.dimensions`), and names the generated code would misread are refused (:mod:`.names`).
Each problem is a one-line :class:`~bridge.errors.ModelError` naming the file and the field, e.g.
``types.msn.equations.V_m: right-hand side is in mV·nS (expected mV/ms, the unit of V_m per ms)``.

A neuron type::

    msn:
      kind: neuron
      doc: Izhikevich (2007) quadratic integrate-and-fire neuron with conductance synapses
      parameters:
        C_m: {unit: pF, default: 15.2 pF, positive: true, doc: membrane capacitance}
        V_r: {unit: mV, doc: resting potential}          # no default: required
        a: 0.01 1/ms                                      # short form: the default with its unit
      states:
        V_m: {unit: mV, initial: V_r}                     # a number in the unit or a parameter name
        u: {unit: pA, initial: 0 pA}
      equations:                                          # d(state)/dt, in the state's unit per ms
        V_m: (k*(V_m - V_r)*(V_m - V_t) - u + I_e + I_ext)/C_m
        u: a*(b*(V_m - V_r) - u)
      threshold: V_m >= V_peak
      detection: located                                  # grid (default) or located
      reset: [V_m = c, u = u + d]
      refractory: t_ref                                   # optional, with clamped: [V_m]
      receptors: {excitatory: g_ex, inhibitory: g_in}
      weight_unit: nS
      inhibitory_sign: -1                                 # a negative weight adds |w| (conductances)
      native: {nest: {model: aeif_cond_exp, parameters: {V_peak: V_peak}}}

A synapse type has ``kind: synapse`` and either ``on_spike`` statements ending in ``efficacy``
(event synapses) or ``equations``, ``current``, ``pulse`` and ``weight_unit`` (continuous ones).
"""
from __future__ import annotations

import ast
import os
from typing import Any, Iterable, Mapping

from ..documents import read_document
from ..errors import ModelError
from ..units import QuantityError, parse, to_internal, units
from . import dimensions, expressions, names
from .base import Constraints, NativeModel, NeuronType, Parameter, StateVariable, Statements, SynapseType
from .dimensions import DimensionError, Quantity, quantity
from .expressions import ExpressionError

SIMULATORS = ("nest", "neuron", "brian2")
_COMMON_KEYS = {"kind", "doc", "parameters", "states", "native", "unsupported", "constraints"}
NEURON_KEYS = _COMMON_KEYS | {"equations", "threshold", "detection", "reset", "refractory", "clamped",
                              "receptors", "weight_unit", "inhibitory_sign", "membrane", "emits"}
SYNAPSE_KEYS = _COMMON_KEYS | {"on_spike", "equations", "current", "pulse", "weight_unit", "matches_target_tau"}
PARAMETER_KEYS = {"unit", "default", "doc", "positive", "nonnegative", "min", "max"}
STATE_KEYS = {"unit", "initial", "doc"}
#: options a native mapping may carry, per simulator (besides ``model`` and ``parameters``)
NATIVE_OPTIONS = {"nest": {"current_scale"}, "neuron": set(), "brian2": set()}
#: names with a fixed meaning, and their units, in each part of a declaration
_I_EXT = ("I_ext", "pA")


def declare_types(spec: Any, source: str, known: Mapping[str, NeuronType | SynapseType] | None = None,
                  path: str = "types", origin: str | None = None) -> dict[str, NeuronType | SynapseType]:
    """Parse a ``types:`` mapping (name -> declaration) from the file ``source`` into model types.

    ``known`` are the types already visible (the built-in catalog, types of included files): a
    declaration may not reuse their names, and ``emits`` may name them.  Synapse types are declared
    before neuron types, so a neuron may emit a synapse type of the same section.  Each type records
    ``origin`` (default: ``source``) as where it was declared (``"built-in"`` for the catalog).
    """
    known = dict(known or {})
    if not isinstance(spec, Mapping):
        raise ModelError(f"{spec!r} is not a mapping", path, "a mapping of type names to declarations", source)
    declared: dict[str, NeuronType | SynapseType] = {}
    order = sorted(spec.items(), key=lambda item: _kind_of(item[1]) != "synapse")
    for name, body in order:
        where = f"{path}.{name}"
        problem = names.type_problem(name)
        if problem:
            raise ModelError(problem, where, "a type name (letters, digits and '_', starting with a letter)", source)
        if name in known:
            origin = "a built-in type" if known[name].source == "built-in" else f"a type of {known[name].source}"
            raise ModelError(f"type {name!r} is already {origin}", where, "a name no other type has", source)
        if not isinstance(body, Mapping):
            raise ModelError(f"{body!r} is not a mapping", where, "a type declaration with 'kind'", source)
        kind = body.get("kind")
        visible = {**known, **declared}
        if kind == "neuron":
            declared[name] = _NeuronDeclaration(name, body, source, where, visible, origin).build()
        elif kind == "synapse":
            declared[name] = _SynapseDeclaration(name, body, source, where, visible, origin).build()
        else:
            raise ModelError(f"kind {kind!r} is unknown", f"{where}.kind", "neuron or synapse", source)
    return {name: declared[name] for name in spec}


def read_types_file(path: str | os.PathLike) -> Any:
    """The ``types:`` mapping of a type file."""
    return types_section(read_document(path, "a YAML mapping with 'types'"), os.fspath(path))


def types_section(document: Mapping[str, Any], source: str) -> Any:
    """The ``types:`` mapping of a type file's document (a mapping with ``types`` and optionally
    ``include``, resolved by the model loader, and ``description``)."""
    unknown = sorted(set(document) - {"types", "include", "description"})
    if unknown:
        raise ModelError(f"unknown field {unknown[0]!r}", unknown[0], "types, include or description", source)
    if "types" not in document:
        raise ModelError("missing section 'types'", "types", "a mapping of type names to declarations", source)
    return document["types"]


def _kind_of(body: Any) -> Any:
    return body.get("kind") if isinstance(body, Mapping) else None


class _Declaration:
    """What neuron and synapse declarations share: fields, parameters, states, expressions."""

    allowed: set[str] = set()

    def __init__(self, name: str, spec: Mapping[str, Any], source: str, path: str,
                 known: Mapping[str, NeuronType | SynapseType], origin: str | None = None):
        self.name, self.spec, self.source, self.path, self.known = name, spec, source, path, known
        self.origin = origin or source
        for key in spec:
            if key not in self.allowed:
                raise self.fail(f"unknown field {key!r}", str(key), "one of " + ", ".join(sorted(self.allowed)))
        self.parameters = self._parameters()
        self.states = self._states()
        self.units: dict[str, Quantity] = {p.name: quantity(p.unit) for p in self.parameters}
        self.units.update({s.name: quantity(s.unit) for s in self.states})
        collisions = names.state_collisions(set(self.units), [s.name for s in self.states])
        if collisions:
            section = "parameters" if collisions[0] in {p.name for p in self.parameters} else "states"
            raise self.fail(f"{collisions[0]!r} would collide with a name generated from a state variable",
                            f"{section}.{collisions[0]}", "a name that is not a state's name plus "
                            + "/".join(names.STATE_SUFFIXES) + f" or '{names.STATE_PREFIX}' plus a state's name")

    # -------------------------------------------------------------- helpers
    def fail(self, message: str, field: str = "", expected: str = "") -> ModelError:
        return ModelError(message, f"{self.path}.{field}" if field else self.path, expected, self.source)

    def mapping(self, key: str, what: str) -> Mapping[str, Any]:
        value = self.spec.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(f"{value!r} is not a mapping", key, what)
        return value

    def text(self, key: str) -> str:
        value = self.spec.get(key, "")
        if not isinstance(value, str):
            raise self.fail(f"{value!r} is not text", key, "a string")
        return " ".join(value.split())

    def declared_name(self, name: Any, field: str) -> str:
        problem = names.problem(name)
        if problem:
            raise self.fail(problem, field, names.RULE)
        return name

    def unit(self, value: Any, field: str) -> str:
        """A declared unit: valid, and coherent with bridge's internal units."""
        if value in (None, "", 1, "1"):
            return "1"
        try:
            units.Unit(str(value))  # a unit, not a quantity such as '2 mV'
            q = quantity(str(value))
        except Exception:
            raise self.fail(f"{value!r} is not a unit", field, "a unit such as 'mV', 'nS/mV' or '1'") from None
        if not q.dimensionless and not dimensions.coherent(str(value)):
            raise self.fail(f"{value!r} is not one of bridge's internal units", field,
                            f"'{dimensions.internal_name(str(value))}' (bridge computes in ms, mV, pA, pF, nS, mM; "
                            "values in model files may still use any unit of the dimension)")
        return "1" if q.dimensionless else str(value)

    # -------------------------------------------------------------- parameters and states
    def _parameters(self) -> tuple[Parameter, ...]:
        declared = []
        for name, body in self.mapping("parameters", "a mapping of parameter names to declarations").items():
            field = f"parameters.{name}"
            self.declared_name(name, field)
            if not isinstance(body, Mapping):  # short form: the default with its unit
                body = {"unit": _unit_of(body), "default": body}
            for key in body:
                if key not in PARAMETER_KEYS:
                    raise self.fail(f"unknown field {key!r}", f"{field}.{key}", "one of " + ", ".join(sorted(PARAMETER_KEYS)))
            unit = self.unit(body.get("unit", "1"), f"{field}.unit")
            bound = {k: self._quantity(body[k], unit, f"{field}.{k}") for k in ("default", "min", "max") if k in body}
            flags = {k: body.get(k, False) for k in ("positive", "nonnegative")}
            for key, flag in flags.items():
                if not isinstance(flag, bool):
                    raise self.fail(f"{flag!r} is not true or false", f"{field}.{key}", "true or false")
            parameter = Parameter(name, unit, bound.get("default"), " ".join(str(body.get("doc", "")).split()),
                                  minimum=bound.get("min"), maximum=bound.get("max"), **flags)
            if parameter.default is not None:
                reason = violated_bound(parameter, parameter.default)
                if reason:
                    raise self.fail(f"default {body['default']!r} {reason}", f"{field}.default", bounds_text(parameter))
            declared.append(parameter)
        return tuple(declared)

    def _quantity(self, value: Any, unit: str, field: str) -> float:
        if isinstance(value, str) and value.strip() in ("inf", "infinity") and unit == "ms":
            return float("inf")
        return to_internal(value, unit, f"{self.path}.{field}", self.source)

    def _states(self) -> tuple[StateVariable, ...]:
        parameters = {p.name: p for p in self.parameters}
        declared = []
        for name, body in self.mapping("states", "a mapping of state names to declarations").items():
            field = f"states.{name}"
            self.declared_name(name, field)
            if name in parameters:
                raise self.fail(f"{name!r} is declared as a parameter and a state variable", field, "distinct names")
            if not isinstance(body, Mapping):
                raise self.fail(f"{body!r} is not a mapping", field, "{unit: ..., initial: ...}")
            for key in body:
                if key not in STATE_KEYS:
                    raise self.fail(f"unknown field {key!r}", f"{field}.{key}", "one of " + ", ".join(sorted(STATE_KEYS)))
            unit = self.unit(body.get("unit", "1"), f"{field}.unit")
            initial = body.get("initial", 0.0 if unit == "1" else f"0 {unit}")
            if isinstance(initial, str) and initial.strip() in parameters:
                source_parameter = parameters[initial.strip()]
                if not dimensions.same(quantity(source_parameter.unit), quantity(unit)):
                    raise self.fail(f"initial value {initial!r} is in {source_parameter.unit}, the state in {unit}",
                                    f"{field}.initial", f"a parameter in {unit}")
                initial = initial.strip()
            else:
                initial = self._quantity(initial, unit, f"{field}.initial")
            declared.append(StateVariable(name, unit, initial, " ".join(str(body.get("doc", "")).split())))
        return tuple(declared)

    # -------------------------------------------------------------- expressions
    def parse(self, parser, text: Any, field: str, expected: str) -> Any:
        """``parser(text)`` (one of :mod:`.expressions`' parsers), its grammar errors as this field's."""
        try:
            return parser(text)
        except ExpressionError as exc:
            raise self.fail(str(exc), field, expected) from None

    def expression(self, text: Any, field: str, available: Mapping[str, Quantity],
                   expected: Quantity | None = None, expected_text: str = "") -> tuple[ast.expr, Quantity]:
        """Parse and check one expression; returns (node, its unit)."""
        node = self.parse(expressions.parse, text, field,
                          "an expression over declared names (see README: expression language)")
        return node, self.check(node, field, available, expected, expected_text)

    def check(self, node: ast.expr, field: str, available: Mapping[str, Quantity], expected: Quantity | None,
              expected_text: str = "", what: str = "right-hand side") -> Quantity:
        for identifier in expressions.identifiers(node):
            if identifier not in available and identifier not in expressions.UNIT_SYMBOLS:
                raise self.fail(f"unknown name {identifier!r} in {ast.unparse(node)!r}", field,
                                "one of " + ", ".join(sorted(available)) + " or a unit symbol")
        try:
            unit = dimensions.infer(node, available)
        except DimensionError as exc:
            raise self.fail(str(exc), field, "terms of matching dimensions") from None
        if expected is not None and not dimensions.same(unit, expected):
            raise self.fail(f"{what} is in {dimensions.describe(unit)}", field,
                            expected_text or dimensions.describe(expected))
        return unit

    def canonical(self, node: ast.expr) -> str:
        return expressions.canonical(node, dimensions.unit_factors())

    def statements(self, key: str, available: Mapping[str, Quantity], targets: Mapping[str, Quantity],
                   temporaries: bool = False) -> tuple[Statements, dict[str, Quantity]]:
        """Parse ``name = expression`` statements (a list, or a mapping name -> expression).

        ``targets`` are the assignable names with their units; with ``temporaries`` a new name may be
        assigned and read by later statements.  Returns the canonical statements and the units known
        after them."""
        spec = self.spec.get(key)
        if spec is None:
            return (), dict(available)
        if isinstance(spec, Mapping):
            items = [f"{k} = {v}" for k, v in spec.items()]
        elif isinstance(spec, list):
            items = spec
        else:
            raise self.fail(f"{spec!r} is not a list of statements", key, "a list such as ['V_m = V_reset', 'w = w + b']")
        scope = dict(available)
        result = []
        for i, item in enumerate(items):
            field = f"{key}[{i}]"
            target, node = self.parse(expressions.parse_statement, item, field, "'name = expression'")
            if target in targets:
                self.check(node, field, scope, targets[target], f"{dimensions.describe(targets[target])}, the unit of {target}")
                scope[target] = targets[target]
            elif temporaries and target not in self.units:
                problem = names.problem(target) if target != "efficacy" else None
                if problem:
                    raise self.fail(problem, field, "a temporary name: " + names.RULE)
                scope[target] = self.check(node, field, scope, None)
            else:
                raise self.fail(f"assigns {target!r}, which is not a state variable", field,
                                "one of " + ", ".join(targets))
            result.append((target, self.canonical(node)))
        return tuple(result), scope

    # -------------------------------------------------------------- names of other parts
    def parameter_name(self, key: str, dimension: str | None = None) -> str | None:
        value = self.spec.get(key)
        if value is None:
            return None
        if value not in {p.name for p in self.parameters}:
            raise self.fail(f"{value!r} is not a parameter", key, "one of " + ", ".join(p.name for p in self.parameters))
        if dimension and not dimensions.same(self.units[value], quantity(dimension)):
            raise self.fail(f"{value!r} is in {self.units[value].units:~P}", key, f"a parameter in {dimension}")
        return value

    def constraints(self) -> Constraints:
        """``constraints: [V_reset < V_th, ...]``: comparisons of like dimensions over parameters,
        stored as the difference that must compare with 0 (``>`` or ``>=``)."""
        items = self.spec.get("constraints", [])
        if not isinstance(items, list):
            raise self.fail(f"{items!r} is not a list of comparisons", "constraints", "a list such as ['V_reset < V_th']")
        parameters = {p.name: quantity(p.unit) for p in self.parameters}
        result = []
        for i, text in enumerate(items):
            field = f"constraints[{i}]"
            left, operator, right = self.parse(expressions.parse_comparison, text, field,
                                               "a comparison of parameters, e.g. 'V_reset < V_th'")
            unit = self.check(left, field, parameters, None)
            self.check(right, field, parameters, unit, f"{dimensions.describe(unit)}, the unit of the left side",
                       what="the right side")
            strict = operator in (">", "<")
            result.append((self.canonical(expressions.difference(left, operator, right)), ">" if strict else ">=",
                           " ".join(str(text).split())))
        return tuple(result)

    def native(self) -> tuple[dict[str, NativeModel], dict[str, str]]:
        native: dict[str, NativeModel] = {}
        for simulator, body in self.mapping("native", "a mapping simulator -> {model: ...}").items():
            field = f"native.{simulator}"
            if simulator not in SIMULATORS:
                raise self.fail(f"unknown simulator {simulator!r}", field, "one of " + ", ".join(SIMULATORS))
            if isinstance(body, str):
                body = {"model": body}
            if not isinstance(body, Mapping) or not isinstance(body.get("model"), str):
                raise self.fail(f"{body!r} names no model", field, "{model: NAME, parameters: {bridge_name: NAME}}")
            options = {k: v for k, v in body.items() if k not in ("model", "parameters")}
            for key in options:
                if key not in NATIVE_OPTIONS[simulator]:
                    raise self.fail(f"unknown option {key!r}", f"{field}.{key}",
                                    "model, parameters" + "".join(", " + o for o in sorted(NATIVE_OPTIONS[simulator])))
            renames = body.get("parameters") or {}
            if not isinstance(renames, Mapping):
                raise self.fail(f"{renames!r} is not a mapping", f"{field}.parameters", "{bridge_name: simulator_name}")
            for key, value in renames.items():
                if key not in self.units or not isinstance(value, str):
                    raise self.fail(f"{key!r}: {value!r} does not rename a declared parameter or state",
                                    f"{field}.parameters.{key}", "a declared name mapped to the simulator's name")
            if "current_scale" in options and options["current_scale"] not in {p.name for p in self.parameters}:
                raise self.fail(f"{options['current_scale']!r} is not a parameter", f"{field}.current_scale",
                                "the parameter injected currents are divided by")
            native[simulator] = NativeModel(body["model"], dict(renames), options)
        unsupported = {}
        for simulator, reason in self.mapping("unsupported", "a mapping simulator -> reason").items():
            if simulator not in SIMULATORS or not isinstance(reason, str):
                raise self.fail(f"{simulator!r}: {reason!r} is not a reason for a simulator", f"unsupported.{simulator}",
                                "simulator: why it cannot run this type")
            unsupported[simulator] = " ".join(reason.split())
        return native, unsupported


def _unit_of(value: Any) -> str:
    """The unit written in a short-form parameter (``"15.2 pF"`` -> ``"pF"``; a number -> ``"1"``)."""
    if isinstance(value, str):
        try:
            parsed = parse(value)
        except QuantityError:
            return "1"  # then the default is refused with the parse error, naming the field
        if not parsed.dimensionless:
            return f"{parsed.units:~C}"  # compact and re-parsable: "pF", "1/ms", "nS/mV"
    return "1"


def violated_bound(parameter: Parameter, value: float) -> str | None:
    """Why ``value`` (in the parameter's unit) breaks a bound of ``parameter``, or None."""
    unit = "" if parameter.unit == "1" else f" {parameter.unit}"
    if parameter.positive and not value > 0:
        return "is not positive"
    if parameter.nonnegative and not value >= 0:
        return "is negative"
    if parameter.minimum is not None and not value >= parameter.minimum:
        return f"is below the minimum {parameter.minimum:g}{unit}"
    if parameter.maximum is not None and not value <= parameter.maximum:
        return f"is above the maximum {parameter.maximum:g}{unit}"
    return None


def bounds_text(parameter: Parameter) -> str:
    """The bounds of ``parameter`` in words, e.g. ``"a value > 0 ms"``."""
    unit = "" if parameter.unit == "1" else f" {parameter.unit}"
    parts = []
    if parameter.positive:
        parts.append(f"> 0{unit}")
    if parameter.nonnegative:
        parts.append(f">= 0{unit}")
    if parameter.minimum is not None:
        parts.append(f">= {parameter.minimum:g}{unit}")
    if parameter.maximum is not None:
        parts.append(f"<= {parameter.maximum:g}{unit}")
    return "a value " + " and ".join(parts) if parts else f"a value in{unit or ' plain numbers'}"


class _NeuronDeclaration(_Declaration):
    allowed = NEURON_KEYS

    def build(self) -> NeuronType:
        states = [s.name for s in self.states]
        if not states:
            raise self.fail("no state variables", "states", "at least one state variable, e.g. V_m")
        per_ms = quantity("ms")
        available = {**self.units, _I_EXT[0]: quantity(_I_EXT[1])}
        equations, nodes = {}, {}
        for state, text in self.mapping("equations", "a mapping state -> right-hand side of d(state)/dt").items():
            field = f"equations.{state}"
            if state not in states:
                raise self.fail(f"{state!r} is not a state variable", field, "one of " + ", ".join(states))
            target = self.units[state] / per_ms
            node, _ = self.expression(text, field, available, target,
                                      f"{dimensions.show(target)}, the unit of {state} per ms")
            nodes[state] = node
            equations[state] = self.canonical(node)
        plain = dict(self.units)  # threshold and reset see parameters and states
        threshold, detection = self._threshold(plain, nodes)
        reset, _ = self.statements("reset", plain, {s.name: quantity(s.unit) for s in self.states})
        if reset and threshold is None:
            raise self.fail("a reset without a threshold", "reset", "a threshold, or no reset")
        refractory = self.parameter_name("refractory", "ms")
        clamped = self._clamped(states, refractory)
        receptors, weight_unit, sign = self._receptors(states)
        membrane = self.spec.get("membrane", "V_m")
        if "membrane" in self.spec and membrane not in states:
            raise self.fail(f"{membrane!r} is not a state variable", "membrane", "one of " + ", ".join(states))
        if membrane in self.units and not dimensions.same(self.units[membrane], quantity("mV")):
            raise self.fail(f"membrane {membrane!r} is in {self.units[membrane].units:~P}", "membrane", "a state in mV")
        emits = self._emits()
        native, unsupported = self.native()
        linear = all(expressions.degree(node, states + [_I_EXT[0]]) in (0, 1) for node in nodes.values())
        return NeuronType(name=self.name, doc=self.text("doc"), parameters=self.parameters, states=self.states,
                          equations=equations, linear=linear, threshold=threshold, threshold_detection=detection,
                          reset=reset, refractory=refractory, clamped=clamped, receptors=receptors,
                          weight_unit=weight_unit, inhibitory_sign=sign, membrane=membrane, emits=emits,
                          native=native, unsupported=unsupported, constraints=self.constraints(), source=self.origin)

    def _threshold(self, available: Mapping[str, Quantity], equations: Mapping[str, ast.expr]
                   ) -> tuple[str | None, str]:
        detection = self.spec.get("detection", "grid")
        if detection not in ("grid", "located"):
            raise self.fail(f"{detection!r} is not a detection mode", "detection", "grid or located")
        text = self.spec.get("threshold")
        if text is None:
            if "detection" in self.spec:
                raise self.fail("a detection mode without a threshold", "detection", "a threshold, or no detection")
            return None, "grid"
        left, operator, right = self.parse(expressions.parse_comparison, text, "threshold",
                                           "a comparison of like dimensions, e.g. 'V_m >= V_th'")
        left_unit = self.check(left, "threshold", available, None)
        self.check(right, "threshold", available, left_unit, f"{dimensions.describe(left_unit)}, the unit of the left side",
                   what="the right side")
        if detection == "located":
            self._check_located(left, operator, right, equations)
        return self.canonical(expressions.difference(left, operator, right)), detection

    def _check_located(self, left: ast.expr, operator: str, right: ast.expr, equations: Mapping[str, ast.expr]) -> None:
        """``located`` needs a state compared with an expression free of it, whose equation can
        diverge (non-linear in it): the crossing is then reached in finite time and located."""
        variable, other = (left, right) if operator in (">", ">=") else (right, left)
        membrane = self.spec.get("membrane", "V_m")
        if not (isinstance(variable, ast.Name) and variable.id == membrane):
            raise self.fail(f"a located threshold must compare the membrane state {membrane}, not "
                            f"{ast.unparse(variable)!r}", "threshold", f"'{membrane} >= expression' (e.g. "
                            f"'{membrane} >= V_peak'; 'membrane:' names another state)")
        if variable.id in expressions.identifiers(other):
            raise self.fail(f"the located threshold's other side reads {variable.id}", "threshold",
                            f"an expression without {variable.id}")
        equation = equations.get(variable.id)
        if equation is None or expressions.degree(equation, [variable.id]) in (0, 1):
            raise self.fail(f"a located threshold on {variable.id}, whose equation is "
                            f"{'missing' if equation is None else 'linear in it'} (it cannot diverge)", "detection",
                            "detection: grid (located is for variables that diverge, e.g. quadratic or exponential)")

    def _clamped(self, states: list[str], refractory: str | None) -> tuple[str, ...]:
        clamped = self.spec.get("clamped", [])
        if not isinstance(clamped, list) or any(c not in states for c in clamped):
            raise self.fail(f"{clamped!r} is not a list of state variables", "clamped", "states held while refractory")
        if clamped and refractory is None:
            raise self.fail("clamped variables without a refractory period", "clamped", "a 'refractory' parameter")
        return tuple(clamped)

    def _receptors(self, states: list[str]) -> tuple[dict[str, str], str, int]:
        receptors = dict(self.mapping("receptors", "a mapping port -> state variable"))
        weight_unit = self.spec.get("weight_unit")
        for port, state in receptors.items():
            if not isinstance(port, str) or not port.isidentifier():
                raise self.fail(f"{port!r} is not a port name", f"receptors.{port}", "a name such as excitatory")
            if state not in states:
                raise self.fail(f"{state!r} is not a state variable", f"receptors.{port}", "one of " + ", ".join(states))
        if receptors:
            if weight_unit is None:
                raise self.fail("receptors without a weight unit", "weight_unit", "the unit of the receptor states")
            weight_unit = self.unit(weight_unit, "weight_unit")
            for port, state in receptors.items():
                if not dimensions.same(self.units[state], quantity(weight_unit)):
                    raise self.fail(f"receptor state {state!r} is in {self.units[state].units:~P}, weights in {weight_unit}",
                                    f"receptors.{port}", f"a state in {weight_unit}")
        elif weight_unit is not None:
            raise self.fail("a weight unit without receptors", "weight_unit", "receptors, or no weight_unit")
        sign = self.spec.get("inhibitory_sign", 1)
        if sign not in (1, -1):
            raise self.fail(f"{sign!r} is not 1 or -1", "inhibitory_sign",
                            "1 (a negative weight is added as is) or -1 (its magnitude is added)")
        return receptors, weight_unit or "pA", int(sign)

    def _emits(self) -> SynapseType | None:
        name = self.spec.get("emits")
        if name is None:
            return None
        kind = self.known.get(name)
        if not isinstance(kind, SynapseType) or kind.continuous:
            raise self.fail(f"{name!r} is not an event synapse type", "emits", "an event synapse type such as tsodyks3")
        needed = {s.name for s in kind.states} | {p.name for p in kind.parameters}
        missing = sorted(needed - set(self.units))
        if missing:
            raise self.fail(f"emits {name} but declares no {missing[0]!r}", "emits",
                            f"the parameters and states of {name}: " + ", ".join(sorted(needed)))
        shared = sorted({target for target, _ in kind.on_spike} - needed - {"efficacy"} & set(self.units))
        if shared:
            raise self.fail(f"{shared[0]!r} is a temporary of {name}'s rule, which this neuron applies to its own state",
                            "emits", f"no parameter or state named like a temporary of {name}'s rule")
        return kind


class _SynapseDeclaration(_Declaration):
    allowed = SYNAPSE_KEYS

    def build(self) -> SynapseType:
        native, unsupported = self.native()
        common = dict(name=self.name, doc=self.text("doc"), parameters=self.parameters, states=self.states,
                      native=native, unsupported=unsupported, source=self.origin, constraints=self.constraints(),
                      matches_target_tau=self.parameter_name("matches_target_tau", "ms"))
        if "equations" in self.spec:
            return SynapseType(**common, **self._continuous())
        for key in ("current", "pulse", "weight_unit"):
            if key in self.spec:
                raise self.fail(f"{key!r} without equations", key, "a continuous synapse (with equations), or no " + key)
        return SynapseType(**common, on_spike=self._on_spike())

    def _on_spike(self) -> Statements:
        if "on_spike" not in self.spec:
            return (("efficacy", "1"),)
        available = {**self.units, "h": quantity("ms"), "first": quantity("1")}
        targets = {s.name: quantity(s.unit) for s in self.states}
        targets["efficacy"] = quantity("1")
        rule, _ = self.statements("on_spike", available, targets, temporaries=True)
        if not any(target == "efficacy" for target, _ in rule):
            raise self.fail("the rule never assigns efficacy", "on_spike",
                            "a last statement 'efficacy = ...' (the factor of the weight at this spike)")
        return rule

    def _continuous(self) -> dict[str, Any]:
        if "on_spike" in self.spec:
            raise self.fail("on_spike in a continuous synapse", "on_spike",
                            "equations driven by the transmitter pulse T (no per-spike rule)")
        pulse = self.mapping("pulse", "{amplitude: PARAMETER, duration: PARAMETER}")
        if set(pulse) != {"amplitude", "duration"}:
            raise self.fail(f"{dict(pulse)!r} is not a pulse", "pulse", "{amplitude: PARAMETER, duration: PARAMETER}")
        amplitude = self._pulse_parameter(pulse["amplitude"], "pulse.amplitude", None)
        duration = self._pulse_parameter(pulse["duration"], "pulse.duration", "ms")
        if "weight_unit" not in self.spec:
            raise self.fail("a continuous synapse without a weight unit", "weight_unit", "the unit of the weight, e.g. nS")
        weight_unit = self.unit(self.spec["weight_unit"], "weight_unit")
        available = {**self.units, "T": self.units[amplitude], "V": quantity("mV"), "weight": quantity(weight_unit)}
        equations = {}
        states = [s.name for s in self.states]
        for state, text in self.mapping("equations", "a mapping state -> right-hand side").items():
            if state not in states:
                raise self.fail(f"{state!r} is not a state variable", f"equations.{state}", "one of " + ", ".join(states))
            target = self.units[state] / quantity("ms")
            node, _ = self.expression(text, f"equations.{state}", available, target,
                                      f"{dimensions.show(target)}, the unit of {state} per ms")
            equations[state] = self.canonical(node)
        if "current" not in self.spec:
            raise self.fail("a continuous synapse without a current", "current", "the current into the target (pA)")
        node, _ = self.expression(self.spec["current"], "current", available, quantity("pA"), "pA (a current)")
        return dict(equations=equations, current=self.canonical(node), pulse=(amplitude, duration),
                    weight_unit=weight_unit, on_spike=())

    def _pulse_parameter(self, name: Any, field: str, dimension: str | None) -> str:
        if name not in {p.name for p in self.parameters}:
            raise self.fail(f"{name!r} is not a parameter", field, "a parameter name")
        if dimension and not dimensions.same(self.units[name], quantity(dimension)):
            raise self.fail(f"{name!r} is in {self.units[name].units:~P}", field, f"a parameter in {dimension}")
        return name


def type_summary(kind: NeuronType | SynapseType) -> Iterable[str]:
    """Lines describing a type for ``bridge catalog``."""
    yield f"    {kind.doc}" if kind.doc else "    (no description)"
    for p in kind.parameters:
        default = "required" if p.default is None else f"{p.default:g}"
        yield f"    {p.name:<12} {p.unit or '1':<10} {default:<10} {p.doc}"
    for state in kind.states:
        yield f"    state {state.name:<6} {state.unit or '1':<10} {str(state.initial):<10} {state.doc}"
    for state, rhs in getattr(kind, "equations", {}).items():
        yield f"    d{state}/dt = {rhs}"
    if getattr(kind, "threshold", None):
        yield f"    spike when {kind.threshold} >= 0 ({kind.threshold_detection}); reset: " + \
            "; ".join(f"{v} = {e}" for v, e in kind.reset)
    if getattr(kind, "on_spike", None) and not getattr(kind, "continuous", False):
        yield "    on spike: " + "; ".join(f"{v} = {e}" for v, e in kind.on_spike)
    if getattr(kind, "current", None):
        yield f"    current: {kind.current}"
