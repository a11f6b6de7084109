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
import math
from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

import numpy as np

from ...catalog.base import NeuronType, Statements, SynapseType

EXP_CLIP = 700.0
"""Largest argument passed to ``exp`` (same clip as the reference's expression evaluator)."""

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_PLAIN_FUNCTIONS = {"log": math.log, "sqrt": math.sqrt, "abs": abs}


class _Renderer:
    """Render a parsed catalog expression as a fully parenthesised Brian2 expression.

    With ``known`` (catalog name -> value of a quantity that is one number across the group), the
    renderer also folds what those values make trivial: ``0*e`` and ``e*0`` -> ``0.0``, ``1*e``,
    ``e*1``, ``e/1``, ``e + 0``, ``0 + e``, ``e - 0`` -> ``e``, numbers combined with numbers, and
    ``decay(h, tau)`` -> ``exp(-h/tau)`` (tau > 0) or ``0.0`` (tau = 0).  Every fold gives the same
    IEEE result as the unfolded code for finite operands (``1*x``, ``x + 0`` and ``x/1`` are exact;
    the guarded ``decay`` is ``1*exp(-h/(tau + 0))``).  Known names are still written as names (they
    are namespace constants), so the generated code depends on the values only through the folds
    (which zero/one/positive cases occur), never through the numbers themselves.  With
    ``fold_ones=False`` a known name equal to 1 is kept (only literal ones are folded), so that code
    generated for output does not change, and recompile, when a weight happens to be 1; the
    analysis of :func:`event_synapse_code` folds them.
    """

    def __init__(self, rename: Mapping[str, str], known: Mapping[str, float] | None = None,
                 fold_ones: bool = True):
        self.rename = rename
        self.known = known
        self.fold_ones = fold_ones

    def render(self, node: ast.AST) -> str:
        return self.fold(node)[0]

    def fold(self, node: ast.AST) -> tuple[str, float | None, bool]:
        """(text, value if known, text is a plain number) of ``node``."""
        if isinstance(node, ast.Expression):
            return self.fold(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return repr(float(node.value)), float(node.value), True
        if isinstance(node, ast.Name):
            text = self.rename.get(node.id, node.id)
            number = _number(text)
            if number is not None:
                return repr(number), number, True
            return text, (self.known or {}).get(node.id), False
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return self.binary(node, self.fold(node.left), self.fold(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            text, value, literal = self.fold(node.operand)
            if isinstance(node.op, ast.USub):
                value = None if value is None else -value
                if literal and self.known is not None:
                    return repr(value), value, True
                return f"(-{text})", value, False
            return (text, value, literal) if self.known is not None else (f"(+{text})", value, False)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self.call(node.func.id, [self.fold(a) for a in node.args])
        raise ValueError(f"cannot translate {ast.dump(node)} to Brian2")

    def binary(self, node: ast.BinOp, left, right) -> tuple[str, float | None, bool]:
        op = type(node.op)
        (lt, lv, ll), (rt, rv, rl) = left, right
        value = None
        if lv is not None and rv is not None:
            try:
                value = {ast.Add: lambda: lv + rv, ast.Sub: lambda: lv - rv, ast.Mult: lambda: lv * rv,
                         ast.Div: lambda: lv / rv, ast.Pow: lambda: lv ** rv}[op]()
            except (ZeroDivisionError, OverflowError):
                value = None
            if isinstance(value, complex):  # a negative number to a fractional power
                value = None
        if self.known is not None:
            if ll and rl and value is not None and op is not ast.Pow:
                return repr(float(value)), float(value), True
            if op is ast.Mult and (lv == 0 or rv == 0):
                return "0.0", 0.0, True
            if op is ast.Mult and lv == 1 and (ll or self.fold_ones):
                return right
            if (op is ast.Mult or op is ast.Div) and rv == 1 and (rl or self.fold_ones):
                return left
            if op is ast.Add and lv == 0:
                return right
            if (op is ast.Add or op is ast.Sub) and rv == 0:
                return left
            if op is ast.Div and lv == 0 and rv not in (None, 0):
                return "0.0", 0.0, True
        return f"({lt} {_OPERATORS[op]} {rt})", value, False

    def call(self, name: str, args: list) -> tuple[str, float | None, bool]:
        texts = [a[0] for a in args]
        values = [a[1] for a in args]
        if name == "exp" and len(args) == 1:
            value = None if values[0] is None else math.exp(min(values[0], EXP_CLIP))
            return f"exp(clip({texts[0]}, -inf, {EXP_CLIP!r}))", value, False
        if name == "decay" and len(args) == 2:
            (h, hv, _), (tau, tv, _) = args
            if self.known is not None and tv is not None:
                if tv <= 0:
                    return "0.0", 0.0, True
                value = None if hv is None else math.exp(-hv / tv)
                return f"exp(-{h}/{tau})", value, False
            return f"(int({tau} > 0)*exp(-{h}/({tau} + int({tau} <= 0))))", None, False
        if name in ("min", "max") and len(args) == 2:
            # Brian2 has no two-argument min/max: clip(a, -inf, b) is min(a, b), clip(a, b, inf) max(a, b)
            known = None if None in values else (min(values) if name == "min" else max(values))
            bounds = f"-inf, {texts[1]}" if name == "min" else f"{texts[1]}, inf"
            return f"clip({texts[0]}, {bounds})", known, False
        if name in _PLAIN_FUNCTIONS and len(args) == 1:
            value = None
            if values[0] is not None:
                try:
                    value = _PLAIN_FUNCTIONS[name](values[0])
                except ValueError:
                    value = None
            return f"{name}({texts[0]})", value, False
        raise ValueError(f"unknown function {name}({', '.join(texts)}) in a catalog expression")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def translate(expression: str, rename: Mapping[str, str] | None = None,
              known: Mapping[str, float] | None = None) -> str:
    """Translate one catalog expression to Brian2 syntax, renaming identifiers per ``rename``
    (folding what the values ``known`` make trivial, see :class:`_Renderer`)."""
    return _Renderer(rename or {}, known).render(ast.parse(expression, mode="eval"))


def statements(rules: Statements, rename: Mapping[str, str] | None = None) -> list[str]:
    """Translate ordered assignments ``(variable, expression)`` to Brian2 code lines."""
    rename = rename or {}
    return [f"{rename.get(variable, variable)} = {translate(expression, rename)}" for variable, expression in rules]


def _constant_declarations(names: Sequence[str], suffix: str = "") -> list[str]:
    return [f"{name} : 1 (constant{suffix})" for name in names]


# ---------------------------------------------------------------------------------- neurons
def neuron_equations(neuron: NeuronType, external_currents: Sequence[str] = (),
                     dc_masks: Sequence[str] = (), constants: Collection[str] = ()) -> str:
    """Brian2 equations of a neuron type.

    Parameters are per-cell constants; ``I_dc`` (pA, the DC stimuli, set once per step) and the
    currents of continuous synapses named in ``external_currents`` (pA, summed variables) make up
    the ``I_ext`` of the catalog equations.  ``dc_masks`` are per-cell constants (1 for a cell a
    DC stimulus targets, else 0).  Clamped variables get Brian2's ``unless refractory``.
    Parameters named in ``constants`` (one value for the whole group) are not declared: they are
    namespace constants.
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
    lines.extend(_constant_declarations([p.name for p in neuron.parameters if p.name not in constants]
                                        + list(dc_masks)))
    if neuron.emits:
        lines.append("last_emit : second")
    lines.extend(f"{copy} : 1" for copy in located_probe_variables(neuron))
    return "\n".join(lines)


LOCATED_SUBSTEPS = 10
"""Runge–Kutta sub-steps per time step of ``located`` threshold types (as NEURON's mechanisms): their
divergent upswing needs steps shorter than dt (:func:`located_state_update`)."""
LOCATED_BISECTIONS = 12
"""Bisection steps locating a crossing inside its sub-step: to dt/(10*2**12) (2.4e-6 ms at 0.1 ms)."""
REMAINDER_SUBSTEPS = 2
"""Runge–Kutta sub-steps from the located reset to the end of the step."""
SUBSTEP = "located_substep"
"""Per-cell index of the sub-step in which ``V`` first reached the cut-off in the last step."""


def substep_start(name: str) -> str:
    """Per-cell copy of state ``name`` at the start of the sub-step in which ``V`` crossed."""
    return f"{name}_substep_start"


def step_end(name: str) -> str:
    """Per-cell copy of state ``name`` at the end of the step, before synaptic delivery."""
    return f"{name}_step_end"


def located_probe_variables(neuron: NeuronType) -> list[str]:
    """Per-cell variables :func:`located_state_update` writes for :func:`located_reset` (none for
    other types)."""
    if _located_cut(neuron) is None:
        return []
    return [copy(name) for copy in (substep_start, step_end) for name in neuron.equations] + [SUBSTEP]


def located_state_update(neuron: NeuronType) -> str:
    """Brian2 abstract code integrating a ``located`` threshold type over one step: classical
    Runge–Kutta in :data:`LOCATED_SUBSTEPS` sub-steps (right-hand sides with ``V`` capped at the
    cut-off, :func:`located_cap`), recording for :func:`located_reset` the first sub-step whose end
    is at the cut-off (:data:`SUBSTEP`, its start state :func:`substep_start`; the last one when
    none is) and the step-end state before synaptic delivery (:func:`step_end`).  As in Brian2's own
    methods for ``unless refractory`` equations, a clamped variable's derivative is multiplied by
    ``int(not_refractory)`` (and Brian2 writes it only while the cell is not refractory)."""
    cut, v, m = _located_cut(neuron), neuron.membrane, LOCATED_SUBSTEPS
    names = list(neuron.equations)
    state = {n: n for n in names}
    held = {n: "(1 - int(not_refractory))" for n in neuron.clamped} if refractory_period(neuron) else {}
    lines = [f"_found0 = 0.0*{v}"]
    chosen: dict[str, list[str]] = {n: [] for n in names}
    index = []
    for i in range(m):
        lines += _runge_kutta(neuron, state, f"dt/ms/{m}", f"_sub{i}_", f"_s{i}", hold=held)
        lines += [f"_first{i} = int(_sub{i}_{v} >= {cut})*(1 - _found{i})", f"_found{i + 1} = _found{i} + _first{i}"]
        weight = f"_first{i}" if i < m - 1 else f"(_first{i} + 1 - _found{m})"
        for n in names:
            chosen[n].append(f"{weight}*{state[n]}")
        index.append(f"{weight}*{i}")
        state = {n: f"_sub{i}_{n}" for n in names}
    lines += [f"{substep_start(n)} = " + " + ".join(chosen[n]) for n in names]
    lines += [f"{SUBSTEP} = " + " + ".join(index)]
    lines += [f"{step_end(n)} = {state[n]}" for n in names] + [f"{n} = {state[n]}" for n in names]
    return "\n".join(lines)


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
    """Reset statements (for ``located`` types: :func:`located_reset`), followed by the neuron's own
    emission rule (``lif_tum_2000``).

    The emission rule sees ``h`` = ms since the neuron's previous emission (since 0 at the first)
    and ``first`` = 0, as in the reference; Brian2's reset runs at clock ``t`` = spike time - dt.
    """
    lines = located_reset(neuron) or statements(neuron.reset)
    if neuron.emits:
        rename = {"h": "_h", "first": "0.0", "efficacy": "_efficacy"}
        lines.append("_h = (t + dt - last_emit)/ms")
        lines.extend(statements(emit_rule, rename))
        lines.append("last_emit = t + dt")
    return "\n".join(lines)


def located_reset(neuron: NeuronType) -> list[str]:
    """Reset code of a ``located`` threshold type (empty for other types): the reference's reset at
    the crossing inside the step.

    Brian2 tests the threshold at the grid, after the step and the synaptic delivery.  When ``V``
    had reached the cut-off before the delivery (its step-end copy), the crossing is located as
    NEURON's mechanisms do: bisection (:data:`LOCATED_BISECTIONS` steps) on the length of one
    Runge–Kutta step from the start of the sub-step in which it crossed (recorded by
    :func:`located_state_update`); the reset is applied to the state there, the rest of the step is
    integrated from the reset state in :data:`REMAINDER_SUBSTEPS` equal sub-steps (clamped variables
    held when the type has a refractory period), and the jumps delivered at the step end are added
    again.  A crossing caused by the delivered jump alone is reset at the grid, like the reference's
    grid test.  Every temporary is assigned once (Brian2's numpy target aliases a temporary copied
    from another and updated in place).
    """
    cut = _located_cut(neuron)
    if cut is None:
        return []
    names, v, m = list(neuron.equations), neuron.membrane, LOCATED_SUBSTEPS
    start = {n: substep_start(n) for n in names}
    h = f"dt/ms/{m}"  # sub-step length (ms)
    # the bracket [_lo, _hi] (fractions of the sub-step) is written as per-cell values, not scalars
    lines = [f"_inside = int({step_end(v)} >= {cut})", "_lo0 = 0.0*_inside", "_hi0 = 1.0 + _lo0"]
    lines += _derivatives(neuron, start, "_f0_")  # the first stage of every trial step
    for i in range(LOCATED_BISECTIONS):
        lines.append(f"_mid{i} = 0.5*(_lo{i} + _hi{i})")
        lines += _runge_kutta(neuron, start, f"_mid{i}*{h}", f"_try{i}_", f"_b{i}", only=v, first="_f0_")
        lines += [f"_above{i} = int(_try{i}_{v} >= {cut})",
                  f"_hi{i + 1} = _above{i}*_mid{i} + (1 - _above{i})*_hi{i}",
                  f"_lo{i + 1} = _above{i}*_lo{i} + (1 - _above{i})*_mid{i}"]
    crossing = f"_hi{LOCATED_BISECTIONS}"
    lines += _runge_kutta(neuron, start, f"{crossing}*{h}", "_cross_", "_c")
    reset_lines, state = _reset_into(neuron, {n: f"_cross_{n}" for n in names}, "_reset_")
    r = REMAINDER_SUBSTEPS
    lines += reset_lines + [f"_rest = (1 - ({SUBSTEP} + {crossing})/{m})*dt/ms/{r}"]  # ms per sub-step
    held = {n: f"int({neuron.refractory} > 0)" for n in neuron.clamped} if neuron.refractory else {}
    for i in range(r):
        lines += _runge_kutta(neuron, state, "_rest", f"_rest{i}_", f"_r{i}", hold=held)
        state = {n: f"_rest{i}_{n}" for n in names}
    grid_lines, grid = _reset_into(neuron, {n: n for n in names}, "_grid_")
    lines += grid_lines
    lines += [f"{n} = _inside*({state[n]} + {n} - {step_end(n)}) + (1 - _inside)*{grid[n]}" for n in names]
    return lines


def _reset_into(neuron: NeuronType, state: Mapping[str, str], prefix: str) -> tuple[list[str], dict[str, str]]:
    """The reset statements applied to ``state`` (name -> expression), each result a new temporary
    ``{prefix}{name}{i}`` (never reassigned: Brian2's numpy target aliases a temporary copied from
    another and updated in place); returns the lines and the reset state (name -> expression)."""
    current, lines = dict(state), []
    for i, (variable, expression) in enumerate(neuron.reset):
        target = f"{prefix}{variable}{i}"
        lines.append(f"{target} = {translate(expression, current)}")
        current[variable] = target
    return lines, current


def _runge_kutta(neuron: NeuronType, state: Mapping[str, str], h: str, prefix: str, stages: str,
                 only: str | None = None, hold: Mapping[str, str] | None = None, first: str | None = None
                 ) -> list[str]:
    """Lines of one classical Runge–Kutta step of length ``h`` (ms, an expression) of the neuron's
    equations from ``state`` (name -> expression) into ``{prefix}{name}`` (only ``only`` when given),
    stage derivatives in ``{stages}k2_{name}`` etc.; a derivative is multiplied by ``1 - hold[name]``
    (a held variable stays put).  ``first``: prefix of derivatives at ``state`` already computed."""
    names = list(neuron.equations)
    k1, k2, k3, k4 = first or f"{stages}k1_", f"{stages}k2_", f"{stages}k3_", f"{stages}k4_"
    lines = [] if first else _derivatives(neuron, state, k1, hold)
    lines += _derivatives(neuron, {n: f"({state[n]} + 0.5*{h}*{k1}{n})" for n in names}, k2, hold)
    lines += _derivatives(neuron, {n: f"({state[n]} + 0.5*{h}*{k2}{n})" for n in names}, k3, hold)
    lines += _derivatives(neuron, {n: f"({state[n]} + {h}*{k3}{n})" for n in names}, k4, hold)
    for n in ([only] if only else names):
        lines.append(f"{prefix}{n} = {state[n]} + {h}/6*({k1}{n} + 2*{k2}{n} + 2*{k3}{n} + {k4}{n})")
    return lines


def _derivatives(neuron: NeuronType, state: Mapping[str, str], prefix: str,
                 hold: Mapping[str, str] | None = None) -> list[str]:
    """Lines ``{prefix}{name} = dname/dt`` (per ms) at ``state`` (name -> expression), ``V`` capped at
    the cut-off, held variables' derivatives zero."""
    hold = hold or {}
    cut = _located_cut(neuron)
    rename = {**state, **({neuron.membrane: f"clip({state[neuron.membrane]}, -inf, {cut})"} if cut else {})}
    return [f"{prefix}{n} = " + (f"(1 - {hold[n]})*" if n in hold else "")
            + f"({translate(rhs, rename)})" for n, rhs in neuron.equations.items()]


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


def rule_uses(rule: Statements, name: str) -> bool:
    """True when ``name`` appears in an expression of ``rule``."""
    return any(isinstance(node, ast.Name) and node.id == name
               for _, expression in rule for node in ast.walk(ast.parse(expression, mode="eval")))


@dataclass
class EventSynapseCode:
    """Generated code of one event projection whose uniform quantities are namespace constants.

    ``model``: the per-connection declarations (only what varies or changes: the states the rule
    changes, parameters/weight that differ between connections, the spike clock when the rule
    reads ``h`` and the first-spike flag when it cannot be derived from the clock); ``on_pre``: the
    event code; ``namespace``: Brian2 name -> value of every uniform quantity (parameters, the
    signed weight, states that never change); ``values``: Brian2 name -> initial value of the
    per-connection variables (scalars or arrays); ``clock``: ``None`` (no spike clock), ``"arrival"``
    (``t_last`` starts at the arrival time of a spike at t = 0) or ``"sentinel"`` (``t_last`` starts
    at :data:`FIRST_SENTINEL`, and a negative ``t_last`` means "no spike yet").
    """

    model: str
    on_pre: str
    namespace: dict[str, float]
    values: dict[str, Any]
    clock: str | None


FIRST_SENTINEL = -1.0
"""Initial ``t_last`` (seconds) of a synapse whose first-spike flag is read off its spike clock."""


def uniform(value: Any) -> float | None:
    """The one value of a scalar or of an array whose elements are all equal, else None."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return float(array)
    if array.size and np.all(array == array.flat[0]):
        return float(array.flat[0])
    return None


def event_synapse_code(synapse: SynapseType, parameters: Mapping[str, Any], initial: Mapping[str, Any],
                       weight: Any, receptor: str, sign: float, rename: Mapping[str, str] | None = None,
                       keep_states: bool = False) -> EventSynapseCode:
    """Code of an event projection with the uniform quantities as constants (see
    :class:`EventSynapseCode`); ``keep_states`` keeps every state per connection (recorded ones).

    A state is dropped when the rule, with the uniform values folded in, leaves it at its (uniform)
    initial value on every spike, for ``first`` = 0 and 1 (tsodyks2's ``u`` without facilitation).
    The first-spike flag is derived from the spike clock (``t_last`` < 0) when the rule at the first
    spike does not read ``h``.  The weight is multiplied by ``sign`` beforehand (exact: sign is +-1).
    """
    rename = dict(rename or {})
    rule = synapse.on_spike
    known = {p: v for p, v in ((p, uniform(value)) for p, value in parameters.items()) if v is not None}
    constant_states = {} if keep_states else {
        s.name: v for s, v in ((s, uniform(initial[s.name])) for s in synapse.states) if v is not None}
    first_fixed = _number(rename["first"]) if "first" in rename else None
    uses_first = first_fixed is None and rule_uses(rule, "first")
    flags = [0.0, 1.0] if uses_first else [first_fixed]
    changed = True
    while changed:  # drop the candidates some spike changes, until the rest are invariant
        changed = False
        for flag in flags:
            env = {**known, **constant_states, **({} if flag is None else {"first": flag})}
            for variable, expression in rule:
                value = _Renderer(rename, env).fold(ast.parse(expression, mode="eval"))[1]
                if variable in constant_states and value != constant_states[variable]:
                    del constant_states[variable]
                    changed = True
                    break
                if value is None:
                    env.pop(variable, None)
                else:
                    env[variable] = value
            if changed:
                break
    names = [s.name for s in synapse.states] + list(parameters) + ["weight"]
    # the rule's temporaries (tsodyks3's z, P_yy, ...) get a leading underscore: in Brian2's on_pre a
    # bare name that is not a synaptic variable is the postsynaptic cell's variable of that name, so
    # tsodyks3's ``z = 1 - x - y`` used to overwrite an AdEx target's adaptation current z
    temporaries = {variable: f"_{variable}" for variable, _ in rule
                   if variable not in names and variable not in ("efficacy", "h", "first")}
    full_rename = {**temporaries, **_synaptic_rename(names), "h": "_h", "efficacy": "_efficacy", **rename}
    base = {**known, **constant_states}

    declared = {syn(s.name) for s in synapse.states} | {syn("first")}
    scalars = {syn(name) for name in base} | {"t", "dt"}

    def render(env: Mapping[str, float], first: str, local_names: Mapping[str, str] = {}
               ) -> tuple[list[tuple[str, str]], dict[str, float]]:
        """Rendered assignments (target, expression) and the values known after the rule."""
        lines = []
        local = dict(env)
        names = {**full_rename, "first": first, **local_names}
        for variable, expression in rule:
            text, value, literal = _Renderer(names, local, fold_ones=False).fold(ast.parse(expression, mode="eval"))
            if variable in constant_states:
                continue  # invariant: stays its namespace value
            if variable == "efficacy" and literal:
                local[variable] = value  # folded into the jump
                continue
            target = names.get(variable, variable)
            if target not in declared and _read_names([(target, text)]) <= scalars:
                # a temporary of constants only: inlined (Brian2 refuses a scalar write after a
                # vector write, e.g. tsodyks3's u = U without facilitation)
                names[variable] = text if literal else f"({text})"
                local.pop(variable, None) if value is None else local.__setitem__(variable, value)
                continue
            lines.append((target, text))
            if value is None:
                local.pop(variable, None)
            else:
                local[variable] = value
        return lines, local

    clock = None
    first_name = full_rename.get("first", syn("first"))
    if uses_first:
        lines, _ = render({**base, "first": 1.0}, "1.0")
        if "_h" not in _read_names(lines):
            first_name, clock = "_first", "sentinel"
    lines, local = render(base, first_name)
    # a state every spike overwrites before reading it is a temporary of on_pre (tsodyks3's u
    # without facilitation); recorded states are kept (keep_states)
    scratch = {} if keep_states else {s.name: f"_{s.name}_new" for s in synapse.states
                                      if s.name not in constant_states and _written_first(lines, syn(s.name))}
    if scratch:
        lines, local = render(base, first_name, scratch)
    reads_h = "_h" in _read_names(lines)
    if reads_h and clock is None:
        clock = "arrival"
    efficacy = "_efficacy" if any(variable == "efficacy" for variable, _ in rule) else "1.0"
    if "efficacy" in local:
        efficacy = repr(local["efficacy"])
    signed = None if uniform(weight) is None else sign * uniform(weight)
    jump = _Renderer({"w": syn("weight"), "e": efficacy}, {} if signed is None else {"w": signed},
                     fold_ones=False).render(ast.parse("w*e", mode="eval"))
    used = _read_names(lines)
    code = []
    if reads_h:
        code.append(f"_h = (t - {syn('t_last')})/ms")
    if clock == "sentinel":
        code.append(f"_first = int({syn('t_last')} < 0*second)")
    code += [f"{target} = {text}" for target, text in lines]
    code.append(f"{receptor}_post += {jump}")
    if clock is not None:
        code.append(f"{syn('t_last')} = t")
    per_flag = uses_first and clock != "sentinel" and syn("first") in used
    if per_flag:
        code.append(f"{syn('first')} = 0")

    declarations, values, namespace = [], {}, {}
    for s in synapse.states:
        if s.name in scratch:
            continue
        if s.name in constant_states:
            namespace[syn(s.name)] = constant_states[s.name]
        else:
            declarations.append(f"{syn(s.name)} : 1")
            values[syn(s.name)] = initial[s.name]
    for name, value in parameters.items():
        if name in known:
            namespace[syn(name)] = known[name]
        else:
            declarations.append(f"{syn(name)} : 1 (constant)")
            values[syn(name)] = value
    if signed is not None:
        namespace[syn("weight")] = signed
    else:
        declarations.append(f"{syn('weight')} : 1 (constant)")
        values[syn("weight")] = sign * np.asarray(weight, dtype=float)
    if clock is not None:
        declarations.append(f"{syn('t_last')} : second")
    if per_flag:
        declarations.append(f"{syn('first')} : 1")
        values[syn("first")] = 1.0
    return EventSynapseCode("\n".join(declarations), "\n".join(code), namespace, values, clock)


def _read_names(lines: Sequence[tuple[str, str]]) -> set[str]:
    """Identifiers read by rendered assignments."""
    return {node.id for _, text in lines for node in ast.walk(ast.parse(text, mode="eval"))
            if isinstance(node, ast.Name)}


def _written_first(lines: Sequence[tuple[str, str]], name: str) -> bool:
    """True when ``name`` is assigned before any read in ``lines`` (and assigned at all)."""
    for target, text in lines:
        if name in _read_names([(target, text)]):
            return False
        if target == name:
            return True
    return False


COUPLING_HALVES = ("_a", "_b")
"""Suffixes of the two halves of a continuous synapse's summed current (see below)."""


def continuous_synapse_equations(synapse: SynapseType, parameters: Sequence[str], current: str,
                                 membrane: str, constants: Collection[str] = ()) -> str:
    """Clock-driven equations of a continuous synapse and its current (pA) into the target.

    The current is summed into the target twice, as ``{current}_a`` and ``{current}_b``, each with
    half the weight: the backend evaluates ``_a`` before and ``_b`` after the synapse's state
    update, so the target integrates the step with the trapezoidal mean of the synaptic current
    (second order in dt instead of the first order of one summed variable).  The transmitter ``T``
    is a per-connection variable held constant within each step (set at the arrival, cleared
    ``T_dur`` later by a step-end operation), as in the reference.  Parameters (and ``weight``)
    named in ``constants`` are not declared: they are namespace constants (``syn(name)``).
    """
    rename = {**_synaptic_rename([s.name for s in synapse.states] + list(parameters) + ["weight", "T"]),
              "V": f"{membrane}_post"}
    lines = [f"d{syn(s.name)}/dt = ({translate(synapse.equations[s.name], rename)})/ms : 1 (clock-driven)"
             for s in synapse.states]
    expression = translate(synapse.current, rename)
    lines.extend(f"{current}{half}_post = 0.5*{expression} : 1 (summed)" for half in COUPLING_HALVES)
    lines.extend(_constant_declarations([syn(p) for p in [*parameters, "weight"] if p not in constants]))
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
