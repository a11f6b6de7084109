"""The reference backend against closed-form solutions.

Expected values come from tests/analytic.py (formulas written independently of bridge's catalog).
The reference backend runs in-process here (it has no global state); tests of the subprocess path
are in test_cli.py.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import bridge
from bridge.backends.reference import ReferenceBackend

from analytic import lif_dc_first_spike, lif_exp_psc_response
from conftest import TM_PARAMETERS, measured_efficacies, regular_train_model, tm_efficacy_case


def run(model):
    return ReferenceBackend().run(model)


@pytest.mark.parametrize("rate_hz", [5.0, 20.0, 40.0])
@pytest.mark.parametrize("label", sorted(TM_PARAMETERS))
@pytest.mark.parametrize("variant", ["tsodyks3", "tsodyks2"])
def test_tsodyks_efficacy_matches_analytic_recursion(variant, label, rate_hz):
    model, expected = tm_efficacy_case(variant, label, rate_hz)
    np.testing.assert_allclose(measured_efficacies(run(model), model, 100.0), expected, rtol=1e-9, atol=0)


def test_depression_tenth_to_first_ratio():
    """The DESIGN.md reference value: the 10th/1st response ratio of the depressing synapse at 20 Hz
    with tau_psc -> 0 is 0.115 (two-state recursion; PyNN's Brian2 backend gets 0.666)."""
    synapse = {"type": "tsodyks2", "U": 0.5, "tau_rec": "800 ms", "tau_fac": "0 ms"}
    model = bridge.from_dict(regular_train_model(synapse, 20.0))
    eff = measured_efficacies(run(model), model, 100.0)
    assert eff[9] / eff[0] == pytest.approx(0.115, abs=0.001)


def test_single_psc_matches_closed_form():
    doc = {
        "simulation": {"duration": "100 ms", "dt": "0.1 ms"},
        "populations": {"cell": {"type": "lif_psc_exp", "parameters": {
            "C_m": "250 pF", "tau_m": "10 ms", "tau_syn_ex": "2 ms", "E_L": "0 mV", "V_th": "100 mV"},
            "initial": {"V_m": "0 mV"}}},
        "stimuli": {"s": {"type": "spike_times", "times": [10.0]}},
        "projections": {"p": {"source": "s", "target": "cell", "weight": "500 pA", "delay": "1 ms"}},
        "recordings": {"v": {"population": "cell", "variables": ["V_m", "I_syn_ex"]}},
    }
    result = run(bridge.from_dict(doc))
    times, v = result.signal("cell", "V_m")
    expected = np.array([lif_exp_psc_response(t, 11.0, 500.0, 250.0, 10.0, 2.0) for t in times])
    assert np.max(np.abs(v - expected)) <= 1e-9 * np.max(np.abs(expected))
    _, current = result.signal("cell", "I_syn_ex")
    expected_i = np.where(times >= 11.0 - 1e-9, 500.0 * np.exp(-(times - 11.0) / 2.0), 0.0)
    np.testing.assert_allclose(current, expected_i, rtol=1e-12, atol=1e-12)


def test_single_psc_with_equal_time_constants():
    """tau_m = tau_syn is the degenerate case of the closed form: V = (w/C) s e^{-s/tau}."""
    doc = {
        "simulation": {"duration": "50 ms", "dt": "0.1 ms"},
        "populations": {"cell": {"type": "lif_psc_exp", "parameters": {
            "C_m": "100 pF", "tau_m": "5 ms", "tau_syn_ex": "5 ms", "E_L": "0 mV", "V_th": "100 mV"},
            "initial": {"V_m": "0 mV"}}},
        "stimuli": {"s": {"type": "spike_times", "times": [5.0]}},
        "projections": {"p": {"source": "s", "target": "cell", "weight": "100 pA", "delay": "0.1 ms"}},
        "recordings": {"v": {"population": "cell", "variables": ["V_m"]}},
    }
    times, v = run(bridge.from_dict(doc)).signal("cell", "V_m")
    s = np.clip(times - 5.1, 0, None)
    np.testing.assert_allclose(v, 100.0 / 100.0 * s * np.exp(-s / 5.0), rtol=1e-9, atol=1e-12)


def test_dc_drive_first_spike_and_period(models_dir):
    """Pre neuron of the depression circuit: V = R I (1 - e^{-(t - 50)/tau_m}) crosses V_th inside the
    step before the grid point 98 ms; after each reset (clamped 2 ms) the same happens 50 ms later."""
    model = bridge.load(models_dir / "tsodyks_depression.yaml")
    result = run(model)
    crossing = lif_dc_first_spike(214.7, 0.1, 40.0, 15.0, 50.0)
    first = math.ceil(crossing / 0.1 - 1e-9) * 0.1
    expected = first + 50.0 * np.arange(20)
    np.testing.assert_allclose(result.spikes("pre")[0], expected, atol=1e-9)


def test_dc_step_subthreshold_closed_form():
    doc = {
        "simulation": {"duration": "100 ms", "dt": "0.1 ms"},
        "populations": {"cell": {"type": "lif_psc_exp", "parameters": {
            "C_m": "200 pF", "tau_m": "20 ms", "E_L": "-70 mV", "V_th": "0 mV"}}},
        "stimuli": {"dc": {"type": "dc_step", "target": "cell", "amplitude": "100 pA", "start": "20 ms", "stop": "60 ms"}},
        "recordings": {"v": {"population": "cell", "variables": ["V_m"]}},
    }
    times, v = run(bridge.from_dict(doc)).signal("cell", "V_m")
    R = 20.0 / 200.0  # GOhm
    on = np.clip(times - 20.0, 0, 40.0)
    expected = -70.0 + R * 100.0 * (1 - np.exp(-on / 20.0))
    after = times > 60.0
    expected[after] = -70.0 + (R * 100.0 * (1 - np.exp(-2.0))) * np.exp(-(times[after] - 60.0) / 20.0)
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-10)


def test_refractory_clamp_holds_reset_potential():
    doc = {
        "simulation": {"duration": "60 ms", "dt": "0.1 ms"},
        "populations": {"cell": {"type": "lif_psc_exp", "parameters": {
            "C_m": "100 pF", "tau_m": "10 ms", "E_L": "0 mV", "V_reset": "5 mV", "V_th": "10 mV", "t_ref": "3 ms"},
            "initial": {"V_m": "0 mV"}}},
        "stimuli": {"dc": {"type": "dc_step", "target": "cell", "amplitude": "300 pA"}},
        "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}},
    }
    result = run(bridge.from_dict(doc))
    times, v = result.signal("cell", "V_m")
    spike = result.spikes("cell")[0][0]
    held = (times >= spike - 1e-9) & (times <= spike + 3.0 + 1e-9)
    assert np.all(v[held] == 5.0)
    assert v[np.searchsorted(times, spike + 3.1 - 1e-9)] > 5.0


def test_tum2000_equals_psc_exp_with_tsodyks_synapse(models_dir):
    a = run(bridge.load(models_dir / "tsodyks_depression.yaml"))
    b = run(bridge.load(models_dir / "tsodyks_depression_tum.yaml"))
    np.testing.assert_allclose(a.signal("post", "V_m")[1], b.signal("post", "V_m")[1], rtol=0, atol=1e-12)


def test_conductance_lif_responds_to_inputs(models_dir):
    """Shape checks of the Poisson-driven model: the cell fires, never exceeds threshold on a sample,
    and g_ex never goes negative (exact sanity bounds, not tuned numbers)."""
    model = bridge.load(models_dir / "cond_lif_poisson.yaml")
    result = run(model)
    _, v = result.signal("cell", "V_m")
    _, g = result.signal("cell", "g_ex")
    assert len(result.spikes("cell")[0]) > 5
    assert v.max() < -55.0 and v.min() >= -80.0
    assert g.min() >= 0.0


def test_conductance_lif_single_input_converges_with_dt():
    """With one excitatory input the conductance is g(t) = w e^{-s/tau}; the reference's V at rtol 1e-10
    is independent of dt at common sample times."""
    def doc(dt):
        return {
            "simulation": {"duration": "40 ms", "dt": dt},
            "populations": {"cell": {"type": "lif_cond_exp", "parameters": {
                "C_m": "100 pF", "g_L": "10 nS", "E_L": "-70 mV", "V_th": "0 mV", "tau_syn_ex": "2 ms"}}},
            "stimuli": {"s": {"type": "spike_times", "times": [5.0]}},
            "projections": {"p": {"source": "s", "target": "cell", "weight": "20 nS", "delay": "1 ms"}},
            "recordings": {"v": {"population": "cell", "variables": ["V_m", "g_ex"], "interval": "0.2 ms"}},
        }
    coarse = run(bridge.from_dict(doc("0.1 ms")))
    fine = run(bridge.from_dict(doc("0.025 ms")))
    np.testing.assert_allclose(coarse.signal("cell", "V_m")[1], fine.signal("cell", "V_m")[1], atol=1e-8)
    t, g = fine.signal("cell", "g_ex")
    np.testing.assert_allclose(g, np.where(t >= 6.0 - 1e-9, 20.0 * np.exp(-(t - 6.0) / 2.0), 0.0), atol=1e-9)


def test_nmda_pulse_response_matches_closed_form():
    """During the first transmitter pulse on a clamped cell, x' = alpha2 T (1 - x) - beta2 x has the
    closed form x = x_inf (1 - e^{-k s}), k = alpha2 T + beta2, x_inf = alpha2 T / k."""
    doc = {
        "simulation": {"duration": "20 ms", "dt": "0.05 ms"},
        "populations": {"cell": {"type": "clamped", "parameters": {"V_hold": "-40 mV"}}},
        "stimuli": {"s": {"type": "spike_times", "times": [5.0]}},
        "projections": {"p": {"source": "s", "target": "cell", "synapse": {"type": "nmda_kinetic", "T_dur": "1 ms"},
                              "weight": "1 nS", "delay": "0.05 ms"}},
        "recordings": {"g": {"projection": "p", "variables": ["x", "g"], "interval": "0.05 ms"}},
    }
    result = run(bridge.from_dict(doc))
    t, x = result.signal("p", "x")
    k = 1.0 * 1.0 + 0.5
    onset = 5.05
    during = (t >= onset) & (t <= onset + 1.0 + 1e-9)
    s = t[during] - onset
    np.testing.assert_allclose(x[during], (1.0 / k) * (1 - np.exp(-k * s)), rtol=1e-7, atol=1e-9)
    after = t > onset + 1.0 + 1e-9
    x_end = (1.0 / k) * (1 - np.exp(-k * 1.0))
    np.testing.assert_allclose(x[after], x_end * np.exp(-0.5 * (t[after] - onset - 1.0)), rtol=1e-7, atol=1e-9)


def test_adex_fires_and_resets(models_dir):
    """AdEx under strong DC: spikes are located inside steps, w jumps by b at each spike."""
    doc = {
        "simulation": {"duration": "200 ms", "dt": "0.1 ms"},
        "populations": {"cell": {"type": "adex"}},
        "stimuli": {"dc": {"type": "dc_step", "target": "cell", "amplitude": "800 pA"}},
        "recordings": {"v": {"population": "cell", "variables": ["V_m", "w"], "spikes": True}},
    }
    result = run(bridge.from_dict(doc))
    spikes = result.spikes("cell")[0]
    assert len(spikes) >= 3
    isi = np.diff(spikes)
    assert isi[-1] > isi[0]  # spike-frequency adaptation
    t, w = result.signal("cell", "w")
    k = np.searchsorted(t, spikes[0] - 1e-9)
    assert w[k] - w[k - 1] == pytest.approx(80.5, abs=1.0)  # jump b, plus < 1 pA of drift in one step


def test_izhikevich_regular_spiking_rate():
    """Izhikevich (2003) regular spiking (a=.02, b=.2, c=-65, d=8) with I = 10: tonic firing; the
    cut-off at 30 mV is located, the reset is v=c, u+=d."""
    doc = {
        "simulation": {"duration": "500 ms", "dt": "0.1 ms"},
        "populations": {"cell": {"type": "izhikevich", "parameters": {"I_e": "10 pA"}}},
        "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}},
    }
    result = run(bridge.from_dict(doc))
    spikes = result.spikes("cell")[0]
    assert 5 <= len(spikes) <= 40
    _, v = result.signal("cell", "V_m")
    assert v.max() < 30.0
