"""Which names a model type may declare (parameters, state variables, temporaries, the type itself).

A name becomes an identifier in Python (the reference backend), NMODL/C (NEURON) and Brian2's code,
next to names the code generators make up themselves; a name that would collide with any of them is
refused up front rather than mangled, so the generated code reads like the declaration.  The rule:

* letters, digits and ``_``, starting with a letter, at most :data:`MAX_LENGTH` characters;
* not a keyword of Python, C/C++ or NMODL, not a function or unit symbol of the expression language,
  not a name with a fixed meaning (:data:`SPECIAL`), not a name the generators use (:data:`GENERATED`);
* not starting with a generated prefix (:data:`GENERATED_PREFIXES`) nor ending with a generated
  suffix (:data:`GENERATED_SUFFIXES`);
* within a type, not a state variable's name with a suffix of :data:`STATE_SUFFIXES` (``V_m_2`` when
  ``V_m`` is a state: Runge–Kutta stages, half-step values, scratch copies) or with the prefix ``d``
  (``dV_m``, Brian2's derivative).

``tests/test_types.py`` generates every backend's code for the built-in types and checks that every
identifier the generators add is covered by this rule, so the rule cannot fall behind them.
"""
from __future__ import annotations

import keyword
import re

from .expressions import FUNCTIONS, UNIT_SYMBOLS

MAX_LENGTH = 40
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while bool catch class delete friend namespace new operator private protected public template this
throw try typename using virtual NULL""".split())
NMODL_KEYWORDS = frozenset("""NEURON PARAMETER ASSIGNED STATE BREAKPOINT INITIAL DERIVATIVE KINETIC PROCEDURE FUNCTION
NET_RECEIVE SOLVE METHOD LOCAL FROM TO BY WHILE IF ELSE TABLE DEPEND UNITS CONSERVE COMPARTMENT LONGITUDINAL_DIFFUSION
POINT_PROCESS ARTIFICIAL_CELL SUFFIX RANGE GLOBAL POINTER BBCOREPOINTER NONSPECIFIC_CURRENT USEION READ WRITE VALENCE
ELECTRODE_CURRENT THREADSAFE VERBATIM ENDVERBATIM COMMENT ENDCOMMENT TITLE INDEPENDENT CONSTANT LINEAR NONLINEAR
DISCRETE PARTIAL SENS STEADYSTATE WATCH FOR_NETCONS AFTER BEFORE UNITSON UNITSOFF REPRESENTS INCLUDE
cnexp derivimplicit euler sparse adrunge runge clsoda after_cvode cvode_t cvode_v""".split())
#: names with a fixed meaning in bridge's expressions or in a simulator
SPECIAL = frozenset("""t dt I_ext I_dc V T weight h first efficacy v i celsius area diam secondorder PI FARADAY R
GAS_CONSTANT e xi N lastspike not_refractory i_pA pow fabs clip int floor ceil sign rand randn sin cos tan
exprel log10 expm1 log1p inf nan""".split())
#: names the code generators use (NEURON point-neuron and synapse mechanisms, Brian2 code)
GENERATED = frozenset("""spiked spiked_before lost ref_until n_sub last_emit clamp hs i_sub t0 span lo hi mid it tc
theta port syn t_end tlast V_step_start V_step_end advance advance_segment rk4 save_state restore_state fire states
flag min_of max_of net_send net_event located_dv halvings located_substep""".split())
GENERATED_PREFIXES = ("pend_", "saved_", "k1_", "k2_", "k3_", "k4_", "s_", "e_", "dc_", "dcmask_", "bridge_")
GENERATED_SUFFIXES = ("_pre", "_post")
#: suffix of a synapse type's names in Brian2's code (``U`` -> ``U_syn``): checked per projection,
#: against the names of its source and target types (:func:`synapse_collisions`)
SYNAPTIC_SUFFIX = "_syn"
#: suffixes the generators append to a state variable's name (``V_m_2``: a Runge–Kutta stage of V_m)
STATE_SUFFIXES = ("_2", "_3", "_4", "_mid", "_new", "_substep_start", "_step_end")
#: prefix Brian2's equations put before a state variable's name (``dV_m/dt``)
STATE_PREFIX = "d"


def problem(name: object) -> str | None:
    """Why ``name`` cannot be declared, or None when it can."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        return f"{name!r} is not a name (letters, digits and '_', starting with a letter)"
    if len(name) > MAX_LENGTH:
        return f"{name!r} is longer than {MAX_LENGTH} characters"
    if keyword.iskeyword(name) or name in C_KEYWORDS or name in NMODL_KEYWORDS:
        return f"{name!r} is a keyword of the generated code (Python, C or NMODL)"
    if name in FUNCTIONS or name in UNIT_SYMBOLS:
        return f"{name!r} is a function or unit of the expression language"
    if name in SPECIAL:
        return f"{name!r} has a fixed meaning (in bridge's expressions or a simulator)"
    if name in GENERATED or name.startswith(GENERATED_PREFIXES) or name.endswith(GENERATED_SUFFIXES):
        return f"{name!r} would collide with a name bridge's code generators use"
    return None


def object_problem(name: object) -> str | None:
    """Why ``name`` cannot name a model object (population, stimulus, projection, recording, reaction
    network), or None.  Such names become parts of file names (reports, plots) and of generated code
    (Brian2 objects, NEURON sections), so they are identifiers: no ``/``, ``..``, spaces or dots."""
    return type_problem(name)


def type_problem(name: object) -> str | None:
    """Why ``name`` cannot name a type (it only appears prefixed in generated code, so only the
    identifier form and length are ruled), or None."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        return f"{name!r} is not a name (letters, digits and '_', starting with a letter)"
    if len(name) > MAX_LENGTH:
        return f"{name!r} is longer than {MAX_LENGTH} characters"
    return None


def synapse_collisions(synapse_names: set[str], neuron_names: set[str]) -> list[str]:
    """Neuron names equal to a synapse type's name plus :data:`SYNAPTIC_SUFFIX` (``tau_syn`` next to
    a synapse parameter ``tau``): the two would be one name in Brian2's synapse code."""
    return sorted(n + SYNAPTIC_SUFFIX for n in synapse_names if n + SYNAPTIC_SUFFIX in neuron_names)


def state_collisions(names: set[str], states: list[str]) -> list[str]:
    """Declared ``names`` that a generator would also derive from a state variable (``V_m_2``, ``dV_m``)."""
    derived = {s + suffix for s in states for suffix in STATE_SUFFIXES} | {STATE_PREFIX + s for s in states}
    return sorted(names & derived)


RULE = ("letters, digits and '_' starting with a letter; not a keyword, function, unit symbol or reserved "
        "name; no prefix " + "/".join(GENERATED_PREFIXES) + ", no suffix " + "/".join(GENERATED_SUFFIXES))
"""The rule in one line, for error messages."""
