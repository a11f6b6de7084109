"""The NEST backend against the reference backend and closed forms.

Every simulation runs the real NEST 3.10 in a subprocess through ``bridge.simulate(model, backend=...)``.
Expected values come from the reference backend or from closed forms, never from NEST itself.
Measured deviations from the reference (NEST 3.10, recorded when this file was written):

* tsodyks_depression: max |dV| = 1.0e-15 mV, |dI_syn_ex| = 7.1e-15 pA; tsodyks_facilitation:
  2.2e-14 mV, 5.7e-14 pA; tsodyks_depression_tum: 4.4e-16 mV, 7.1e-15 pA (exact integration on both
  sides); identical presynaptic spike times.
* cond_lif_poisson: identical spike times (26 spikes), max |dV| = 3.8e-9 mV, |dg_ex| = 3.3e-9 nS;
  cond_lif_poisson_tm: identical spike times (14 spikes), max |dV| = 3.7e-9 mV.
* adex (subthreshold DC): 1e-8 mV; izhikevich (forward Euler in NEST, subthreshold): 0.038 mV at
  dt = 0.1 ms, 0.019 mV at dt = 0.05 ms.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import bridge
from bridge.backends.registry import get_backend
from bridge.errors import UnsupportedError

from analytic import tsodyks2_efficacies, tsodyks3_efficacies
from conftest import MODELS, measured_efficacies, regular_train_model


EXACT_MV = 1e-6  # both sides integrate the linear models exactly: only rounding differs
CLOSED_FORM = 1e-9  # relative tolerance against closed forms evaluated in double precision
# iaf_cond_exp is integrated by GSL's RKF45 (embedded 4th/5th order, absolute error target 1e-3 per
# step), the reference by DOP853 at rtol 1e-10.  At dt = 0.1 ms, twenty times below the shortest time
# constant (tau_syn_ex = 2 ms), one RKF45 step has a local error of order (dt/tau)^5 * |dV| ~ 3e-7 * 80 mV
# ~ 2.5e-5 mV right after an input jump, and the membrane forgets it with tau_eff <= tau_m = 10 ms,
# so errors do not accumulate beyond that order.  1e-4 mV bounds it with margin (measured: 3.8e-9 mV)
# and is still 1e4 times below anything a user would see in a trace.
COND_MV = 1e-4

_RUNS: dict[tuple[str, str, tuple[str, ...]], bridge.Result] = {}


def shipped(name: str, backend: str, overrides: tuple[str, ...] = ()) -> bridge.Result:
    """Result of a shipped model on a backend (each run once per test session)."""
    key = (name, backend, overrides)
    if key not in _RUNS:
        _RUNS[key] = bridge.simulate(bridge.load(MODELS / f"{name}.yaml", overrides), backend=backend)
    return _RUNS[key]


def max_deviation(expected: bridge.Result, actual: bridge.Result, owner: str, variable: str) -> float:
    """Largest |actual - expected| of ``owner.variable`` over every sample and cell; same sample times."""
    want, got = expected.signals[(owner, variable)], actual.signals[(owner, variable)]
    np.testing.assert_allclose(got.times, want.times, rtol=0, atol=1e-12)
    assert got.values.shape == want.values.shape
    return float(np.max(np.abs(got.values - want.values)))


def assert_same_spikes(expected: list[np.ndarray], actual: list[np.ndarray], window: float) -> None:
    """Same number of spikes per cell, each within ``window`` ms."""
    assert [len(t) for t in actual] == [len(t) for t in expected]
    for want, got in zip(expected, actual):
        if len(want):
            assert np.max(np.abs(got - want)) <= window + 1e-9


def both(document: dict) -> tuple[bridge.Model, bridge.Result, bridge.Result]:
    """Build a model from a dict and run it on the reference backend and on NEST."""
    model = bridge.from_dict(document)
    return model, bridge.simulate(model, backend="reference"), bridge.simulate(model, backend="nest")


def lif_cell(**parameters: str) -> dict:
    """A lif_psc_exp population spec at rest at 0 mV (R = tau_m/C_m = 10 ms/250 pF = 0.04 GOhm)."""
    values = {"E_L": "0 mV", "V_reset": "0 mV", "V_th": "1000 mV", "tau_m": "10 ms", "C_m": "250 pF"}
    values.update(parameters)
    return {"type": "lif_psc_exp", "parameters": values}


def dc_lif_spike_times(amplitude: float, R: float, tau_m: float, V_th: float, start: float, t_ref: float,
                       dt: float, until: float) -> np.ndarray:
    """Grid spike times (ms) of a LIF cell at rest at 0 mV driven by a DC step from ``start``:
    V = R I (1 - e^{-s/tau_m}) after the start and after each refractory period; the threshold is
    tested at grid points, so each rise takes the smallest whole number k of steps with V(k dt) >= V_th."""
    k = next(k for k in range(1, 10**6) if R * amplitude * (1.0 - math.exp(-k * dt / tau_m)) >= V_th)
    first, period = start + k * dt, t_ref + k * dt
    return first + period * np.arange(int((until - first) / period) + 1)


# ------------------------------------------------------------------------------------------ shipped
@pytest.mark.parametrize("name", ["tsodyks_depression", "tsodyks_facilitation"])
def test_tsodyks_circuit_matches_reference(name):
    reference, nest = shipped(name, "reference"), shipped(name, "nest")
    assert max_deviation(reference, nest, "post", "V_m") < EXACT_MV
    assert max_deviation(reference, nest, "post", "I_syn_ex") < EXACT_MV
    assert_same_spikes(reference.spikes("pre"), nest.spikes("pre"), window=0.0)


def test_tum_2000_pair_equals_psc_exp_with_tsodyks_synapse():
    """iaf_tum_2000 pair (TM state in the presynaptic neuron, static synapse) vs iaf_psc_exp +
    tsodyks_synapse: the same circuit, so the same traces, and both equal the reference."""
    tum, three_state = shipped("tsodyks_depression_tum", "nest"), shipped("tsodyks_depression", "nest")
    for variable in ("V_m", "I_syn_ex"):
        assert max_deviation(three_state, tum, "post", variable) < 1e-9
    assert max_deviation(shipped("tsodyks_depression_tum", "reference"), tum, "post", "V_m") < EXACT_MV
    assert_same_spikes(three_state.spikes("pre"), tum.spikes("pre"), window=0.0)


@pytest.mark.parametrize("name", ["cond_lif_poisson", "cond_lif_poisson_tm"])
def test_conductance_lif_with_poisson_inputs(name):
    """80 excitatory + 20 inhibitory Poisson trains (drawn by bridge) onto iaf_cond_exp: spike times
    within one dt of the reference, membrane within COND_MV (see its comment)."""
    model = bridge.load(MODELS / f"{name}.yaml")
    reference, nest = shipped(name, "reference"), shipped(name, "nest")
    assert sum(len(s.trains) for s in model.spike_sources().values()) == 100
    assert_same_spikes(reference.spikes("cell"), nest.spikes("cell"), window=model.simulation.dt)
    assert len(nest.spikes("cell")[0]) > 5
    assert max_deviation(reference, nest, "cell", "V_m") < COND_MV
    assert max_deviation(reference, nest, "cell", "g_ex") < COND_MV
    assert nest.metadata["setup_s"] >= 0 and nest.metadata["simulate_s"] >= 0


def test_threads_from_the_model():
    """local_num_threads = simulation.threads: two threads give the reference's result too."""
    nest = shipped("cond_lif_poisson", "nest", ("simulation.threads=2",))
    reference = shipped("cond_lif_poisson", "reference")
    assert_same_spikes(reference.spikes("cell"), nest.spikes("cell"), window=0.0)
    assert max_deviation(reference, nest, "cell", "V_m") < COND_MV


# ------------------------------------------------------------------------------------------ refused
def _one_population(type_name: str, variables=("V_m",)) -> dict:
    return {"simulation": {"duration": "5 ms"}, "populations": {"c": {"type": type_name}},
            "recordings": {"r": {"population": "c", "variables": list(variables)}}}


def _tum_onto(target_type: str) -> dict:
    return {"simulation": {"duration": "5 ms"},
            "populations": {"pre": {"type": "lif_tum_2000"}, "post": {"type": target_type}},
            "projections": {"p": {"source": "pre", "target": "post", "weight": "1 nS"}},
            "recordings": {"r": {"population": "post", "variables": ["V_m"]}}}


REFUSED = {
    "qif": (_one_population("qif"), "qif (NEST has no built-in quadratic integrate-and-fire"),
    "passive": (_one_population("passive"), "passive (NEST has no built-in passive"),
    "clamped": (_one_population("clamped"), "clamped (NEST has no ideal voltage-clamp"),
    "nmda_kinetic": ({**_one_population("lif_psc_exp"),
                      "stimuli": {"s": {"type": "spike_times", "times": [1.0]}},
                      "projections": {"p": {"source": "s", "target": "c", "synapse": {"type": "nmda_kinetic"},
                                            "weight": "1 nS"}}},
                     "nmda_kinetic (NEST has no kinetic NMDA synapse)"),
    "tum_2000_x_recording": (_one_population("lif_tum_2000", ("V_m", "x")), "recording x of lif_tum_2000"),
    "tum_2000_onto_cond": (_tum_onto("lif_cond_exp"), "lif_tum_2000 onto lif_cond_exp"),
    "initial_psc": ({**_one_population("lif_psc_exp"),
                     "populations": {"c": {"type": "lif_psc_exp", "initial": {"I_syn_ex": "5 pA"}}}},
                    "initial I_syn_ex = 5"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_up_front(case):
    """The backend's check (run by the worker before NEST is touched) names the type and the reason."""
    source, reason = REFUSED[case]
    with pytest.raises(UnsupportedError) as caught:
        get_backend("nest").check(bridge.from_dict(source))
    assert str(caught.value).startswith("unsupported on nest: ")
    assert reason in str(caught.value)


def test_refusal_reaches_the_user():
    """Through bridge.simulate (subprocess) the refusal of a shipped model arrives as UnsupportedError."""
    with pytest.raises(UnsupportedError) as caught:
        bridge.simulate(bridge.load(MODELS / "nmda_kinetic.yaml"), backend="nest")
    assert str(caught.value).startswith("unsupported on nest: ")
    assert "(NEST has no" in str(caught.value)


# ------------------------------------------------------------------------------------------ quirks
@pytest.mark.parametrize("start", [50.0, 0.0])
def test_dc_step_acts_from_its_declared_start(start):
    """A dc_generator's connection delays its current by dt; a step declared on [start, stop) must
    act on exactly that interval: V = R I (1 - e^{-(t-start)/tau}) then decay from stop."""
    stop, amplitude, R, tau = start + 3.0, 100.0, 0.04, 10.0
    model, reference, nest = both({
        "simulation": {"duration": f"{stop + 2} ms", "dt": "0.1 ms"},
        "populations": {"c": lif_cell()},
        "stimuli": {"dc": {"type": "dc_step", "target": "c", "amplitude": f"{amplitude} pA",
                           "start": f"{start} ms", "stop": f"{stop} ms"}},
        "recordings": {"r": {"population": "c", "variables": ["V_m"]}}})
    times, v = nest.signal("c", "V_m")
    rise = R * amplitude * (1.0 - np.exp(-(np.minimum(times, stop) - start) / tau))
    expected = np.where(times <= start, 0.0, rise * np.exp(-np.maximum(times - stop, 0.0) / tau))
    np.testing.assert_allclose(v, expected, rtol=CLOSED_FORM, atol=1e-12)
    assert max_deviation(reference, nest, "c", "V_m") < EXACT_MV


def test_sample_times_and_values():
    """Samples at interval, 2 interval, ..., duration (inclusive) hold the state at that time."""
    model, reference, nest = both({
        "simulation": {"duration": "10 ms", "dt": "0.1 ms"},
        "populations": {"c": lif_cell(I_e="100 pA")},
        "recordings": {"r": {"population": "c", "variables": ["V_m"], "interval": "0.5 ms"}}})
    times, v = nest.signal("c", "V_m")
    np.testing.assert_allclose(times, 0.5 * np.arange(1, 21), rtol=0, atol=1e-12)
    np.testing.assert_allclose(v, 4.0 * (1.0 - np.exp(-times / 10.0)), rtol=CLOSED_FORM)
    assert max_deviation(reference, nest, "c", "V_m") < EXACT_MV


@pytest.mark.parametrize("delay", [0.1, 1.5])
def test_spike_arrives_after_its_delay(delay):
    """A spike at t_s with delay d (down to the minimum delay dt) makes I_syn_ex jump at t_s + d;
    the sample at t_s + d includes the jump: I = w e^{-(t - t_s - d)/tau_syn}."""
    weight, tau_syn = 100.0, 2.0
    model, reference, nest = both({
        "simulation": {"duration": "8 ms", "dt": "0.1 ms"},
        "populations": {"c": lif_cell()},
        "stimuli": {"src": {"type": "spike_times", "times": [2.0]}},
        "projections": {"p": {"source": "src", "target": "c", "weight": f"{weight} pA", "delay": f"{delay} ms"}},
        "recordings": {"r": {"population": "c", "variables": ["I_syn_ex"]}}})
    times, current = nest.signal("c", "I_syn_ex")
    arrival = 2.0 + delay
    expected = np.where(times < arrival - 1e-9, 0.0, weight * np.exp(-(times - arrival) / tau_syn))
    np.testing.assert_allclose(current, expected, rtol=CLOSED_FORM, atol=1e-12)
    assert max_deviation(reference, nest, "c", "I_syn_ex") < EXACT_MV


def _tum_circuit(target_type: str, x0: float) -> dict:
    """A lif_tum_2000 driven by 500 pA (R I = 20 mV > V_th = 15 mV) onto a target through a static
    synapse (weight 100 pA, delay dt)."""
    tm = {"U": "0.5", "tau_psc": "3 ms", "tau_rec": "100 ms", "tau_fac": "0 ms", "tau_syn_ex": "3 ms"}
    pre = lif_cell(V_th="15 mV", t_ref="2 ms", **tm)
    pre.update(type="lif_tum_2000", initial={"x": x0})
    post = lif_cell(tau_syn_ex="3 ms")
    post["type"] = target_type
    return {"simulation": {"duration": "80 ms", "dt": "0.1 ms"},
            "populations": {"pre": pre, "post": post},
            "stimuli": {"dc": {"type": "dc_step", "target": "pre", "amplitude": "500 pA", "start": "5 ms"}},
            "projections": {"p": {"source": "pre", "target": "post", "weight": "100 pA", "delay": "0.1 ms"}},
            "recordings": {"post": {"population": "post", "variables": ["I_syn_ex", "V_m"]},
                           "pre": {"population": "pre", "spikes": True}}}


def test_tum_2000_spike_times_are_exact():
    """NEST's spike_recorder would report an iaf_tum_2000 spike u*x ms early (the efficacy rides in
    the offset); bridge reports the grid time, equal to the closed form and to the reference."""
    model, reference, nest = both(_tum_circuit("lif_tum_2000", 1.0))
    expected = dc_lif_spike_times(500.0, 0.04, 10.0, 15.0, 5.0, 2.0, 0.1, until=80.0)
    assert len(expected) >= 4
    np.testing.assert_allclose(nest.spikes("pre")[0], expected, rtol=0, atol=1e-9)
    assert_same_spikes(reference.spikes("pre"), nest.spikes("pre"), window=0.0)


@pytest.mark.parametrize("target_type", ["lif_tum_2000", "lif_psc_exp"])
def test_tum_2000_initial_x_is_set(target_type):
    """NEST's iaf_tum_2000 starts with x = 0 (no release at all); bridge sets the model's x (0.6
    here), so the n-th PSC jump is w * u_n x_n of the three-state model started at x = 0.6, y = u = 0
    (closed form).  A lif_psc_exp target is run as iaf_tum_2000 so that it applies the efficacy."""
    model, reference, nest = both(_tum_circuit(target_type, 0.6))
    spikes = dc_lif_spike_times(500.0, 0.04, 10.0, 15.0, 5.0, 2.0, 0.1, until=80.0 - 0.2)
    efficacies = tsodyks3_efficacies(0.5, 3.0, 100.0, 0.0, spikes[1] - spikes[0], len(spikes),
                                     x0=0.6, t_first=spikes[0])
    times, current = nest.signal("post", "I_syn_ex")
    decay = math.exp(-0.1 / 3.0)
    for spike, efficacy in zip(spikes, efficacies):
        k = int(round((spike + 0.1) / 0.1)) - 1  # sample at the arrival time
        assert current[k] - current[k - 1] * decay == pytest.approx(100.0 * efficacy, rel=CLOSED_FORM)
    assert max_deviation(reference, nest, "post", "V_m") < EXACT_MV


@pytest.mark.parametrize("synapse", ["tsodyks2", "tsodyks3"])
def test_synapse_initial_state_and_first_spike(synapse):
    """NEST's tsodyks2_synapse uses its (u, x) as is at the first spike, tsodyks_synapse propagates
    (x, y, u) from t = 0: both must start from the model's initial state (not NEST's defaults)."""
    if synapse == "tsodyks2":
        spec = {"type": "tsodyks2", "U": 0.4, "tau_rec": "200 ms", "tau_fac": "100 ms", "u": 0.3, "x": 0.8}
        expected = tsodyks2_efficacies(0.4, 200.0, 100.0, 20.0, 6, u1=0.3, R1=0.8)
    else:
        spec = {"type": "tsodyks3", "U": 0.3, "tau_psc": "3 ms", "tau_rec": "100 ms", "tau_fac": "50 ms",
                "x": 0.7, "y": 0.1, "u": 0.2}
        expected = tsodyks3_efficacies(0.3, 3.0, 100.0, 50.0, 20.0, 6, x0=0.7, y0=0.1, u0=0.2, t_first=10.0)
    model, reference, nest = both(regular_train_model(spec, rate_hz=50.0, n_spikes=6))
    np.testing.assert_allclose(measured_efficacies(nest, model, 100.0), expected, rtol=1e-9)
    assert max_deviation(reference, nest, "cell", "I_syn_ex") < EXACT_MV


# ------------------------------------------------------------------------------------------ other types
def test_adex_subthreshold_matches_reference():
    """aeif_cond_exp parameter mapping: a subthreshold DC response (w, V_m) agrees with DOP853."""
    model, reference, nest = both({
        "simulation": {"duration": "60 ms", "dt": "0.1 ms"},
        "populations": {"c": {"type": "adex", "size": 2}},
        "stimuli": {"dc": {"type": "dc_step", "target": "c", "amplitude": "500 pA", "start": "20 ms"}},
        "recordings": {"r": {"population": "c", "variables": ["V_m", "w"], "interval": "0.5 ms"}}})
    assert max_deviation(reference, nest, "c", "V_m") < 1e-5
    assert max_deviation(reference, nest, "c", "w") < 1e-5


def test_izhikevich_current_scaling_converges():
    """NEST's izhikevich has no C_m (its current acts as mV/ms) and is stepped by forward Euler:
    bridge divides injected currents by C_m, and the deviation from the reference (DOP853) is first
    order in dt -- halving dt halves it -- and small (< 0.1 mV) at dt = 0.1 ms."""
    document = {
        "simulation": {"duration": "40 ms"},
        "populations": {"c": {"type": "izhikevich", "parameters": {"C_m": "100 pF", "I_e": "100 pA"}}},
        "stimuli": {"dc": {"type": "dc_step", "target": "c", "amplitude": "200 pA", "start": "10 ms"}},
        "recordings": {"r": {"population": "c", "variables": ["V_m"], "interval": "0.5 ms"}}}
    errors = []
    for dt in (0.1, 0.05):
        document["simulation"]["dt"] = f"{dt} ms"
        model, reference, nest = both(document)
        errors.append(max_deviation(reference, nest, "c", "V_m"))
    assert errors[0] < 0.1
    assert 1.6 < errors[0] / errors[1] < 2.4
