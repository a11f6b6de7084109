"""Closed-form solutions used as expected values in the tests (independent of bridge's code)."""
from __future__ import annotations

import math


def tsodyks3_efficacies(U: float, tau_psc: float, tau_rec: float, tau_fac: float, interval: float,
                        n: int, x0: float = 1.0, y0: float = 0.0, u0: float = 0.0, t_first: float = 0.0) -> list[float]:
    """Three-state Tsodyks–Markram model (Tsodyks, Uziel & Markram 2000, Eqs. 1-3; DESIGN.md):
    between spikes y' = -y/tau_psc, z' = y/tau_psc - z/tau_rec, x = 1 - y - z, u' = -u/tau_fac;
    at a spike u <- u + U(1-u) first, then D = u x, x <- x - D, y <- y + D.
    Solved here in (y, z) form: z(t) = z0 e^{-t/tau_rec} + y0 tau_rec/(tau_psc - tau_rec)
    (e^{-t/tau_psc} - e^{-t/tau_rec}), which is not the form bridge's catalog uses."""
    x, y, u = x0, y0, u0
    z = 1.0 - x - y
    out = []
    for i in range(n):
        h = t_first if i == 0 else interval
        y_new = y * math.exp(-h / tau_psc)
        z = z * math.exp(-h / tau_rec) + y * tau_rec / (tau_psc - tau_rec) * (
            math.exp(-h / tau_psc) - math.exp(-h / tau_rec))
        y = y_new
        x = 1.0 - y - z
        u = u * math.exp(-h / tau_fac) if tau_fac > 0 else 0.0
        u = u + U * (1.0 - u)
        delta = u * x
        x -= delta
        y += delta
        out.append(delta)
    return out


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
