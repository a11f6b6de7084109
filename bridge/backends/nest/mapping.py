"""How model types map onto NEST's native models (each type's ``native: nest`` declaration) and
NEST's quirks as data (see :mod:`bridge.backends.nest` for the table)."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Mapping

from ...catalog.base import NativeModel, NeuronType, StimulusType, SynapseType
from ...model import Model, Projection, Stimulus
from ...errors import UnsupportedError


@dataclass(frozen=True)
class NestModelQuirks:
    """What the adapter must know about a NEST model beyond a type's ``native`` mapping (names are
    NEST's): ``unrecordable`` states its multimeter cannot sample, ``unsettable`` states NEST starts
    at 0 and does not let us set (a model giving them another initial value is refused)."""

    unrecordable: frozenset[str] = frozenset()
    unsettable: frozenset[str] = frozenset()


_PSC_CURRENTS = frozenset({"I_syn_ex", "I_syn_in"})
QUIRKS: dict[str, NestModelQuirks] = {
    "iaf_psc_exp": NestModelQuirks(unsettable=_PSC_CURRENTS),
    "iaf_tum_2000": NestModelQuirks(unrecordable=frozenset({"x", "y", "u"}), unsettable=_PSC_CURRENTS),
}
#: connections per NEST array-connect call (bounds the temporary node-id arrays: 2 x 8 MiB)
CONNECT_CHUNK = 1 << 20
#: NEST model that applies the u*x efficacy of an iaf_tum_2000 spike (on receptor_type 1)
TUM_MODEL = "iaf_tum_2000"
TUM_RECEPTOR = 1
#: NEST models of targets that can run as iaf_tum_2000 (the same dynamics as iaf_psc_exp)
TUM_TARGETS = frozenset({"iaf_psc_exp", "iaf_tum_2000"})


def native(kind: NeuronType | SynapseType | StimulusType) -> NativeModel:
    """The NEST model of a type: its declared one, or for a neuron type without one the generated
    NESTML model (:mod:`.nestml`; the caller has checked that one can be made)."""
    declared = kind.native.get("nest")
    if declared is not None:
        return declared
    from .nestml import generated

    return generated(kind).native


def nest_parameters(kind: NeuronType | SynapseType, values: Mapping[str, float]) -> dict[str, float]:
    """The type's parameter ``values`` under their NEST names (a ``current_scale`` parameter, which
    the NEST model lacks, left out)."""
    mapping = native(kind)
    scale = mapping.options.get("current_scale")
    return {mapping.name_of(p.name): values[p.name] for p in kind.parameters if p.name != scale}


def dc_parameter(kind: NeuronType) -> str:
    """The parameter of ``kind``'s NEST model that holds a DC current (pA) applied from 0 ms."""
    return native(kind).options.get("dc_parameter", "I_e")


def receptor_and_weight(model: Model, projection: Projection) -> tuple[int | None, float]:
    """(NEST receptor type or None for NEST's default, weight given to NEST) of an event projection.
    NEST's own models take the signed weight on their one port; a generated NESTML model has a port
    per receptor and takes the weight times the projection's sign factor (``inhibitory_sign``)."""
    target = model.populations[projection.target].neuron_type
    options = native(target).options
    if not options.get("signed_weights"):
        return None, projection.weight
    _, factor = projection.jump(target)
    return options["receptor_types"][projection.receptor], projection.weight * factor


def quirks(kind: NeuronType) -> NestModelQuirks:
    return QUIRKS.get(native(kind).model, NestModelQuirks())


def import_nest():
    """Import NEST (the source-built one when there is one, see :mod:`.install`) without its banner
    and with only errors logged.

    OpenMP threads wait passively unless the user set ``OMP_WAIT_POLICY``: bridge runs backends side
    by side, and spinning threads on shared cores made a 2-thread run 100 times slower here.
    """
    from .install import activate

    os.environ.setdefault("PYNEST_QUIET", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    activate()  # a NEST built from source (MPI, headers) goes first when there is one
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
    """True when ``projection`` carries iaf_tum_2000 efficacies (its source runs as iaf_tum_2000)."""
    source = model.populations.get(projection.source)
    return source is not None and "nest" in source.neuron_type.native and native(source.neuron_type).model == TUM_MODEL

