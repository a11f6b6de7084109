"""The data structures the catalog is made of.

A catalog entry declares a model type once: its parameters (name, internal unit, default, bounds,
names in each simulator), its state variables, its canonical equations and its event rules.
Backends consume these declarations; none keeps a private copy of the equations.

Expression language
-------------------
Equations and rules are Python expressions over parameters and state variables, all in the
internal units of :mod:`bridge.units` (ms, mV, pA, pF, nS, mM).  Available functions:
``exp``, ``log``, ``sqrt``, ``decay(h, tau)`` (``exp(-h/tau)``, and 0 when ``tau`` is 0).
Event rules also see ``h`` (ms since the previous presynaptic spike of the connection, or since the
start of the simulation at the first) and ``first`` (1 at the first spike of the connection, else 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Parameter:
    """A parameter of a model type.

    ``default`` is in ``unit``; ``None`` means the parameter is required.  ``positive`` demands a
    value > 0, ``nonnegative`` a value >= 0.  ``names`` maps a simulator (``"nest"``, ``"neuron"``,
    ``"brian2"``) to the name the parameter has there, where it differs or is worth stating.
    """

    name: str
    unit: str
    default: float | None
    doc: str
    positive: bool = False
    nonnegative: bool = False
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StateVariable:
    """A state variable.  ``initial`` is a number in ``unit`` or the name of a parameter."""

    name: str
    unit: str
    initial: float | str
    doc: str


Statements = tuple[tuple[str, str], ...]
"""Ordered assignments ``(variable, expression)``, executed one after the other."""


@dataclass(frozen=True)
class NeuronType:
    """A point-neuron (or spike-source-free cell) type.

    Attributes
    ----------
    equations
        ``{state: right-hand side of d(state)/dt}`` in internal units per ms.  ``I_ext`` (pA) is the
        summed injected current: DC stimuli plus currents of continuous synapses.
    linear
        True when the equations are affine in the state variables, so the reference backend
        integrates them exactly with a matrix exponential (as NEST does).
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
        ``{port: state variable incremented by the synaptic weight}``.
    weight_unit
        Unit of synaptic weights onto this type (``"pA"`` or ``"nS"``).
    emits
        Name of a synapse type whose event rule this neuron applies to each of its outgoing spikes
        (``lif_tum_2000``: its built-in Tsodyks–Markram state, one per presynaptic neuron).
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
    #: +1: a negative weight is added as is (currents); -1: its magnitude is added (conductances)
    inhibitory_sign: int = 1
    membrane: str = "V_m"
    emits: str | None = None
    native: Mapping[str, str] = field(default_factory=dict)
    kind: str = "neuron"

    def parameter(self, name: str) -> Parameter:
        return {p.name: p for p in self.parameters}[name]


@dataclass(frozen=True)
class SynapseType:
    """A synapse type: how each presynaptic spike is turned into a postsynaptic effect.

    Event synapses (``static``, Tsodyks–Markram) hold per-connection state that changes only at
    presynaptic spikes (``on_spike``, exact between spikes); the last statement assigns
    ``efficacy``, and the target's receptor variable jumps by ``weight * efficacy``.

    Continuous synapses (kinetic NMDA) hold per-connection state with its own differential
    ``equations``, driven by a transmitter pulse ``pulse`` (parameter names of amplitude and
    duration) after each presynaptic spike, and inject ``current`` (pA, may use the target's
    membrane potential ``V``) into the target's ``I_ext``.
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
    native: Mapping[str, str] = field(default_factory=dict)
    #: parameter that must equal the target's synaptic time constant (three-state TM: tau_psc)
    matches_target_tau: str | None = None

    @property
    def continuous(self) -> bool:
        return bool(self.equations)

    def parameter(self, name: str) -> Parameter:
        return {p.name: p for p in self.parameters}[name]


@dataclass(frozen=True)
class StimulusType:
    """A stimulus: a current injected into cells, or a source of spike trains."""

    name: str
    doc: str
    parameters: tuple[Parameter, ...]
    spike_source: bool
    native: Mapping[str, str] = field(default_factory=dict)

    def parameter(self, name: str) -> Parameter:
        return {p.name: p for p in self.parameters}[name]
