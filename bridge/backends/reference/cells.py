"""Cell groups and synapse groups of the reference backend.

A :class:`CellGroup` holds one population's state and advances it between grid points: exactly
with a matrix exponential when its equations are affine (as NEST does), otherwise with SciPy's
DOP853 at rtol 1e-10 and a dense output reused until something changes the state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from ...catalog.expressions import evaluate, evaluate_all, execute
from ...model import Population, Projection

from .defaults import ATOL, RTOL  # noqa: F401 - re-exported
HORIZON_MS = 100.0  # longest stretch integrated in one solve_ivp call
#: a located threshold reached within this time at the current rate counts as crossed when the solver
#: stalls in a blow-up (ms; far below any time step, far above the spacing of floating-point times)
DIVERGENCE_HORIZON_MS = 1e-9


class ContinuousSynapses:
    """Per-connection state of a continuous synapse (kinetic NMDA) onto one target group."""

    def __init__(self, projection: Projection, dt: float):
        self.projection = projection
        self.kind = projection.synapse.synapse_type
        self.params = dict(projection.synapse.parameters)
        self.names = [s.name for s in self.kind.states]
        m = len(projection.pairs)
        self.targets = projection.pairs[:, 1]
        self.states = np.array([np.full(m, projection.synapse.initial[name]) for name in self.names])
        self.transmitter = np.zeros(m)
        self.pulse_end = np.full(m, -1, dtype=np.int64)
        amplitude, duration = self.kind.pulse
        self.amplitude = self.params[amplitude]
        self.pulse_steps = int(round(self.params[duration] / dt))

    def namespace(self, states: np.ndarray, voltage: np.ndarray) -> dict:
        ns = dict(self.params)
        ns.update(zip(self.names, states))
        ns["T"] = self.transmitter
        ns["V"] = voltage[self.targets]
        ns["weight"] = self.projection.weight
        return ns

    def derivatives(self, states: np.ndarray, voltage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (d states/dt, current per connection in pA)."""
        ns = self.namespace(states, voltage)
        d = np.array([np.broadcast_to(evaluate(self.kind.equations[name], ns), states[0].shape) for name in self.names])
        return d, np.broadcast_to(evaluate(self.kind.current, ns), states[0].shape)

    def start_pulses(self, connections: np.ndarray, step: int) -> None:
        self.transmitter[connections] = self.amplitude
        self.pulse_end[connections] = step + self.pulse_steps

    def end_pulses(self, step: int) -> bool:
        ending = self.pulse_end == step
        if ending.any():
            self.transmitter[ending] = 0.0
            return True
        return False


@dataclass(frozen=True)
class SolverOptions:
    """DOP853's tolerances for non-linear cell groups (``atol`` in the states' units) and its longest
    step in ms (None: unbounded; a bound makes the dense output between samples more accurate, for
    convergence studies: --option reference.max_step=0.1)."""

    rtol: float = RTOL
    atol: float = ATOL
    max_step: float | None = None


class CellGroup:
    """State and dynamics of one population."""

    def __init__(self, population: Population, dt: float, continuous: list[ContinuousSynapses],
                 options: SolverOptions = SolverOptions()):
        self.options = options
        self.population = population
        self.type = population.neuron_type
        self.n = population.size
        self.dt = dt
        self.params = dict(population.parameters)
        self.names = [s.name for s in self.type.states]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.X = np.array([np.full(self.n, population.initial[name], dtype=float) for name in self.names])
        self.I_dc = np.zeros(self.n)
        self.refractory_until = np.full(self.n, -math.inf)
        self.t_ref = self.params.get(self.type.refractory, 0.0) if self.type.refractory else 0.0
        self.clamped_rows = [self.index[v] for v in self.type.clamped]
        self.synapses = continuous
        self.linear = self.type.linear and not continuous
        self.t = 0.0
        self._segment = None
        self._propagators: dict[tuple[float, bool], tuple[np.ndarray, np.ndarray]] = {}
        self._b_cache = None
        moving = [name for name in self.names if name in self.type.equations]
        self._rhs_rows = [self.index[name] for name in moving]
        self._rhs_expressions = tuple(self.type.equations[name] for name in moving)
        if self.type.emits:  # per-neuron Tsodyks–Markram state (lif_tum_2000)
            self.emit_rule = self.type.emits.on_spike
            self.last_emit = np.zeros(self.n)

    # ------------------------------------------------------------------ equations
    def _namespace(self, X: np.ndarray, I_ext) -> dict:
        ns = dict(self.params)
        ns.update(zip(self.names, X))
        ns["I_ext"] = I_ext
        return ns

    def _f(self, X: np.ndarray, I_ext) -> np.ndarray:
        derivatives = np.zeros_like(X)
        values = evaluate_all(self._rhs_expressions, self._namespace(X, I_ext))
        for row, value in zip(self._rhs_rows, values):
            derivatives[row] = value
        return derivatives

    def clamp_mask(self, t: float) -> np.ndarray:
        return self.refractory_until > t + 1e-9 * self.dt

    def invalidate(self) -> None:
        self._segment = None
        self._b_cache = None

    # ------------------------------------------------------------------ advancing
    def advance(self, t1: float, t_stop: float) -> np.ndarray:
        """Integrate from ``self.t`` to ``t1`` (ms); return indices of cells whose threshold was crossed
        inside the step (``located`` detection) and that were reset there.  No input is known to
        arrive before ``t_stop`` (ms), so an integration segment may extend that far."""
        if self.linear:
            self._advance_linear(t1)
            return np.empty(0, dtype=int)
        return self._advance_nonlinear(t1, t_stop)

    def _propagator(self, h: float, clamp: bool) -> tuple[np.ndarray, np.ndarray]:
        key = (round(h, 12), clamp)
        if key not in self._propagators:
            ns = len(self.names)
            zero = np.zeros((ns, 1))
            b0 = self._f(zero, 0.0)[:, 0]
            A = np.empty((ns, ns))
            for j in range(ns):
                e = zero.copy()
                e[j] = 1.0
                A[:, j] = self._f(e, 0.0)[:, 0] - b0
            if clamp:
                A[self.clamped_rows] = 0.0
            M = np.zeros((2 * ns, 2 * ns))
            M[:ns, :ns] = A * h
            M[:ns, ns:] = np.eye(ns) * h
            E = expm(M)
            self._propagators[key] = (E[:ns, :ns], E[:ns, ns:])
        return self._propagators[key]

    def _advance_linear(self, t1: float) -> None:
        h = t1 - self.t
        if self._b_cache is None:
            self._b_cache = self._f(np.zeros_like(self.X), self.I_dc)  # affine part: f(0)
        b = self._b_cache
        clamp = self.clamp_mask(self.t)
        phi, gamma = self._propagator(h, False)
        new = phi @ self.X + gamma @ b
        if clamp.any():
            b_c = b.copy()
            b_c[self.clamped_rows] = 0.0
            phi_c, gamma_c = self._propagator(h, True)
            new_c = phi_c @ self.X + gamma_c @ b_c
            new = np.where(clamp, new_c, new)
        self.X = new
        self.t = t1

    def _pack(self) -> np.ndarray:
        return np.concatenate([self.X.ravel()] + [s.states.ravel() for s in self.synapses])

    def _unpack(self, y: np.ndarray):
        ns = len(self.names)
        X = y[: ns * self.n].reshape(ns, self.n)
        blocks, offset = [], ns * self.n
        for s in self.synapses:
            size = s.states.size
            blocks.append(y[offset: offset + size].reshape(s.states.shape))
            offset += size
        return X, blocks

    def _rhs(self, clamp: np.ndarray):
        def rhs(_t, y):
            X, blocks = self._unpack(y)
            I_ext = self.I_dc.copy()
            derivs = []
            voltage = X[self.index[self.type.membrane]] if self.type.membrane in self.index else None
            for s, S in zip(self.synapses, blocks):
                dS, current = s.derivatives(S, voltage)
                np.add.at(I_ext, s.targets, current)
                derivs.append(dS.ravel())
            dX = self._f(X, I_ext)
            if clamp.any():
                for row in self.clamped_rows:
                    dX[row][clamp] = 0.0
            return np.concatenate([dX.ravel()] + derivs)
        return rhs

    def _threshold_event(self, clamp: np.ndarray):
        def event(_t, y):
            X, _ = self._unpack(y)
            theta = np.broadcast_to(evaluate(self.type.threshold, self._namespace(X, 0.0)), (self.n,))
            free = theta[~clamp]
            return float(free.max()) if free.size else -1.0
        event.terminal = True
        event.direction = 1.0
        return event

    def _new_segment(self, t_stop: float):
        clamp = self.clamp_mask(self.t)
        later = self.refractory_until[self.refractory_until > self.t + 1e-9 * self.dt]
        t_end = min(self.t + HORIZON_MS, t_stop, later.min() if later.size else math.inf)
        t_end = max(t_end, self.t + self.dt)  # never shorter than one step
        events = None
        if self.type.threshold is not None and self.type.threshold_detection == "located":
            events = [self._threshold_event(clamp)]
        rhs = self._rhs(clamp)
        solution = solve_ivp(rhs, (self.t, t_end), self._pack(), method="DOP853", rtol=self.options.rtol,
                             atol=self.options.atol, max_step=self.options.max_step or math.inf,
                             dense_output=True, events=events)
        t_event = solution.t_events[0][0] if events and len(solution.t_events[0]) else math.inf
        if solution.status == -1:
            if not (events and solution.sol is not None and self._diverging(rhs, solution.t[-1], solution.y[:, -1], clamp)):
                raise RuntimeError(f"reference integration of {self.population.name} failed: {solution.message}")
            t_event = solution.t[-1]  # the blow-up reaches the threshold within the clock's resolution
        self._segment = (solution.sol, solution.t[-1], t_event)

    def _diverging(self, rhs, t: float, y: np.ndarray, clamp: np.ndarray) -> bool:
        """Whether the solver stalled because a cell's threshold variable diverges: at the rate it
        rises, the cell closest to its (located) threshold reaches it within
        :data:`DIVERGENCE_HORIZON_MS` (the step the solver would need is below the spacing of
        floating-point times, as where the exponential of an AdEx cell blows up)."""
        X, _ = self._unpack(y)
        theta = np.broadcast_to(evaluate(self.type.threshold, self._namespace(X, 0.0)), (self.n,))
        theta = np.where(clamp, -np.inf, theta)
        cell = int(np.argmax(theta))
        if not np.isfinite(theta[cell]):
            return False
        rate = self._unpack(rhs(t, y))[0][self.index[self.type.membrane], cell]  # located: theta = V - cut
        return theta[cell] >= 0 or (rate > 0 and -theta[cell] <= rate * DIVERGENCE_HORIZON_MS)

    def _advance_nonlinear(self, t1: float, t_stop: float) -> np.ndarray:
        fired: list[int] = []
        stalled = 0
        while self.t < t1 - 1e-12:
            stalled = stalled + 1 if self._segment is not None and self._segment[2] <= self.t else 0
            if stalled > 3:
                raise RuntimeError(f"reference integration of {self.population.name} makes no progress at "
                                   f"t = {self.t:.6g} ms (threshold event without a crossing)")
            if self._segment is None or self._segment[1] <= self.t + 1e-12:
                self._new_segment(max(t_stop, t1))
            sol, t_end, t_event = self._segment
            t_next = min(t1, t_end, t_event)
            X, blocks = self._unpack(sol(t_next))
            self.X = X.copy()
            for s, S in zip(self.synapses, blocks):
                s.states = S.copy()
            self.t = t_next
            if t_next == t_event:
                # The located root is exact in time, but where V diverges the interpolated theta at that
                # time can still be slightly negative: the cells at the maximum are the ones that crossed.
                theta = np.broadcast_to(evaluate(self.type.threshold, self._namespace(self.X, 0.0)), (self.n,))
                theta = np.where(self.clamp_mask(self.t), -np.inf, theta)
                crossed = np.flatnonzero(np.isfinite(theta)
                                         & (theta >= min(0.0, theta.max()) - 1e-9 * (1.0 + abs(theta.max()))))
                self.reset(crossed, self.t)
                self.invalidate()
                fired.extend(crossed.tolist())
        return np.array(fired, dtype=int)

    # ------------------------------------------------------------------ events
    def grid_spikes(self) -> np.ndarray:
        """Cells at or above threshold now (tested on the grid), refractory ones excluded."""
        if self.type.threshold is None:
            return np.empty(0, dtype=int)
        theta = np.broadcast_to(evaluate(self.type.threshold, self._namespace(self.X, self.I_dc)), (self.n,))
        return np.flatnonzero((theta >= 0) & ~self.clamp_mask(self.t))

    def reset(self, cells: np.ndarray, t: float) -> None:
        if len(cells) == 0:
            return
        ns = self._namespace(self.X[:, cells], self.I_dc[cells])
        execute(self.type.reset, ns)
        for variable, _ in self.type.reset:
            self.X[self.index[variable], cells] = ns[variable]
        if self.t_ref > 0:
            self.refractory_until[cells] = t + self.t_ref
        self.invalidate()

    def add_to(self, variable: str, cells: np.ndarray, amounts: np.ndarray) -> None:
        np.add.at(self.X[self.index[variable]], cells, amounts)
        self.invalidate()

    def emit_efficacy(self, cells: np.ndarray, t: float) -> np.ndarray:
        """Efficacy carried by the spikes of ``cells`` at ``t`` (1, or the ``emits`` rule's efficacy,
        applied to the neuron's own copy of the rule's states)."""
        if not self.type.emits:
            return np.ones(len(cells))
        own = [s.name for s in self.type.emits.states]
        ns = dict(self.params)
        ns.update({name: self.X[self.index[name], cells] for name in own})
        ns["h"] = t - self.last_emit[cells]
        ns["first"] = 0.0
        execute(self.emit_rule, ns)
        for name in own:
            self.X[self.index[name], cells] = ns[name]
        self.last_emit[cells] = t
        return np.asarray(ns["efficacy"], dtype=float)


class EventSynapses:
    """Per-connection state of an event synapse (static, Tsodyks–Markram) of one projection."""

    def __init__(self, projection: Projection):
        self.projection = projection
        self.kind = projection.synapse.synapse_type
        self.params = dict(projection.synapse.parameters)
        m = len(projection.pairs)
        self.states = {name: np.full(m, value) for name, value in projection.synapse.initial.items()}
        self.last_spike = np.zeros(m)
        self.first = np.ones(m, dtype=bool)

    def efficacy(self, connections: np.ndarray, t: float) -> np.ndarray:
        if not self.states:
            return np.ones(len(connections))
        ns = dict(self.params)
        ns.update({name: values[connections] for name, values in self.states.items()})
        first = self.first[connections]
        ns["first"] = first.astype(float)
        ns["h"] = t - self.last_spike[connections]
        execute(self.kind.on_spike, ns)
        for name in self.states:
            self.states[name][connections] = ns[name]
        self.last_spike[connections] = t
        self.first[connections] = False
        return np.broadcast_to(np.asarray(ns["efficacy"], dtype=float), connections.shape)
