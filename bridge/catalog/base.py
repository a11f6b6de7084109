"""The data structures model types are made of.

A model type declares its dynamics once: parameters (name, internal unit, default, bounds), state
variables, canonical equations and event rules, and optionally the simulator models that *are* this
type.  Built-in and user-defined types are the same objects, made by the same declaration parser
(:mod:`bridge.catalog.declare`) from the same YAML form; backends consume them and none keeps a
private copy of the equations.

Every expression is stored in its canonical form (:mod:`bridge.catalog.expressions`): Python syntax
over declared names in bridge's internal units (ms, mV, pA, pF, nS, mM), checked against an
allow-list grammar and for dimensions before it was stored.  Event rules also see ``h`` (ms since
the previous presynaptic spike of the connection, or since the start of the simulation at the
first) and ``first`` (1 at the first spike of the connection, else 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Parameter:
    """A parameter of a model type.

    ``unit`` is an internal unit; ``default`` is in it (``None``: required).  ``positive`` demands a
    value > 0, ``nonnegative`` >= 0, ``minimum``/``maximum`` (in ``unit``, inclusive) bound it.
    """

    name: str
    unit: str
    default: float | None
    doc: str
    positive: bool = False
    nonnegative: bool = False
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class StateVariable:
    """A state variable.  ``initial`` is a number in ``unit`` or the name of a parameter."""

    name: str
    unit: str
    initial: float | str
    doc: str


Statements = tuple[tuple[str, str], ...]
"""Ordered assignments ``(variable, expression)``, executed one after the other."""

Constraints = tuple[tuple[str, str, str], ...]
"""Conditions on a type's parameters that its values must meet (as NEST checks ``V_reset < V_th``):
``(difference expression, operator, the condition as declared)``; the condition holds when the
difference compares with 0 by the operator (``>``, ``>=``)."""


@dataclass(frozen=True)
class NativeModel:
    """A simulator's own model that *is* a type (declared with the type; bridge compares it with the
    reference, which integrates the type's equations, so a wrong mapping shows as disagreement).

    ``model`` is the simulator's model name, ``renames`` maps bridge names (parameters, states) to
    the simulator's, ``options`` holds simulator-specific settings (e.g. NEST's ``current_scale``).
    """

    model: str
    renames: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def name_of(self, name: str) -> str:
        """The simulator's name of a bridge parameter or state."""
        return self.renames.get(name, name)


class _TypeLookups:
    """What every kind of type answers: whether it is built in, and its parameters by name."""

    source: str
    parameters: tuple[Parameter, ...]

    @property
    def builtin(self) -> bool:
        return self.source == "built-in"

    def parameter(self, name: str) -> Parameter:
        return {p.name: p for p in self.parameters}[name]


@dataclass(frozen=True)
class NeuronType(_TypeLookups):
    """A point-neuron (or spike-free cell) type.

    Attributes
    ----------
    equations
        ``{state: right-hand side of d(state)/dt}`` in internal units per ms.  ``I_ext`` (pA) is the
        summed injected current: DC stimuli plus currents of continuous synapses.
    linear
        True when the equations are affine in the state variables (and ``I_ext``), detected from
        the equations: the reference backend then integrates them exactly with a matrix exponential.
    threshold
        Expression that is >= 0 when the cell fires, or None for cells that never fire.
    threshold_detection
        ``"grid"``: the threshold is tested at the simulation time grid, the spike time is that grid
        time and the reset happens there (NEST ``iaf_*`` semantics).  ``"located"``: the crossing is
        located within the step and the reset applied there; the spike is reported at the end of the
        step (NEST ``aeif_*`` semantics); for types whose voltage diverges.
    reset
        Statements executed at a spike.
    refractory
        Name of the refractory-period parameter, during which ``clamped`` variables are held.
    receptors
        ``{port: state variable incremented by the synaptic weight}``; the ports ``excitatory`` and
        ``inhibitory`` are chosen by the weight's sign, others by a projection's ``receptor``.
    weight_unit
        Unit of synaptic weights onto this type (that of the receptor states).
    inhibitory_sign
        +1: a negative weight is added as is (currents); -1: its magnitude is added (conductances).
    emits
        A synapse type whose event rule this neuron applies to each of its outgoing spikes
        (``lif_tum_2000``: its built-in Tsodyks–Markram state, one per presynaptic neuron).
    native
        ``{simulator: NativeModel}``; ``unsupported``: ``{simulator: reason}`` shown by ``bridge info``.
    source
        Where the type was declared (``"built-in"`` or a file).
    """

    name: str
    doc: str
    parameters: tuple[Parameter, ...]
    states: tuple[StateVariable, ...]
    equations: Mapping[str, str]
    linear: bool
    threshold: str | None = None
    threshold_detection: str = "grid"
    reset: Statements = ()
    refractory: str | None = None
    clamped: tuple[str, ...] = ()
    receptors: Mapping[str, str] = field(default_factory=dict)
    weight_unit: str = "pA"
    inhibitory_sign: int = 1
    membrane: str = "V_m"
    emits: "SynapseType | None" = None
    native: Mapping[str, NativeModel] = field(default_factory=dict)
    unsupported: Mapping[str, str] = field(default_factory=dict)
    constraints: Constraints = ()
    source: str = "built-in"
    kind: str = "neuron"



@dataclass(frozen=True)
class SynapseType(_TypeLookups):
    """A synapse type: how each presynaptic spike is turned into a postsynaptic effect.

    Event synapses (``static``, Tsodyks–Markram) hold per-connection state that changes only at
    presynaptic spikes (``on_spike``, exact between spikes); the statements assign ``efficacy``, and
    the target's receptor variable jumps by ``weight * efficacy``.

    Continuous synapses (kinetic NMDA) hold per-connection state with its own differential
    ``equations``, driven by a transmitter pulse ``pulse`` (parameter names of amplitude and
    duration; ``T`` in the equations) after each presynaptic spike, and inject ``current`` (pA, may
    use the target's membrane potential ``V`` and the projection's ``weight``) into the target's
    ``I_ext``.
    """

    name: str
    doc: str
    parameters: tuple[Parameter, ...]
    states: tuple[StateVariable, ...] = ()
    on_spike: Statements = (("efficacy", "1"),)
    equations: Mapping[str, str] = field(default_factory=dict)
    current: str | None = None
    pulse: tuple[str, str] | None = None
    weight_unit: str | None = None
    native: Mapping[str, NativeModel] = field(default_factory=dict)
    unsupported: Mapping[str, str] = field(default_factory=dict)
    #: parameter that must equal the target's synaptic time constant (three-state TM: tau_psc)
    matches_target_tau: str | None = None
    constraints: Constraints = ()
    source: str = "built-in"
    kind: str = "synapse"

    @property
    def continuous(self) -> bool:
        return bool(self.equations)


@dataclass(frozen=True)
class StimulusType(_TypeLookups):
    """A stimulus: a current injected into cells, or a source of spike trains."""

    name: str
    doc: str
    parameters: tuple[Parameter, ...]
    spike_source: bool
    native: Mapping[str, NativeModel] = field(default_factory=dict)
    source: str = "built-in"
    kind: str = "stimulus"
