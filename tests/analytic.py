"""Closed-form solutions used as expected values in the tests (independent of bridge's code)."""
from __future__ import annotations

import math


def tsodyks3_efficacies(U: float, tau_psc: float, tau_rec: float, tau_fac: float, interval: float,
                        n: int, x0: float = 1.0, y0: float = 0.0, u0: float = 0.0, t_first: float = 0.0) -> list[float]:
    """Three-state Tsodyks–Markram model (Tsodyks, Uziel & Markram 2000, Eqs. 1-3; DESIGN.md):
    between spikes y' = -y/tau_psc, z' = y/tau_psc - z/tau_rec, x = 1 - y - z, u' = -u/tau_fac;
    at a spike u <- u + U(1-u) first, then D = u x, x <- x - D, y <- y + D.  Releases of ``n`` spikes,
    the first at ``t_first`` and then every ``interval`` ms (:func:`tsodyks3_releases`)."""
    times = [t_first + i * interval for i in range(n)]
    return tsodyks3_releases(times, U, tau_psc, tau_rec, tau_fac, x0, y0, u0)


def tsodyks2_efficacies(U: float, tau_rec: float, tau_fac: float, interval: float, n: int,
                        u1: float | None = None, R1: float = 1.0) -> list[float]:
    """Two-state recursion (Maass & Markram 2002; DESIGN.md): efficacy u_n R_n with u_1 = U, R_1 = 1
    (or the given initial state), R_{n+1} = 1 + (R_n - u_n R_n - 1) e^{-D/tau_rec},
    u_{n+1} = U + u_n (1 - U) e^{-D/tau_fac}."""
    u, R = (U if u1 is None else u1), R1
    out = []
    for _ in range(n):
        out.append(u * R)
        R = 1.0 + (R - u * R - 1.0) * math.exp(-interval / tau_rec)
        u = U + u * (1.0 - U) * (math.exp(-interval / tau_fac) if tau_fac > 0 else 0.0)
    return out


def lif_exp_psc_response(t: float, t0: float, weight: float, C_m: float, tau_m: float, tau_syn: float) -> float:
    """Membrane potential (relative to E_L) of a LIF neuron with an exponential PSC of amplitude
    ``weight`` arriving at ``t0``: V = w tau_m tau_s / (C (tau_m - tau_s)) (e^{-s/tau_m} - e^{-s/tau_s}),
    s = t - t0 (solution of C V' = -C V / tau_m + w e^{-s/tau_s}, V(t0) = 0; Rotter & Diesmann 1999)."""
    if t < t0:
        return 0.0
    s = t - t0
    return weight * tau_m * tau_syn / (C_m * (tau_m - tau_syn)) * (math.exp(-s / tau_m) - math.exp(-s / tau_syn))


def lif_dc_first_spike(amplitude: float, R: float, tau_m: float, V_th: float, start: float) -> float:
    """Continuous time at which V = R I (1 - e^{-(t-start)/tau_m}) (from V = E_L = 0) reaches V_th."""
    return start + tau_m * math.log(R * amplitude / (R * amplitude - V_th))


def tsodyks3_releases(times: list[float], U: float, tau_psc: float, tau_rec: float, tau_fac: float,
                      x0: float = 1.0, y0: float = 0.0, u0: float = 0.0) -> list[float]:
    """Release D of the three-state model (equations in :func:`tsodyks3_efficacies`) at each of the
    spike ``times`` (ms, sorted, from a state (x0, y0, u0) at t = 0).  Equal times are spikes on one
    grid point, processed one after the other with no time between them (h = 0).  Solved in (y, z)
    form: z(t) = z0 e^{-t/tau_rec} + y0 tau_rec/(tau_psc - tau_rec) (e^{-t/tau_psc} - e^{-t/tau_rec}),
    which is not the form bridge's catalog uses."""
    x, y, u, z = x0, y0, u0, 1.0 - x0 - y0
    previous, out = 0.0, []
    for t in times:
        h = t - previous
        previous = t
        y_new = y * math.exp(-h / tau_psc)
        z = z * math.exp(-h / tau_rec) + y * tau_rec / (tau_psc - tau_rec) * (
            math.exp(-h / tau_psc) - math.exp(-h / tau_rec))
        y = y_new
        x = 1.0 - y - z
        u = u * math.exp(-h / tau_fac) if tau_fac > 0 else 0.0
        u = u + U * (1.0 - u)
        delta = u * x
        x, y = x - delta, y + delta
        out.append(delta)
    return out


def tsodyks3_same_step_release(m: int, x: float, u: float, U: float, facilitating: bool) -> float:
    """Closed form of the total release of m spikes of one connection on one grid point through a
    three-state synapse whose state just before them is (x, u) (u already decayed to that time):

        x * (1 - prod_{k=1..m} (1 - u_k)),   u_k = 1 - (1-U)^k (1-u)  (tau_fac > 0),  u_k = U  (tau_fac = 0).

    Derivation: with h = 0 nothing recovers or decays between them; spike k first sets
    u_k = u_{k-1} + U(1 - u_{k-1}), i.e. 1 - u_k = (1-U)(1 - u_{k-1}), then releases u_k x_k with
    x_{k+1} = x_k (1 - u_k), so the step releases x_1 - x_{m+1} = x (1 - prod (1 - u_k)).  For
    m = 2 from rest (x = 1, u = 0) and U = 0.5: 1 - (1-U)^2 = 0.75 without facilitation,
    1 - (1-U)^3 = 0.875 with it; the jump of a 100 pA synapse is 75 pA / 87.5 pA (not the 2 U x
    = 100 pA of treating both spikes as the first)."""
    product = 1.0
    for k in range(1, m + 1):
        u_k = 1.0 - (1.0 - U) ** k * (1.0 - u) if facilitating else U
        product *= 1.0 - u_k
    return x * (1.0 - product)


def tsodyks2_releases(times: list[float], U: float, tau_rec: float, tau_fac: float,
                      u1: float | None = None, R1: float = 1.0) -> list[float]:
    """Efficacy u_n R_n of the two-state recursion (as :func:`tsodyks2_efficacies`) at spike
    ``times`` (ms, sorted; equal times: same grid point, D = 0 between them, so R_{n+1} = R_n (1 - u_n)
    and u_{n+1} = U + u_n (1 - U) with facilitation, U without)."""
    u, R = (U if u1 is None else u1), R1
    out = []
    for n, t in enumerate(times):
        if n:
            interval = t - times[n - 1]
            R = 1.0 + (R - u * R - 1.0) * math.exp(-interval / tau_rec)
            u = U + u * (1.0 - U) * (math.exp(-interval / tau_fac) if tau_fac > 0 else 0.0)
        out.append(u * R)
    return out
