"""The Brian2 backend for reaction-network models (``model.network`` set), and its feasibility check.

Equations: one Brian2 variable per species (``c_<name>``, dimensionless numbers in nM, time in ms):
``dc_X/dt = (Σ_j n_Xj·flux_j + inj_c_X)/ms``, the fluxes written out from the mass-action rate laws
(:mod:`.network_codegen`), rate constants as namespace constants.  Injections are exact: the run is
split into segments at every switch time of an injection (which must lie on the dt grid) and the
shared injection fluxes ``inj_c_X`` (nM/ms) are set before each segment from
:meth:`~bridge.model.reactions.ReactionNetwork.injection_rates`.  Samples as for cells (step-start
monitor; the run lasts ``duration + dt``); read-outs are computed post hoc.

Samples: only the species the recordings need are monitored, at every step (``when="start"``), which
gives both the samples (rows at the sample times, :mod:`bridge.backends.network_sampling`) and the
peak/minimum of every recorded variable over every step (``metadata["extremes"]``); a second monitor
keeps every species at :data:`CHECKED_SAMPLES` evenly spaced times for the stability re-check.

Feasibility: Brian2 has only explicit integrators, whose step is stability-limited on stiff
networks.  For an explicit Runge–Kutta method of order p <= 4 with p stages (``euler``, ``rk2``,
``heun``, ``rk4``) the linear stability function is the Taylor polynomial R(z) = Σ_{k<=p} z^k/k!;
a step ``dt`` is stable at a state ``c`` when |R(dt·λ)| <= 1 for every eigenvalue λ of
:meth:`~bridge.model.reactions.ReactionNetwork.jacobian` ``(c)`` with Re λ < 0 (on the negative
real axis: dt·|λ| <= 2 for Euler/RK2, 2.785 for RK4).  :func:`check` refuses a network that is
unstable at its initial state, naming max |λ|, dt·|λ|, the method's limit and the dt that would be
needed.  A network can be mild at its initial state and stiff later (during a Ca pulse: the README's
CaMKII example has max |λ| ~ 0.3/ms at rest and ~ 300/ms at the end of a pulse), so :func:`check` also
checks along the reference trajectory (:func:`trajectory_instability`: the reference solver at a loose
tolerance, eigenvalues at the end of every injection pulse and at evenly spaced times, at most
:data:`TRAJECTORY_POINTS` states) before Brian2 is started; that costs about a loose reference run
(the README's CaMKII example: 1 s; the full spine network with its 1600 pulses: about 70 s).  After a run, :func:`unstable_sample`
re-checks states of the run itself and the run fails the same way if they are too stiff for dt.
Other methods (``exact``, ``exponential_euler``, GSL) are refused for networks.

Cost: an explicit method needs ``duration / dt`` steps; :func:`cost_warning` warns above
:data:`STEPS_WARNING` (1e8 steps: about 10 min at 10 µs per step, hours for large networks).
"""
from __future__ import annotations

import time

import numpy as np

from ...model import Model
from ...errors import UnsupportedError
from ...model.reactions import ReactionNetwork
from ...result import Result
from .device import configure, run as run_reported
from ...progress import reporter
from ..network_codegen import balances, identifiers, injected_species, net_flux, rate_parameters
from ..network_sampling import extremes, finish, sample_plan

#: explicit methods usable on networks -> order p of their stability polynomial Σ_{k<=p} z^k/k!
METHODS = {"euler": 1, "rk2": 2, "heun": 2, "rk4": 4}
DEFAULT_METHOD = "rk4"
#: states of the run re-checked for stability after it (evenly spaced)
CHECKED_SAMPLES = 50
#: most states of the reference trajectory checked before a run (pulse ends first, then evenly spaced)
TRAJECTORY_POINTS = 200
#: loose tolerances of the reference trajectory used for the check (relative; absolute in nM)
TRAJECTORY_RTOL, TRAJECTORY_ATOL = 1e-5, 1e-8
#: steps (duration / dt) above which a run gets a cost warning
STEPS_WARNING = 1e8
#: a switch time is on the grid when within this fraction of dt of a grid point
GRID_SLACK = 1e-6


def stability_polynomial(z: np.ndarray, order: int) -> np.ndarray:
    """|R(z)| of an explicit RK method of ``order`` p <= 4 with p stages (Taylor polynomial)."""
    total = np.zeros_like(z, dtype=complex)
    term = np.ones_like(z, dtype=complex)
    for k in range(order + 1):
        total += term
        term = term * z / (k + 1)
    return np.abs(total)


def real_axis_limit(order: int) -> float:
    """Largest x with |R(-x)| <= 1: the stability limit of dt·|λ| on the negative real axis."""
    lo, hi = 0.0, 10.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if stability_polynomial(np.array([-mid]), order)[0] <= 1 + 1e-12 else (lo, mid)
    return lo


def _stable(eigenvalues: np.ndarray, dt: float, order: int) -> bool:
    decaying = eigenvalues[eigenvalues.real < 0]
    return bool(np.all(stability_polynomial(dt * decaying, order) <= 1 + 1e-9))


def stable_dt(eigenvalues: np.ndarray, order: int, upper: float) -> float:
    """The largest dt (ms) <= ``upper`` at which every decaying eigenvalue is stable (bisection)."""
    if _stable(eigenvalues, upper, order):
        return upper
    lo, hi = 0.0, upper
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _stable(eigenvalues, mid, order) else (lo, mid)
    return lo


def instability(network: ReactionNetwork, c: np.ndarray, dt: float, method: str, where: str) -> str | None:
    """Why ``method`` at ``dt`` (ms) is unstable for the network linearised at ``c`` (nM), or None."""
    order = METHODS[method]
    eigenvalues = np.linalg.eigvals(network.jacobian(np.asarray(c, dtype=float)).toarray())
    if _stable(eigenvalues, dt, order):
        return None
    largest = float(np.max(np.abs(eigenvalues[eigenvalues.real < 0])))
    needed = stable_dt(eigenvalues, order, dt)
    return (f"reaction network {network.name!r} is too stiff for explicit {method} at dt = {dt:g} ms: "
            f"max |eigenvalue| of the Jacobian {where} is {largest:.4g}/ms, dt*|lambda| = {dt * largest:.4g} > "
            f"{real_axis_limit(order):.4g} (the method's stability limit); it would need dt <= {needed:.3g} ms there "
            f"(Brian2 has no implicit integrator; use neuron or reference)")


def check(model: Model, method: str | None, target: str) -> None:
    """Refuse what Brian2 cannot run honestly (see the module docstring)."""
    network = model.network
    assert network is not None
    method = method or DEFAULT_METHOD
    if model.populations or model.stimuli or model.projections:
        raise UnsupportedError("brian2", "a reaction network together with cells, stimuli or projections")
    if method not in METHODS:
        raise UnsupportedError("brian2", f"integration method {method!r} for reaction networks "
                               f"(explicit Runge-Kutta only: {', '.join(METHODS)})")
    if target == "cpp_standalone":
        raise UnsupportedError("brian2", "cpp_standalone for reaction networks (the run is split at every "
                               "injection switch; use cython or numpy)")
    dt = model.simulation.dt
    for t in network.breakpoints(model.simulation.duration):
        if abs(t / dt - round(t / dt)) > GRID_SLACK:
            raise UnsupportedError("brian2", f"injection switch at {t} ms is not a multiple of dt = {dt} ms")
    problem = instability(network, network.initial, dt, method, "at the initial state") \
        or trajectory_instability(network, model.simulation.duration, dt, method)
    if problem:
        raise UnsupportedError("brian2", problem)


def check_times(network: ReactionNetwork, duration: float, points: int = TRAJECTORY_POINTS) -> np.ndarray:
    """Times (ms) at which :func:`trajectory_instability` looks: the end of every injection pulse
    (where a pulse leaves the network stiffest; evenly thinned out to half of ``points``) and evenly
    spaced times filling the rest, all in (0, duration]."""
    ends = np.unique([inj.end for inj in network.injections if 0 < inj.end <= duration])
    if len(ends) > points // 2:
        ends = ends[np.unique(np.linspace(0, len(ends) - 1, points // 2).round().astype(int))]
    even = np.linspace(0, duration, points - len(ends) + 1)[1:]
    return np.unique(np.concatenate([ends, even]))


def trajectory_instability(network: ReactionNetwork, duration: float, dt: float, method: str) -> str | None:
    """Why ``method`` at ``dt`` is unstable somewhere along the network's trajectory (the reference
    solver at a loose tolerance), or None."""
    from ..reference.reactions import NetworkSolverOptions, integrate  # the shared yardstick, loosely

    times = check_times(network, duration)
    reporter().phase("checking stability (a loose reference run)")
    states, _ = integrate(network, duration, times, NetworkSolverOptions("BDF", TRAJECTORY_RTOL, TRAJECTORY_ATOL))
    for t, c in zip(times, states):
        problem = instability(network, c, dt, method, f"at t = {t:g} ms (reference trajectory)")
        if problem:
            return problem
    return None


def cost_warning(duration: float, dt: float) -> str | None:
    """A warning when a fixed-step run of ``duration`` (ms) at ``dt`` (ms) needs more than
    :data:`STEPS_WARNING` steps."""
    steps = duration / dt
    if steps <= STEPS_WARNING:
        return None
    return (f"brian2 needs {steps:.3g} steps ({duration:g} ms at dt = {dt:g} ms), more than {STEPS_WARNING:.0e}: "
            f"expect a very long run (NEURON's CVODE or the reference adapt their steps)")


def equations(network: ReactionNetwork) -> tuple[str, dict[str, float], dict[str, str]]:
    """(Brian2 equations, namespace of rate constants, species -> variable name)."""
    ids = identifiers(network.names)
    namespace: dict[str, float] = {}
    fluxes = []
    for j, reaction in enumerate(network.reactions):
        kf, kb = rate_parameters(j)
        namespace[kf], namespace[kb] = float(reaction.forward), float(reaction.reverse)
        fluxes.append(net_flux(reaction, ids, kf, kb))
    rhs = balances(network, fluxes)
    injected = set(injected_species(network))
    lines = []
    for name in network.names:
        source = f" + inj_{ids[name]}" if name in injected else ""
        lines.append(f"d{ids[name]}/dt = ({rhs[name]}{source})/ms : 1")
    lines += [f"inj_{ids[name]} : 1 (shared)" for name in network.names if name in injected]
    return "\n".join(lines), namespace, ids


def unstable_sample(network: ReactionNetwork, times: np.ndarray, states: np.ndarray, dt: float,
                    method: str) -> str | None:
    """Re-check stability at up to :data:`CHECKED_SAMPLES` recorded states (rows of ``states``)."""
    if not np.all(np.isfinite(states)):
        first = int(np.argmax(~np.all(np.isfinite(states), axis=1)))
        return (f"reaction network {network.name!r}: {method} at dt = {dt:g} ms diverged "
                f"(non-finite at {times[first]:g} ms)")
    for k in np.unique(np.linspace(0, len(times) - 1, min(CHECKED_SAMPLES, len(times))).astype(int)):
        problem = instability(network, states[k], dt, method, f"at t = {times[k]:g} ms")
        if problem:
            return problem
    return None


def run(model: Model, method: str | None, target: str) -> Result:
    """Simulate the network on Brian2 (see the module docstring)."""
    import brian2 as b2


    network = model.network
    assert network is not None
    method = method or DEFAULT_METHOD
    started = time.perf_counter()
    reporter().phase("generating code")
    configure(b2, target, model)
    dt = model.simulation.dt
    text, namespace, ids = equations(network)
    group = b2.NeuronGroup(1, text, method=method, namespace=namespace, name="reaction_network")
    for name, value in network.species.items():
        setattr(group, ids[name], value)
    plan = sample_plan(model)
    duration = model.simulation.duration
    every_step = b2.StateMonitor(group, [ids[n] for n in plan.species], record=[0], when="start", name="species")
    check_every = max(1, int(round(duration / CHECKED_SAMPLES / dt)))
    check_monitor = b2.StateMonitor(group, [ids[n] for n in network.names], record=[0], dt=check_every * dt * b2.ms,
                                    when="start", name="all_species")
    net = b2.Network(group, every_step, check_monitor)
    net.run(0 * b2.ms, namespace=namespace)  # code generation and compilation
    built = time.perf_counter()
    reporter().phase("integrating", duration)
    end = model.simulation.duration + dt
    edges = [0.0] + list(network.breakpoints(model.simulation.duration)) + [end]
    injected = injected_species(network)
    for t0, t1 in zip(edges[:-1], edges[1:]):
        rates = network.injection_rates(t0)
        for name in injected:
            setattr(group, f"inj_{ids[name]}", float(rates[network.index[name]]))
        steps = int(round((t1 - t0) / dt))
        if steps:
            run_reported(b2, net, steps * dt * b2.ms, namespace, offset_ms=t0, total_ms=duration)
    simulate_s = time.perf_counter() - built
    checked_t = np.asarray(check_monitor.t / b2.ms)
    check_states = np.column_stack([np.asarray(getattr(check_monitor, ids[n]))[0] for n in network.names])
    problem = unstable_sample(network, checked_t, check_states, dt, method)
    if problem:
        raise UnsupportedError("brian2", problem)
    step_times = np.asarray(every_step.t / b2.ms)
    per_step = {n: np.asarray(getattr(every_step, ids[n]))[0] for n in plan.species}
    within = step_times <= duration + 1e-6 * dt  # the run lasts duration + dt
    tracker = extremes(model, plan)
    tracker.update(step_times[within], {n: v[within] for n, v in per_step.items()})
    values = []
    for group in plan.groups:
        rows = np.rint(group.times / dt).astype(int)
        if len(rows) and (rows[-1] >= len(step_times) or not np.allclose(step_times[rows], group.times, atol=1e-6 * dt)):
            raise RuntimeError("Brian2 sample times do not match the recordings' (off the dt grid?)")
        values.append(np.column_stack([per_step[n][rows] for n in group.species]))
    result = Result(model=model.name, backend="brian2",
                    metadata={"dt_ms": dt, "duration_ms": duration, "method": method,
                              "setup_s": built - started, "simulate_s": simulate_s, "target": target})
    return finish(result, model, plan, values, tracker)
