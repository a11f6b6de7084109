"""Reference solver for well-mixed reaction networks (``model.network``).

The mass-action ODEs dc/dt = S·flux(c) + injections(t) (nM, ms) are stiff (rate constants span
about ten orders of magnitude in the spine model), so they are integrated with an implicit method
and the analytic sparse Jacobian of :mod:`bridge.model.reactions`.  Injections are piecewise
constant: the integration is restarted at every switch-on and switch-off time, so no step ever
straddles a discontinuity.  Samples come from the solver's dense output at the recording times.

Default method: scipy's BDF (variable order 1-5) with the sparse analytic Jacobian, rtol 1e-10 and
atol 1e-10 nM (6e-11 molecules in the spine's 0.5 µm³).  The reference is the yardstick of 1e-6
relative comparisons, also for species near zero: with atol = rtol × the largest initial
concentration (2.5e-4 nM) g_ampa after 4×HFS moved by 4e-5 relative between runs, at 1e-10 nM the
reference and NEURON (CVODE, atol 1e-14 nM) agree to 1e-7; it costs about 1.5× the time.  Measured on the full spine network (one 100-pulse train of 4×HFS, 200 segments): BDF 29 s,
LSODA (dense Jacobian) 55-108 s, Radau 70 s at rtol 1e-10 with a per-species atol of rtol × max(c0,
1 nM); the scaled scalar atol halves BDF's time and keeps every species above 1 nM within 1.4e-7
(relative) of a rtol = atol = 1e-12 solution.  Every segment is integrated on a local clock
starting at 0: the right-hand side is autonomous inside a segment, and late in a long protocol
(t ~ 4e6 ms) the spacing of floating-point times (~1e-9 ms) would otherwise exceed the first steps
after a pulse onset.  Options of the reference backend: ``network_method``, ``network_rtol``,
``network_atol`` (see ``ReferenceBackend``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.integrate

from ...model import Model
from ...model.reactions import ReactionNetwork
from ...result import Result, Signal


@dataclass
class NetworkSolverOptions:
    """``method``: BDF, LSODA or Radau; ``rtol`` relative tolerance; ``atol`` absolute tolerance in
    nM (None: :data:`DEFAULT_ATOL`)."""

    method: str = "BDF"
    rtol: float = 1e-10
    atol: float | None = None


#: default absolute tolerance (nM) of the network solver
DEFAULT_ATOL = 1e-10


def injection_schedule(network: ReactionNetwork, t_stop: float) -> tuple[np.ndarray, np.ndarray]:
    """Segment bounds ``(k+1,)`` (ms) of [0, t_stop] and the constant injection rates ``(k, species)``
    (nM/ms) inside each segment; a pulse acts on [onset, onset + duration)."""
    n = len(network.names)
    events: dict[float, np.ndarray] = {}
    for inj in network.injections:
        for t, sign in ((inj.onset, 1.0), (inj.end, -1.0)):
            if t < t_stop:
                events.setdefault(max(t, 0.0), np.zeros(n))[network.index[inj.species]] += sign * inj.rate
    times = sorted(events)
    bounds = [0.0] + [t for t in times if t > 0.0] + [t_stop]
    rates = np.zeros((len(bounds) - 1, n))
    current = events.get(0.0, np.zeros(n)).copy()
    for k in range(len(bounds) - 1):
        if k > 0:
            current = current + events[bounds[k]]
        rates[k] = current
    rates[np.abs(rates) < 1e-12 * (np.abs(rates).max(initial=0.0) + 1e-300)] = 0.0  # cancel round-off
    return np.array(bounds), rates


def integrate(network: ReactionNetwork, t_stop: float, sample_times: np.ndarray,
              options: NetworkSolverOptions | None = None) -> tuple[np.ndarray, dict]:
    """Concentrations (nM) at ``sample_times`` (ms, sorted, in (0, t_stop]), shape (samples, species),
    and solver statistics."""
    options = options or NetworkSolverOptions()
    if options.method not in ("LSODA", "BDF", "Radau"):
        raise ValueError(f"unknown network solver method {options.method!r} (LSODA, BDF or Radau)")
    c = network.initial.copy()
    atol = options.atol if options.atol is not None else DEFAULT_ATOL
    bounds, rates = injection_schedule(network, t_stop)
    s = network.stoichiometry
    out = np.empty((len(sample_times), len(c)))
    stats = {"segments": len(bounds) - 1, "nfev": 0, "njev": 0, "nlu": 0}
    dense = options.method == "LSODA"
    jac_kind = (lambda t, y: network.jacobian(y).toarray()) if dense else (lambda t, y: network.jacobian(y))
    for k in range(len(bounds) - 1):
        t0, t1 = bounds[k], bounds[k + 1]
        if t1 <= t0:
            continue
        inflow = rates[k]
        lo, hi = np.searchsorted(sample_times, [t0, t1], side="right")
        wanted = sample_times[lo:hi]
        t_eval = wanted if wanted.size and wanted[-1] == t1 else np.append(wanted, t1)
        # the right-hand side is autonomous inside a segment: integrate on a local clock from 0,
        # so that steps of nanoseconds stay representable late in long protocols (t ~ 1e6 ms)
        solution = scipy.integrate.solve_ivp(
            lambda t, y: s @ network.fluxes(y) + inflow, (0.0, t1 - t0), c, method=options.method,
            t_eval=t_eval - t0, jac=jac_kind, rtol=options.rtol, atol=atol)
        if not solution.success:
            raise RuntimeError(f"network integration failed in [{t0:g}, {t1:g}] ms: {solution.message}")
        out[lo:hi] = solution.y[:, :hi - lo].T
        c = solution.y[:, -1]
        for key in ("nfev", "njev", "nlu"):
            stats[key] += int(getattr(solution, key, 0))
    return out, stats


def run_network(model: Model, options: NetworkSolverOptions | None = None) -> Result:
    """Run ``model.network`` and return the recorded species (nM) and read-outs (nM or pS)."""
    network = model.network
    assert network is not None
    started = time.perf_counter()
    recordings = [r for r in model.recordings.values() if r.population == network.name]
    times = {r.name: model.sample_times(r) for r in recordings}
    all_times = np.unique(np.concatenate([t for t in times.values()] + [np.empty(0)]))
    values, stats = integrate(network, model.simulation.duration, all_times, options)
    result = Result(model=model.name, backend="reference",
                    metadata={"duration_ms": model.simulation.duration, "dt_ms": model.simulation.dt,
                              "solver": (options or NetworkSolverOptions()).method, **stats,
                              "simulate_s": time.perf_counter() - started, "setup_s": 0.0})
    for r in recordings:
        rows = np.searchsorted(all_times, times[r.name])
        concentrations = {name: values[rows, network.index[name]] for name in network.names}
        for variable, (data, unit) in network.recorded(r.variables, concentrations).items():
            result.signals[(network.name, variable)] = Signal(times[r.name], data[:, None], unit, [0])
    return result
