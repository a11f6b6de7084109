"""Synapse types: what a presynaptic spike does to the target.

The Tsodyks–Markram variants are kept distinct (see DESIGN.md): ``tsodyks3`` is the three-state
model of Tsodyks, Uziel & Markram (2000) as in NEST ``tsodyks_synapse`` (u is incremented *before*
release); ``tsodyks2`` is the two-state recursion of Maass & Markram (2002) as in NEST
``tsodyks2_synapse``.  Both rules are exact between spikes.
"""
from __future__ import annotations

from .base import Parameter as P, StateVariable as S, SynapseType

static = SynapseType(
    name="static",
    doc="Each spike adds the weight to the target's receptor variable.",
    parameters=(),
    native={"nest": "static_synapse"},
)

TSODYKS3_RULE = (
    ("z", "1 - x - y"),
    ("P_yy", "decay(h, tau_psc)"),
    ("P_zz", "decay(h, tau_rec)"),
    ("P_xy", "((P_zz - 1)*tau_rec - (P_yy - 1)*tau_psc)/(tau_psc - tau_rec)"),
    ("u", "u*decay(h, tau_fac)"),
    ("x", "x + P_xy*y + (1 - P_zz)*z"),
    ("y", "y*P_yy"),
    ("u", "u + U*(1 - u)"),
    ("efficacy", "u*x"),
    ("x", "x - efficacy"),
    ("y", "y + efficacy"),
)
"""Exact propagation of (x, y, z = 1-x-y, u) over ``h`` ms, then release (NEST tsodyks_synapse)."""

_TM_PARAMETERS = (
    P("U", "1", 0.5, "increment of utilisation at each spike", nonnegative=True),
    P("tau_rec", "ms", 800.0, "recovery time from depression", positive=True),
    P("tau_fac", "ms", 0.0, "facilitation time (0: no facilitation)", nonnegative=True),
)

tsodyks3 = SynapseType(
    name="tsodyks3",
    doc="Three-state Tsodyks–Markram synapse (x recovered, y active, z inactive; PSC = w*y).  "
    "tau_psc must equal the target's synaptic time constant, whose exponential PSC then is w*y.",
    parameters=_TM_PARAMETERS[:1]
    + (P("tau_psc", "ms", 3.0, "decay time of the active state y", positive=True),)
    + _TM_PARAMETERS[1:],
    states=(
        S("x", "1", 1.0, "recovered fraction"),
        S("y", "1", 0.0, "active fraction"),
        S("u", "1", 0.0, "utilisation"),
    ),
    on_spike=TSODYKS3_RULE,
    native={"nest": "tsodyks_synapse"},
    matches_target_tau="tau_psc",
)

tsodyks2 = SynapseType(
    name="tsodyks2",
    doc="Two-state Tsodyks–Markram synapse (Maass & Markram 2002): efficacy u_n*R_n with "
    "R_{n+1} = 1 + (R_n - u_n R_n - 1) exp(-D/tau_rec), u_{n+1} = U + u_n (1-U) exp(-D/tau_fac); "
    "the first spike uses the initial state (u = U, x = R = 1 by default).",
    parameters=_TM_PARAMETERS,
    states=(
        S("u", "1", "U", "utilisation of the next release"),
        S("x", "1", 1.0, "available resources R"),
    ),
    on_spike=(
        ("x", "first*x + (1 - first)*(1 + (x - u*x - 1)*decay(h, tau_rec))"),
        ("u", "first*u + (1 - first)*(U + u*(1 - U)*decay(h, tau_fac))"),
        ("efficacy", "u*x"),
    ),
    native={"nest": "tsodyks2_synapse"},
)

nmda_kinetic = SynapseType(
    name="nmda_kinetic",
    doc="Kinetic NMDA synapse (BioNMDA form): dg/dt = alpha1 x (1-g) - beta1 g, "
    "dx/dt = alpha2 T (1-x) - beta2 x, T = T_max for T_dur after each spike; current "
    "w g B(V) (E - V) with Mg block B(V) = 1/(1 + Mg/mg_c exp(-mg_k V)).  The weight is g_max (nS).  "
    "Defaults: BrainPy's BioNMDA, except Mg = 1 mM (NEURON/NEST usage; BrainPy uses 1.2 mM).",
    parameters=(
        P("alpha1", "1/ms", 2.0, "opening rate of g", nonnegative=True),
        P("beta1", "1/ms", 0.01, "closing rate of g", nonnegative=True),
        P("alpha2", "1/(mM*ms)", 1.0, "binding rate of x", nonnegative=True),
        P("beta2", "1/ms", 0.5, "unbinding rate of x", nonnegative=True),
        P("T_max", "mM", 1.0, "transmitter concentration during a pulse", nonnegative=True),
        P("T_dur", "ms", 0.5, "transmitter pulse duration", positive=True),
        P("E", "mV", 0.0, "reversal potential"),
        P("Mg", "mM", 1.0, "extracellular magnesium concentration", nonnegative=True),
        P("mg_c", "mM", 3.57, "Mg block half-concentration", positive=True),
        P("mg_k", "1/mV", 0.062, "Mg block voltage sensitivity"),
    ),
    states=(S("g", "1", 0.0, "open fraction"), S("x", "1", 0.0, "bound fraction")),
    equations={"g": "alpha1*x*(1 - g) - beta1*g", "x": "alpha2*T*(1 - x) - beta2*x"},
    current="weight*g*(E - V)/(1 + Mg/mg_c*exp(-mg_k*V))",
    pulse=("T_max", "T_dur"),
    weight_unit="nS",
)

SYNAPSES = {t.name: t for t in (static, tsodyks3, tsodyks2, nmda_kinetic)}
