"""Generate Brian2 model code from the catalog's canonical declarations.

Nothing here imports Brian2: every function turns a catalog declaration (equations, threshold,
reset, event rules; see :mod:`bridge.catalog.base`) into the strings Brian2 expects.  All
variables are dimensionless numbers in bridge's internal units (ms, mV, pA, pF, nS, mM); only
time carries a Brian2 unit, so a derivative in "unit per ms" is written ``dX/dt = (rhs)/ms : 1``.

Expressions are translated through Python's :mod:`ast`, so names can be renamed safely (a
target's ``V`` becomes ``V_m_post``) and the catalog functions get Brian2 equivalents:

* ``exp(a)`` -> ``exp(clip(a, -inf, 700))`` as in :mod:`bridge.catalog.expressions` (an exponential
  integrate-and-fire voltage past its peak must not overflow within one step);
* ``decay(h, tau)`` -> ``exp(-h/tau)``, and 0 when ``tau`` is 0 (written without a division by 0).
"""
from __future__ import annotations

import ast
from typing import Mapping, Sequence

from ..catalog.base import NeuronType, Statements, SynapseType

EXP_CLIP = 700.0
"""Largest argument passed to ``exp`` (same clip as the reference's expression evaluator)."""

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_PLAIN_FUNCTIONS = {"log", "sqrt"}


class _Renderer:
    """Render a parsed catalog expression as a fully parenthesised Brian2 expression."""

    def __init__(self, rename: Mapping[str, str]):
        self.rename = rename

    def render(self, node: ast.AST) -> str:
        if isinstance(node, ast.Expression):
            return self.render(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            return self.rename.get(node.id, node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return f"({self.render(node.left)} {_OPERATORS[type(node.op)]} {self.render(node.right)})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return f"({'-' if isinstance(node.op, ast.USub) else '+'}{self.render(node.operand)})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self.call(node.func.id, [self.render(a) for a in node.args])
        raise ValueError(f"cannot translate {ast.dump(node)} to Brian2")

    @staticmethod
    def call(name: str, args: list[str]) -> str:
        if name == "exp" and len(args) == 1:
            return f"exp(clip({args[0]}, -inf, {EXP_CLIP!r}))"
        if name == "decay" and len(args) == 2:
            h, tau = args
            return f"(int({tau} > 0)*exp(-{h}/({tau} + int({tau} <= 0))))"
        if name in _PLAIN_FUNCTIONS and len(args) == 1:
            return f"{name}({args[0]})"
        raise ValueError(f"unknown function {name}({', '.join(args)}) in a catalog expression")


def translate(expression: str, rename: Mapping[str, str] | None = None) -> str:
    """Translate one catalog expression to Brian2 syntax, renaming identifiers per ``rename``."""
    return _Renderer(rename or {}).render(ast.parse(expression, mode="eval"))


def statements(rules: Statements, rename: Mapping[str, str] | None = None) -> list[str]:
    """Translate ordered assignments ``(variable, expression)`` to Brian2 code lines."""
    rename = rename or {}
    return [f"{rename.get(variable, variable)} = {translate(expression, rename)}" for variable, expression in rules]


def _constant_declarations(names: Sequence[str], suffix: str = "") -> list[str]:
    return [f"{name} : 1 (constant{suffix})" for name in names]


# ---------------------------------------------------------------------------------- neurons
def neuron_equations(neuron: NeuronType, external_currents: Sequence[str] = (),
                     dc_masks: Sequence[str] = ()) -> str:
    """Brian2 equations of a neuron type.

    Parameters are per-cell constants; ``I_dc`` (pA, the DC stimuli, set once per step) and the
    currents of continuous synapses named in ``external_currents`` (pA, summed variables) make up
    the ``I_ext`` of the catalog equations.  ``dc_masks`` are per-cell constants (1 for a cell a
    DC stimulus targets, else 0).  Clamped variables get Brian2's ``unless refractory``.
    """
    lines = []
    state_names = [s.name for s in neuron.states]
    rename = located_cap(neuron)
    for name in state_names:
        if name in neuron.equations:
            flag = " (unless refractory)" if name in neuron.clamped and neuron.refractory else ""
            lines.append(f"d{name}/dt = ({translate(neuron.equations[name], rename)})/ms : 1{flag}")
        else:
            lines.append(f"{name} : 1")
    lines.append(f"I_ext = {' + '.join(['I_dc', *external_currents])} : 1")
    lines.append("I_dc : 1")
    lines.extend(f"{current} : 1" for current in external_currents)
    lines.extend(_constant_declarations([p.name for p in neuron.parameters] + list(dc_masks)))
    if neuron.emits:
        lines.append("last_emit : second")
    if located_probes(neuron):
        lines.extend([f"{STEP_START} : 1", f"{STEP_END} : 1"])
    return "\n".join(lines)


STEP_START, STEP_END = "V_step_start", "V_step_end"
"""Per-cell copies of the membrane potential at the start of the step and at its end before
synaptic delivery (``located`` types)."""


def located_probes(neuron: NeuronType) -> dict[str, str]:
    """``{Brian2 schedule slot: code}`` recording :data:`STEP_START` / :data:`STEP_END`."""
    if _located_cut(neuron) is None:
        return {}
    return {"before_groups": f"{STEP_START} = {neuron.membrane}", "before_synapses": f"{STEP_END} = {neuron.membrane}"}


def _located_cut(neuron: NeuronType) -> str | None:
    """Brian2 expression of the cut-off ``V_cut`` when a ``located`` threshold reads ``V - V_cut``."""
    if neuron.threshold is None or neuron.threshold_detection != "located":
        return None
    tree = ast.parse(neuron.threshold, mode="eval").body
    if (isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Sub) and isinstance(tree.left, ast.Name)
            and tree.left.id == neuron.membrane):
        return translate(ast.unparse(tree.right))
    return None


def located_cap(neuron: NeuronType) -> dict[str, str]:
    """For ``located`` threshold types whose threshold reads ``V - V_cut``: evaluate the right-hand
    sides with ``min(V, V_cut)`` instead of ``V``.

    The reference resets such a cell at the crossing, so it never integrates a state beyond it;
    Brian2 tests the threshold at the grid and would otherwise integrate the divergent upswing
    (AdEx's exponential, the quadratic of Izhikevich/QIF) past the cut-off inside the step, where
    it overflows and corrupts the other states (AdEx's w).  Below the cut-off nothing changes.
    """
    cut = _located_cut(neuron)
    return {neuron.membrane: f"clip({neuron.membrane}, -inf, {cut})"} if cut else {}


def threshold_condition(neuron: NeuronType) -> str | None:
    """Brian2 threshold condition (the catalog's threshold expression is >= 0 when firing)."""
    return None if neuron.threshold is None else f"{translate(neuron.threshold)} >= 0"


def reset_code(neuron: NeuronType, emit_rule: Statements = ()) -> str:
    """Reset statements, followed by the neuron's own emission rule (``lif_tum_2000``).

    The emission rule sees ``h`` = ms since the neuron's previous emission (since 0 at the first)
    and ``first`` = 0, as in the reference; Brian2's reset runs at clock ``t`` = spike time - dt.
    """
    before, after = located_remainder(neuron)
    lines = before + statements(neuron.reset) + after
    if neuron.emits:
        rename = {"h": "_h", "first": "0.0", "efficacy": "_efficacy"}
        lines.append("_h = (t + dt - last_emit)/ms")
        lines.extend(statements(emit_rule, rename))
        lines.append("last_emit = t + dt")
    return "\n".join(lines)


def located_remainder(neuron: NeuronType) -> tuple[list[str], list[str]]:
    """Code around a ``located`` reset at the end of the step (before it, after it) that accounts
    for the part of the step after the crossing, where the reference follows the reset state.

    The crossing is placed by linear interpolation of ``V`` between :data:`STEP_START` and
    :data:`STEP_END` (the step-end value before synaptic delivery, so that a crossing caused by a
    delivered jump gets no remainder, like the reference's grid test).  Over the remainder ``r*dt``
    a variable the reset overwrites (``V = V_reset``) advances by one Euler step from the reset
    state; every other variable, already integrated over the whole step, is corrected by
    ``r*dt*(f(reset state) - f(unreset state))`` (zero for one the reset does not affect, such as a
    synaptic current).  Clamped variables stay put when the type has a refractory period.
    Empty for other types.
    """
    cut = _located_cut(neuron)
    if cut is None:
        return [], []
    rename = located_cap(neuron)
    frozen = f"(1 - int({neuron.refractory} > 0))" if neuron.refractory else "1"
    overwritten = {variable for variable, expression in neuron.reset
                   if not rule_uses(((variable, expression),), variable)}
    before = [f"_r = clip(({STEP_END} - {cut})/({STEP_END} - {STEP_START} + int({STEP_END} <= {STEP_START})), 0, 1)"]
    before.extend(f"_f0_{name} = {translate(rhs, rename)}" for name, rhs in neuron.equations.items())
    after = [f"_f1_{name} = {translate(rhs, rename)}" for name, rhs in neuron.equations.items()]
    for name in neuron.equations:
        hold = frozen if name in neuron.clamped else "1"
        change = f"_f1_{name}" if name in overwritten else f"(_f1_{name} - _f0_{name})"
        after.append(f"{name} = {name} + {hold}*_r*dt/ms*{change}")
    return before, after


def refractory_period(neuron: NeuronType) -> str | None:
    """Brian2 refractory period (a time expression) or None.

    Brian2 leaves refractoriness ``timestep(refractory, dt)`` steps after the step whose threshold
    fired; the reference clamps the state during the ``t_ref/dt`` steps that *follow* the spike time,
    which ends one step later on Brian2's clock, hence ``+ dt`` (only when ``t_ref`` > 0).
    """
    if not neuron.refractory or not neuron.clamped:
        return None
    ref = neuron.refractory
    return f"{ref}*ms + dt*int({ref} > 0)"


# ---------------------------------------------------------------------------------- synapses
SYNAPTIC_SUFFIX = "_syn"
"""Suffix of every per-connection Brian2 variable, so that none shadows a pre- or postsynaptic
variable of the same name (Brian2 refuses that: ``U`` of a tsodyks synapse vs ``U`` of an
``lif_tum_2000`` source, ``x`` of an NMDA synapse vs ``x`` of its target...)."""


def syn(name: str) -> str:
    """Brian2 name of the per-connection variable ``name``."""
    return name + SYNAPTIC_SUFFIX


def _synaptic_rename(names: Sequence[str]) -> dict[str, str]:
    return {name: syn(name) for name in names}


def event_synapse_equations(synapse: SynapseType, parameters: Sequence[str]) -> str:
    """Per-connection declarations of an event synapse: states, parameters, weight and spike clock.

    ``t_last`` is the Brian2 clock time of the previous arrival (initially the arrival time a spike
    at t = 0 would have), ``first`` is 1 until the first spike.
    """
    lines = [f"{syn(s.name)} : 1" for s in synapse.states]
    lines.extend(_constant_declarations([syn(p) for p in [*parameters, "weight"]]))
    lines.extend([f"{syn('t_last')} : second", f"{syn('first')} : 1"])
    return "\n".join(lines)


def on_pre_code(synapse: SynapseType, parameters: Sequence[str], receptor: str, sign: float,
                rename: Mapping[str, str] | None = None) -> str:
    """``on_pre`` code: the event rule of ``synapse`` (``h``, ``first`` available), then the jump.

    The target's ``receptor`` variable changes by ``sign * weight * efficacy`` (``sign`` is -1 for
    inhibitory conductances, whose negative weight is added as its magnitude).  ``rename`` maps
    further rule identifiers (``{"first": "0.0"}`` for a neuron's own emission rule).
    """
    rule = synapse.on_spike
    names = [s.name for s in synapse.states] + list(parameters) + ["first"]
    rename = {**_synaptic_rename(names), "h": "_h", "efficacy": "_efficacy", **(rename or {})}
    lines = [f"_h = (t - {syn('t_last')})/ms"] if rule_uses(rule, "h") else []
    lines.extend(statements(rule, rename))
    efficacy = "_efficacy" if any(variable == "efficacy" for variable, _ in rule) else "1.0"
    lines.append(f"{receptor}_post += {sign!r}*{syn('weight')}*{efficacy}")
    lines.extend([f"{syn('t_last')} = t", f"{syn('first')} = 0"])
    return "\n".join(lines)


def rule_uses(rule: Statements, name: str) -> bool:
    """True when ``name`` appears in an expression of ``rule``."""
    return any(isinstance(node, ast.Name) and node.id == name
               for _, expression in rule for node in ast.walk(ast.parse(expression, mode="eval")))


COUPLING_HALVES = ("_a", "_b")
"""Suffixes of the two halves of a continuous synapse's summed current (see below)."""


def continuous_synapse_equations(synapse: SynapseType, parameters: Sequence[str], current: str,
                                 membrane: str) -> str:
    """Clock-driven equations of a continuous synapse and its current (pA) into the target.

    The current is summed into the target twice, as ``{current}_a`` and ``{current}_b``, each with
    half the weight: the backend evaluates ``_a`` before and ``_b`` after the synapse's state
    update, so the target integrates the step with the trapezoidal mean of the synaptic current
    (second order in dt instead of the first order of one summed variable).  The transmitter ``T``
    is a per-connection variable held constant within each step (set at the arrival, cleared
    ``T_dur`` later by a step-end operation), as in the reference.
    """
    rename = {**_synaptic_rename([s.name for s in synapse.states] + list(parameters) + ["weight", "T"]),
              "V": f"{membrane}_post"}
    lines = [f"d{syn(s.name)}/dt = ({translate(synapse.equations[s.name], rename)})/ms : 1 (clock-driven)"
             for s in synapse.states]
    expression = translate(synapse.current, rename)
    lines.extend(f"{current}{half}_post = 0.5*{expression} : 1 (summed)" for half in COUPLING_HALVES)
    lines.extend(_constant_declarations([syn(p) for p in [*parameters, "weight"]]))
    lines.extend([f"{syn('T')} : 1", f"{syn('pulse_end')} : second"])
    return "\n".join(lines)


def pulse_on_pre(synapse: SynapseType) -> str:
    """``on_pre`` code of a continuous synapse: start (or restart) the transmitter pulse."""
    amplitude, duration = synapse.pulse
    return f"{syn('T')} = {syn(amplitude)}\n{syn('pulse_end')} = t + {syn(duration)}*ms"


def pulse_step_end(synapse: SynapseType) -> str:
    """Step-end code ending pulses: ``T`` stays on for ``T_dur/dt`` whole steps after the arrival."""
    amplitude, _ = synapse.pulse
    return f"{syn('T')} = {syn(amplitude)}*int(timestep({syn('pulse_end')} - t, dt) > 0)"
