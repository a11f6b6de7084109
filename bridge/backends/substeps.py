"""Runge–Kutta sub-steps per time step of the point neurons bridge integrates itself (NEURON's
generated mechanisms, NEST's generated NESTML models): one rule, so both take the same steps."""
from __future__ import annotations

import math

from ..model import Population

#: default Runge–Kutta sub-steps per dt for ``located`` types (adex, izhikevich, qif), whose upstroke
#: is steep: 10 gives about 0.05 mV (adex) and 1e-6 mV (izhikevich) against the reference at dt 0.1 ms
LOCATED_SUBSTEPS = 10
#: otherwise a sub-step is at most this fraction of the shortest time constant (``tau*`` parameter)
TAU_FRACTION = 0.25


def substeps(population: Population, dt: float, requested: int | None = None) -> int:
    """Runge–Kutta sub-steps per time step ``dt`` (ms) for ``population`` (``requested`` wins if given):
    enough that a sub-step is at most :data:`TAU_FRACTION` of the shortest time constant (RK4's
    relative error per sub-step is then below 1e-5), and :data:`LOCATED_SUBSTEPS` for ``located`` types."""
    if requested:
        return int(requested)
    kind = population.neuron_type
    taus = [v for k, v in population.parameters.items() if k.startswith("tau") and v > 0]
    n = max(1, math.ceil(dt / (TAU_FRACTION * min(taus)) - 1e-9)) if taus else 1
    if kind.threshold is not None and kind.threshold_detection == "located":
        n = max(n, LOCATED_SUBSTEPS)
    return n
