"""The Brian2 backend, run for real through ``bridge.simulate`` and compared with the reference
solver and with closed forms (no mocks, no wall-clock assertions).

The Tsodyks circuits run on the default Cython target (compiled once into bridge's cache, then
reused); the other tests use the NumPy target, which needs no compiler.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

import bridge
from bridge.model.errors import UnsupportedError

pytest.importorskip("brian2")

MODELS = Path(os.environ.get("BRIDGE_MODELS_DIR") or Path(__file__).resolve().parent.parent / "models")
NUMPY = {"target": "numpy"}


def load_model(name: str) -> bridge.Model:
    path = MODELS / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"{path} is not in the tree")
    return bridge.load(path)


def max_deviation(reference: bridge.Result, other: bridge.Result, population: str, variable: str) -> float:
    """Largest absolute difference over every sample and recorded cell."""
    expected, got = reference.signals[(population, variable)], other.signals[(population, variable)]
    np.testing.assert_allclose(got.times, expected.times, rtol=0, atol=1e-9)
    return float(np.max(np.abs(got.values - expected.values)))


# ------------------------------------------------------------------ Tsodyks 2000 circuits
@pytest.mark.parametrize("name", ["tsodyks_depression", "tsodyks_facilitation"])
def test_tsodyks_circuit_matches_reference(name):
    model = load_model(name)
    reference = bridge.simulate(model, backend="reference")
    brian = bridge.simulate(model, backend="brian2")  # default target: cython
    assert brian.metadata["target"] == "cython"
    assert set(brian.metadata["methods"].values()) == {"exact"}
    assert max_deviation(reference, brian, "post", "V_m") < 1e-4  # mV, at every sample
    assert max_deviation(reference, brian, "post", "I_syn_ex") < 1e-4  # pA
    for mine, theirs in zip(brian.spikes("pre"), reference.spikes("pre")):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-9)
    assert brian.metadata["setup_s"] > 0 and brian.metadata["simulate_s"] > 0


# ------------------------------------------------------------------ per-spike efficacy
RATES_HZ = (5.0, 20.0, 40.0)
N_SPIKES = 20
DELAY_MS = 1.0
TAU_SYN_MS = 3.0
WEIGHT_PA = 100.0
PARAMETER_SETS = {  # (U, tau_rec ms, tau_fac ms): depressing, and depressing + facilitating
    "depressing": (0.5, 800.0, 0.0),
    "facilitating": (0.1, 100.0, 1000.0),
}
VARIANTS = ("tsodyks3", "tsodyks2")


def tsodyks3_efficacies(U: float, tau_rec: float, tau_fac: float, times: np.ndarray) -> np.ndarray:
    """Three-state model (Tsodyks, Uziel & Markram 2000; DESIGN.md "Reference facts"), solved in
    closed form between spikes: y(D) = y e^{-D/tau_psc}; dz/dt = y/tau_psc - z/tau_rec gives
    z(D) = (z - A) e^{-D/tau_rec} + A e^{-D/tau_psc} with A = y tau_rec/(tau_psc - tau_rec);
    x = 1 - y - z; u decays to 0 with tau_fac (u = 0 between spikes when tau_fac = 0).
    At a spike: u <- u + U(1 - u) first, then efficacy = u x, x <- x - u x, y <- y + u x.
    Initial state x = 1, y = 0, u = 0 at t = 0."""
    x, y, u, last, out = 1.0, 0.0, 0.0, 0.0, []
    for t in times:
        gap = t - last
        z = 1.0 - x - y
        a = y * tau_rec / (TAU_SYN_MS - tau_rec)
        z = (z - a) * math.exp(-gap / tau_rec) + a * math.exp(-gap / TAU_SYN_MS)
        y = y * math.exp(-gap / TAU_SYN_MS)
        x = 1.0 - y - z
        u = u * math.exp(-gap / tau_fac) if tau_fac > 0 else 0.0
        u = u + U * (1.0 - u)
        efficacy = u * x
        x, y, last = x - efficacy, y + efficacy, t
        out.append(efficacy)
    return np.array(out)


def tsodyks2_efficacies(U: float, tau_rec: float, tau_fac: float, times: np.ndarray) -> np.ndarray:
    """Two-state recursion (Maass & Markram 2002; DESIGN.md): efficacy_n = u_n R_n with u_1 = U,
    R_1 = 1, R_{n+1} = 1 + (R_n - u_n R_n - 1) e^{-D/tau_rec}, u_{n+1} = U + u_n (1-U) e^{-D/tau_fac}
    (e^{-D/tau_fac} = 0 when tau_fac = 0)."""
    u, R, out = U, 1.0, []
    for n, t in enumerate(times):
        if n:
            gap = t - times[n - 1]
            fac = math.exp(-gap / tau_fac) if tau_fac > 0 else 0.0
            R, u = 1.0 + (R - u * R - 1.0) * math.exp(-gap / tau_rec), U + u * (1.0 - U) * fac
        out.append(u * R)
    return np.array(out)


ANALYTIC = {"tsodyks3": tsodyks3_efficacies, "tsodyks2": tsodyks2_efficacies}


def efficacy_model() -> tuple[bridge.Model, dict[tuple[str, str, float], int]]:
    """One source train and one lif_psc_exp target cell per (variant, parameter set, rate)."""
    cases = [(v, p, r) for v in VARIANTS for p in PARAMETER_SETS for r in RATES_HZ]
    trains = [[round(1000.0 / r * k, 6) for k in range(1, N_SPIKES + 1)] for _, _, r in cases]
    projections = {}
    for variant in VARIANTS:
        for label, (U, tau_rec, tau_fac) in PARAMETER_SETS.items():
            synapse = {"type": variant, "U": U, "tau_rec": f"{tau_rec} ms", "tau_fac": f"{tau_fac} ms"}
            if variant == "tsodyks3":
                synapse["tau_psc"] = f"{TAU_SYN_MS} ms"
            pairs = [[k, k] for k, case in enumerate(cases) if case[:2] == (variant, label)]
            projections[f"{variant}_{label}"] = {"source": "trains", "target": "post", "rule": "list",
                                                 "pairs": pairs, "synapse": synapse,
                                                 "weight": f"{WEIGHT_PA} pA", "delay": f"{DELAY_MS} ms"}
    duration = max(t[-1] for t in trains) + 5.0
    document = {
        "name": "tsodyks_efficacy",
        "simulation": {"duration": f"{duration} ms", "dt": "0.1 ms"},
        "populations": {"post": {"type": "lif_psc_exp", "size": len(cases),
                                 "parameters": {"tau_syn_ex": f"{TAU_SYN_MS} ms", "V_th": "1e6 mV"}}},
        "stimuli": {"trains": {"type": "spike_times", "times": trains}},
        "projections": projections,
        "recordings": {"current": {"population": "post", "variables": ["I_syn_ex"], "interval": "0.1 ms"}},
    }
    return bridge.from_dict(document), {case: k for k, case in enumerate(cases)}


def test_tsodyks_efficacy_matches_analytic_recursion():
    model, cells = efficacy_model()
    result = bridge.simulate(model, backend="brian2", options=NUMPY)
    dt = model.simulation.dt
    times = result.signals[("post", "I_syn_ex")].times
    for (variant, label, rate), cell in cells.items():
        _, current = result.signal("post", "I_syn_ex", cell)
        spikes = model.stimuli["trains"].trains[cell]
        arrival = np.rint((spikes + DELAY_MS) / dt).astype(int) - 1  # sample index of each arrival
        assert np.allclose(times[arrival], spikes + DELAY_MS)
        before = np.where(arrival > 0, current[arrival - 1], 0.0) * math.exp(-dt / TAU_SYN_MS)
        efficacy = (current[arrival] - before) / WEIGHT_PA
        expected = ANALYTIC[variant](*PARAMETER_SETS[label], spikes)
        np.testing.assert_allclose(efficacy, expected, rtol=0, atol=1e-9,
                                   err_msg=f"{variant} {label} at {rate} Hz")


# ------------------------------------------------------------------ kinetic NMDA
NMDA_SLOPE_MV_PER_MS = 0.02
"""Tolerance slope (mV per ms of dt).  Brian2 integrates the synapse (rk4) and its target (rk4)
with separate updaters coupled through the summed NMDA current evaluated at the start of each
step, a first-order splitting: the deviation from the reference's joint DOP853 solution is
proportional to dt.  The bound allows ~20x the deviation measured at dt = 0.1 ms (1.1e-3 mV)."""


def test_nmda_kinetic_converges_to_reference():
    model = load_model("nmda_kinetic")
    variables = [(r.population, v) for r in model.recordings.values() for v in r.variables]
    deviations = []
    for dt in (0.1, 0.05):
        reference = bridge.simulate(model, backend="reference", dt=dt)
        brian = bridge.simulate(model, backend="brian2", dt=dt, options=NUMPY)
        deviation = max(max_deviation(reference, brian, p, v) for p, v in variables)
        assert deviation < NMDA_SLOPE_MV_PER_MS * dt, f"dt = {dt} ms: {deviation} mV"
        deviations.append(deviation)
    assert deviations[1] < 0.7 * deviations[0], deviations  # first order: about half


# ------------------------------------------------------------------ conductance LIF, Poisson inputs
def test_cond_lif_poisson_spike_times_within_one_step():
    model = load_model("cond_lif_poisson")
    dt = model.simulation.dt
    population = next(r.population for r in model.recordings.values() if r.spikes)
    reference = bridge.simulate(model, backend="reference")
    brian = bridge.simulate(model, backend="brian2", options=NUMPY)
    assert brian.metadata["methods"][population] == "rk4"
    total = 0
    for cell, (mine, theirs) in enumerate(zip(brian.spikes(population), reference.spikes(population))):
        assert len(mine) == len(theirs), f"cell {cell}: {len(mine)} spikes instead of {len(theirs)}"
        if len(mine):
            assert np.max(np.abs(mine - theirs)) <= dt * (1 + 1e-9)
        total += len(mine)
    assert total > 0, "the model should make its cells fire"


# ------------------------------------------------------------------ refusals
def test_unknown_target_is_refused():
    model = load_model("tsodyks_depression")
    with pytest.raises(UnsupportedError, match="unsupported on brian2: target 'opencl'"):
        bridge.simulate(model, backend="brian2", options={"target": "opencl"})
