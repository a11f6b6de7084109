"""How catalog types map onto NEST's native models, and NEST's quirks as data (see
:mod:`bridge.backends.nest` for the table)."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ...catalog.base import Parameter
from ...model import Model, Projection, Stimulus
from ...errors import UnsupportedError


@dataclass(frozen=True)
class NestNeuron:
    """How a catalog neuron type maps onto a NEST model.

    ``dropped`` are catalog parameters NEST's model lacks (handled by the adapter);
    ``current_scale`` names the parameter that injected currents (pA) are divided by;
    ``unrecordable`` are catalog states NEST's multimeter cannot record; ``unsettable`` are states
    NEST starts at 0 and does not let us set (a model giving them another initial value is refused).
    """

    model: str
    dropped: tuple[str, ...] = ()
    current_scale: str | None = None
    unrecordable: frozenset[str] = frozenset()
    unsettable: frozenset[str] = frozenset()


_PSC_CURRENTS = frozenset({"I_syn_ex", "I_syn_in"})
NEURON_MODELS: dict[str, NestNeuron] = {
    "lif_psc_exp": NestNeuron("iaf_psc_exp", unsettable=_PSC_CURRENTS),
    "lif_cond_exp": NestNeuron("iaf_cond_exp"),
    "lif_tum_2000": NestNeuron("iaf_tum_2000", unrecordable=frozenset({"x", "y", "u"}), unsettable=_PSC_CURRENTS),
    "adex": NestNeuron("aeif_cond_exp"),
    "izhikevich": NestNeuron("izhikevich", dropped=("C_m",), current_scale="C_m"),
}
#: catalog synapse type -> NEST synapse model (parameters and initial states set per connection)
SYNAPSE_MODELS: dict[str, str] = {
    "static": "static_synapse",
    "tsodyks3": "tsodyks_synapse",
    "tsodyks2": "tsodyks2_synapse",
}
STIMULUS_MODELS: dict[str, str] = {
    "dc_step": "dc_generator",
    "spike_times": "spike_train_injector",
    "poisson": "spike_train_injector",
}
UNSUPPORTED: dict[str, str] = {
    "qif": "NEST has no built-in quadratic integrate-and-fire model of this form",
    "passive": "NEST has no built-in passive (non-spiking) point neuron",
    "clamped": "NEST has no ideal voltage-clamp neuron",
    "nmda_kinetic": "NEST has no kinetic NMDA synapse",
}
#: connections per NEST array-connect call (bounds the temporary node-id arrays: 2 x 8 MiB)
CONNECT_CHUNK = 1 << 20
#: NEST model that applies the u*x efficacy of an iaf_tum_2000 spike (on receptor_type 1)
TUM_MODEL = "iaf_tum_2000"
TUM_RECEPTOR = 1
#: catalog neuron types NEST can run as iaf_tum_2000 targets (same dynamics as iaf_psc_exp)
TUM_TARGETS = frozenset({"lif_psc_exp", "lif_tum_2000"})


def nest_name(parameter: Parameter) -> str:
    """Name of a catalog parameter (or state) in NEST."""
    return parameter.names.get("nest", parameter.name)


def import_nest():
    """Import NEST without its banner and with only errors logged.

    OpenMP threads wait passively unless the user set ``OMP_WAIT_POLICY``: bridge runs backends side
    by side, and spinning threads on shared cores made a 2-thread run 100 times slower here.
    """
    os.environ.setdefault("PYNEST_QUIET", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


def tics_per_ms(dt: float) -> int:
    """Smallest NEST tic rate (>= NEST's default 1000 per ms) on which ``dt`` (ms) is a whole number."""
    for tics in (1000, 10_000, 100_000, 1_000_000, 10_000_000):
        if abs(dt * tics - round(dt * tics)) < 1e-6:
            return tics
    raise UnsupportedError("nest", f"dt = {dt!r} ms is not a multiple of 1e-7 ms")


def dc_edges(stimulus: Stimulus, duration: float) -> list[tuple[float, float]]:
    """The changes of a DC step as ``(time ms, change pA)``, within ``[0, duration)``."""
    p = stimulus.parameters
    edges = [(p["start"], p["amplitude"]), (p["stop"], -p["amplitude"])]
    return [(t, a) for t, a in edges if math.isfinite(t) and t < duration and a != 0.0]


def is_tum_projection(model: Model, projection: Projection) -> bool:
    """True when ``projection`` carries iaf_tum_2000 efficacies (its source is a lif_tum_2000)."""
    source = model.populations.get(projection.source)
    return source is not None and source.type == "lif_tum_2000"

