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
after a pulse onset.  The solver is stepped by hand (what ``solve_ivp`` does inside): samples come from
each step's dense output, and every accepted step's state of the recorded species feeds the run's
peak/minimum summaries (:mod:`bridge.backends.network_sampling`); only the species the recordings
need are kept, so memory does not grow with the 204 species at fine sampling.  Options of the reference backend: ``network_method``, ``network_rtol``,
``network_atol`` (see ``ReferenceBackend``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.integrate

from ...model import Model
from ...model.reactions import ReactionNetwork
from ...progress import reporter
from ...result import Result
from ..network_sampling import extremes, finish, sample_plan

#: the solver classes of ``network_method`` (scipy.integrate; stepped one step at a time)
SOLVERS = {"BDF": scipy.integrate.BDF, "LSODA": scipy.integrate.LSODA, "Radau": scipy.integrate.Radau}


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
              options: NetworkSolverOptions | None = None, keep: np.ndarray | None = None,
              on_step: Callable[[np.ndarray, np.ndarray], None] | None = None) -> tuple[np.ndarray, dict]:
    """Concentrations (nM) at ``sample_times`` (ms, sorted, in (0, t_stop]) of the species ``keep``
    (indices; default all), shape (samples, len(keep)), and solver statistics (see :func:`integrate_groups`)."""
    keep = np.arange(len(network.names)) if keep is None else np.asarray(keep, dtype=int)
    values, stats = integrate_groups(network, t_stop, [(np.asarray(sample_times, float), keep)], options, keep,
                                     on_step)
    return values[0], stats


def integrate_groups(network: ReactionNetwork, t_stop: float, groups: list[tuple[np.ndarray, np.ndarray]],
                     options: NetworkSolverOptions | None = None, step_species: np.ndarray | None = None,
                     on_step: Callable[[np.ndarray, np.ndarray], None] | None = None) -> tuple[list[np.ndarray], dict]:
    """Integrate ``network`` over [0, ``t_stop``] ms; for each group ``(times, species)`` (times in ms,
    sorted, in (0, t_stop]; species indices) return the concentrations (nM) of those species at those
    times, shape (len(times), len(species)), and solver statistics.

    ``on_step(times, states)``, when given, receives every state the solver stepped through (the
    initial one and the end of every accepted step) of the species ``step_species`` (default all),
    ``states`` shape (steps, len(step_species)), one call per integration segment.  Only what the
    groups and ``step_species`` ask for is stored.
    """
    options = options or NetworkSolverOptions()
    if options.method not in SOLVERS:
        raise ValueError(f"unknown network solver method {options.method!r} (LSODA, BDF or Radau)")
    c = network.initial.copy()
    tracked = np.arange(len(c)) if step_species is None else np.asarray(step_species, dtype=int)
    atol = options.atol if options.atol is not None else DEFAULT_ATOL
    bounds, rates = injection_schedule(network, t_stop)
    s = network.stoichiometry
    outs = [np.empty((len(times), len(species))) for times, species in groups]
    taken = [0] * len(groups)  # samples of each group already taken
    stats = {"segments": len(bounds) - 1, "nfev": 0, "njev": 0, "nlu": 0, "steps": 0}
    dense = options.method == "LSODA"
    jac_kind = (lambda t, y: network.jacobian(y).toarray()) if dense else (lambda t, y: network.jacobian(y))
    if on_step is not None:
        on_step(np.zeros(1), c[tracked][None, :])
    report = reporter()
    for k in range(len(bounds) - 1):
        t0, t1 = bounds[k], bounds[k + 1]
        if t1 <= t0:
            continue
        inflow = rates[k]
        # the right-hand side is autonomous inside a segment: integrate on a local clock from 0,
        # so that steps of nanoseconds stay representable late in long protocols (t ~ 1e6 ms)
        solver = SOLVERS[options.method](lambda t, y: s @ network.fluxes(y) + inflow, 0.0, c, t1 - t0,
                                         rtol=options.rtol, atol=atol, jac=jac_kind)
        step_t, step_y = [], []
        while solver.status == "running":
            message = solver.step()
            if solver.status == "failed":
                raise RuntimeError(f"network integration failed in [{t0:g}, {t1:g}] ms: {message}")
            stats["steps"] += 1
            report.at(t0 + solver.t)
            if on_step is not None:
                step_t.append(solver.t)
                step_y.append(solver.y[tracked])
            interpolant = None
            for g, (times, species) in enumerate(groups):
                upto = int(np.searchsorted(times, t0 + solver.t, side="right")) if solver.t < t1 - t0 else \
                    int(np.searchsorted(times, t1, side="right"))
                if upto > taken[g]:
                    interpolant = interpolant or solver.dense_output()
                    local = np.minimum(times[taken[g]:upto] - t0, solver.t)
                    outs[g][taken[g]:upto] = interpolant(local)[species].T
                    taken[g] = upto
        c = solver.y
        if on_step is not None and step_t:
            on_step(t0 + np.asarray(step_t), np.asarray(step_y))
        for key in ("nfev", "njev", "nlu"):
            stats[key] += int(getattr(solver, key, 0))
    for g, (times, _) in enumerate(groups):
        if taken[g] != len(times):
            raise RuntimeError(f"{len(times) - taken[g]} sample times were not reached (after t_stop = {t_stop:g} ms?)")
    return outs, stats


def run_network(model: Model, options: NetworkSolverOptions | None = None) -> Result:
    """Run ``model.network`` and return the recorded species (nM) and read-outs (nM or pS), with
    the peak and minimum of every recorded variable over every solver step (``metadata["extremes"]``)."""
    network = model.network
    assert network is not None
    started = time.perf_counter()
    plan = sample_plan(model)
    index = network.index
    tracked = np.array([index[name] for name in plan.species], dtype=int)
    tracker = extremes(model, plan)

    def on_step(times: np.ndarray, states: np.ndarray) -> None:
        tracker.update(times, {name: states[:, j] for j, name in enumerate(plan.species)})

    groups = [(g.times, np.array([index[name] for name in g.species], dtype=int)) for g in plan.groups]
    reporter().phase("integrating", model.simulation.duration)
    values, stats = integrate_groups(network, model.simulation.duration, groups, options, tracked, on_step)
    result = Result(model=model.name, backend="reference",
                    metadata={"duration_ms": model.simulation.duration, "dt_ms": model.simulation.dt,
                              "solver": (options or NetworkSolverOptions()).method, **stats,
                              "simulate_s": time.perf_counter() - started, "setup_s": 0.0})
    return finish(result, model, plan, values, tracker)
