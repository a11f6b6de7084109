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
from bridge.errors import ModelError, UnsupportedError

from analytic import tsodyks2_efficacies, tsodyks3_efficacies
from conftest import TM_PARAMETERS


MODELS = Path(os.environ.get("BRIDGE_MODELS_DIR") or Path(__file__).resolve().parent.parent / "models")
NUMPY = {"target": "numpy"}


def load_model(name: str) -> bridge.Model:
    path = MODELS / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"{path} is not in the tree")
    return bridge.load(path)


def max_deviation(reference: bridge.Result, other: bridge.Result, owner: str, variable: str) -> float:
    """Largest absolute difference over every sample and recorded cell (or connection)."""
    expected, got = reference.signals[(owner, variable)], other.signals[(owner, variable)]
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
PARAMETER_SETS = TM_PARAMETERS
VARIANTS = ("tsodyks3", "tsodyks2")


def analytic_efficacies(variant: str, label: str, spikes: np.ndarray) -> list[float]:
    """Closed-form efficacies of tests/analytic.py (DESIGN.md "Reference facts") for a regular train."""
    U, tau_rec, tau_fac = PARAMETER_SETS[label]
    interval = float(spikes[1] - spikes[0])
    if variant == "tsodyks3":
        return tsodyks3_efficacies(U, TAU_SYN_MS, tau_rec, tau_fac, interval, len(spikes), t_first=float(spikes[0]))
    return tsodyks2_efficacies(U, tau_rec, tau_fac, interval, len(spikes))


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
        expected = analytic_efficacies(variant, label, spikes)
        np.testing.assert_allclose(efficacy, expected, rtol=0, atol=1e-9,
                                   err_msg=f"{variant} {label} at {rate} Hz")


# ------------------------------------------------------------------ kinetic NMDA
def test_nmda_kinetic_converges_to_reference():
    """Tolerances follow from the method.

    Membrane: Brian2 advances the synapse and its target with separate updaters, coupled through
    the mean of the NMDA current before and after the synapse update; the V inside the current is
    the step-start value, a first-order splitting.  A current lagging half a step would shift V by
    about (dt/2) max|dV/dt| (5.6e-3 mV at dt = 0.1 ms, what one summed current gives): that is the
    bound, the trapezoidal coupling stays far below it (1.8e-4 mV), and halving dt must about halve
    the deviation.
    Synapse states (g, x): rk4 with the transmitter constant within each step, fourth order: a
    bound far above (dt rate)^5/120 per step at rates <= 2/ms, and a >= 8-fold drop when dt halves.
    """
    model = load_model("nmda_kinetic")
    membrane = [(r.owner, v) for r in model.recordings.values() if not r.projection for v in r.variables]
    synaptic = [(r.owner, v) for r in model.recordings.values() if r.projection for v in r.variables]
    assert membrane and synaptic
    deviations = []
    for dt in (0.1, 0.05):
        reference = bridge.simulate(model, backend="reference", dt=dt)
        brian = bridge.simulate(model, backend="brian2", dt=dt, options=NUMPY)
        slope = max(np.max(np.abs(np.diff(reference.signals[key].values, axis=0))) / dt for key in membrane)
        v_dev = max(max_deviation(reference, brian, *key) for key in membrane)
        s_dev = max(max_deviation(reference, brian, *key) for key in synaptic)
        assert v_dev < dt / 2 * slope, f"dt = {dt} ms: V deviates by {v_dev} mV (bound {dt / 2 * slope})"
        assert s_dev < 1e-4, f"dt = {dt} ms: synapse state deviates by {s_dev}"
        deviations.append((v_dev, s_dev))
    (v1, s1), (v2, s2) = deviations
    assert 0.4 < v2 / v1 < 0.6, deviations  # first order in dt
    assert s2 / s1 < 1 / 8, deviations  # fourth order in dt


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


# ------------------------------------------------------------------ located thresholds
def crossing_offsets(reference: bridge.Result, other: bridge.Result, dt: float) -> np.ndarray:
    """Per spike reported in the same step by both runs: how much later (ms) the other run reset,
    estimated from V_m at the report time (shortly after the reset, V_m rises from V_reset at the
    slope the reference has over the next step): -(V_other - V_ref)/slope."""
    times, v_ref = reference.signal("cell", "V_m")
    _, v_other = other.signal("cell", "V_m")
    spikes = other.spikes("cell")[0]
    offsets = []
    for spike in reference.spikes("cell")[0]:
        k = int(np.flatnonzero(np.isclose(times, spike))[0])
        if np.any(np.isclose(spikes, spike)) and k + 1 < len(times):
            offsets.append(-(v_other[k] - v_ref[k]) / ((v_ref[k + 1] - v_ref[k]) / dt))
    return np.array(offsets)


#: (type, DC amplitude, dt ms) -> (spikes reported in another step, max |crossing offset| ms), measured
#: on Brian2 over 1 s of DC from 20 ms (bounds below: these, the offsets rounded up).  Before the
#: crossing was located (linear interpolation, one Euler step over the rest of the step) the same runs
#: gave AdEx 14 of 17 spikes in another step, up to 0.4 ms (dt 0.1 and 0.05) and 0.275 ms (dt 0.025),
#: offsets 0.062 / 0.030 / 0.023 ms; QIF 21 / 10 / 5 of 91 spikes one step off, offsets 0.043 / 0.011 /
#: 0.0029 ms.  NEURON's mechanisms (same algorithm, 10 sub-steps) measure the same for AdEx.
LOCATED_BOUNDS = {
    ("adex", "800 pA", 0.1): (1, 0.016), ("adex", "800 pA", 0.05): (1, 0.0088),
    ("qif", "300 pA", 0.1): (0, 1.5e-4), ("qif", "300 pA", 0.05): (0, 4.2e-5),
}


@pytest.mark.parametrize("kind, amplitude, dt", sorted(LOCATED_BOUNDS))
def test_located_crossings_are_located_inside_the_step(kind, amplitude, dt):
    """AdEx and QIF under DC drive: Brian2 integrates them in 10 Runge–Kutta sub-steps per dt and
    locates the crossing by bisection inside its sub-step (codegen.located_reset), as NEURON does,
    so spike times stay within one step of the reference's and the reset time within the bound."""
    document = {"simulation": {"duration": "1000 ms", "dt": f"{dt} ms"}, "populations": {"cell": {"type": kind}},
                "stimuli": {"dc": {"type": "dc_step", "target": "cell", "amplitude": amplitude, "start": "20 ms"}},
                "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}}}
    model = bridge.from_dict(document)
    reference = bridge.simulate(model, backend="reference")
    brian = bridge.simulate(model, backend="brian2")
    other_step, offset = LOCATED_BOUNDS[(kind, amplitude, dt)]
    mine, theirs = brian.spikes("cell")[0], reference.spikes("cell")[0]
    assert len(theirs) > 15 and len(mine) == len(theirs)
    assert np.max(np.abs(mine - theirs)) <= dt * (1 + 1e-9)
    assert np.count_nonzero(mine != theirs) <= other_step, (mine, theirs)
    offsets = crossing_offsets(reference, brian, dt)
    assert len(offsets) >= len(theirs) - other_step - 1
    assert np.max(np.abs(offsets)) <= offset * 1.1, np.max(np.abs(offsets))
    assert brian.metadata["methods"]["cell"] == "rk4_substeps"


def test_located_threshold_types_spike_within_one_step():
    """Izhikevich and QIF cells (threshold located inside the step by the reference) under DC and
    Poisson input: Brian2 locates the crossing inside the step too."""
    document = {
        "name": "located",
        "simulation": {"duration": "300 ms", "dt": "0.1 ms", "seed": 5},
        "populations": {"iz": {"type": "izhikevich", "size": 2}, "q": {"type": "qif", "size": 2}},
        "stimuli": {
            "d_iz": {"type": "dc_step", "target": "iz", "amplitude": "10 pA", "start": "30 ms"},
            "d_q": {"type": "dc_step", "target": "q", "amplitude": "120 pA", "start": "30 ms"},
            "src": {"type": "poisson", "size": 5, "rate": "50 Hz"},
        },
        "projections": {
            "s_iz": {"source": "src", "target": "iz", "weight": "2 mV", "delay": "1 ms"},
            "s_q": {"source": "src", "target": "q", "weight": "30 pA",
                    "synapse": {"type": "tsodyks2", "U": 0.3, "tau_rec": "200 ms", "tau_fac": "20 ms"}},
        },
        "recordings": {"iz": {"population": "iz", "spikes": True}, "q": {"population": "q", "spikes": True}},
    }
    model = bridge.from_dict(document)
    reference = bridge.simulate(model, backend="reference")
    brian = bridge.simulate(model, backend="brian2")  # Cython: 10 sub-steps per dt are slow in NumPy
    for population in ("iz", "q"):
        for mine, theirs in zip(brian.spikes(population), reference.spikes(population)):
            assert len(theirs) > 3 and len(mine) == len(theirs), (population, mine, theirs)
            assert np.max(np.abs(mine - theirs)) <= model.simulation.dt * (1 + 1e-9), (population, mine, theirs)


def test_method_override_is_refused_for_located_types():
    model = bridge.from_dict({"simulation": {"duration": "5 ms"}, "populations": {"cell": {"type": "qif"}},
                              "recordings": {"v": {"population": "cell", "variables": ["V_m"]}}})
    with pytest.raises(UnsupportedError, match="integration method 'euler' for qif"):
        bridge.simulate(model, backend="brian2", options={"method": "euler"})


# ------------------------------------------------------------------ refusals
def test_unknown_target_is_invalid_input():
    model = load_model("tsodyks_depression")
    with pytest.raises(ModelError, match="brian2.target: 'opencl' is not one of the choices"):
        bridge.simulate(model, backend="brian2", options={"target": "opencl"})


# ------------------------------------------------------------------ generated code
def test_generated_code_comes_from_the_catalog():
    """The Brian2 strings are translations of the catalog declarations, not a second copy."""
    from bridge.backends.brian2 import codegen as gen
    from bridge.catalog import NEURONS, SYNAPSES

    lif = NEURONS["lif_psc_exp"]
    equations = gen.neuron_equations(lif).splitlines()
    for state, rhs in lif.equations.items():
        line = next(e for e in equations if e.startswith(f"d{state}/dt = "))
        assert line.startswith(f"d{state}/dt = ({gen.translate(rhs)})/ms : 1")
        assert line.endswith("(unless refractory)") == (state in lif.clamped)
    assert gen.threshold_condition(lif) == f"{gen.translate(lif.threshold)} >= 0"

    tsodyks3 = SYNAPSES["tsodyks3"]
    rule = tsodyks3.on_spike
    varying = np.array([0.5, 0.6])  # per-connection values: nothing is folded into constants
    code = gen.event_synapse_code(tsodyks3, {p.name: varying for p in tsodyks3.parameters},
                                  {s.name: varying for s in tsodyks3.states}, varying, "I_syn_ex", 1.0,
                                  keep_states=True).on_pre
    assigned = [line.split(" = ")[0].removesuffix(gen.SYNAPTIC_SUFFIX).lstrip("_")
                for line in code.splitlines() if " = " in line]
    assert assigned[1:len(rule) + 1] == [variable for variable, _ in rule]  # u incremented before release
    assert "I_syn_ex_post += (weight_syn * _efficacy)" in code.splitlines()
    assert gen.translate("decay(h, tau)") == "(int(tau > 0)*exp(-h/(tau + int(tau <= 0))))"
    assert "clip(V_m, -inf, V_peak)" in gen.neuron_equations(NEURONS["adex"])  # located: capped RHS


# ------------------------------------------------------------------ shared objects and constants
def shared_objects_model() -> bridge.Model:
    """Two populations of one type (one Brian2 group), a third one alone, a spike source with two
    spikes in one step, projections of one code into both populations (one Synapses object)."""
    tm = {"type": "tsodyks2", "U": 0.3, "tau_rec": "200 ms", "tau_fac": "20 ms"}
    return bridge.from_dict({
        "name": "shared_objects",
        "simulation": {"duration": "200 ms", "dt": "0.1 ms", "seed": 3},
        "populations": {"A": {"type": "lif_psc_exp", "size": 3, "parameters": {"V_th": "-66 mV"}},
                        "B": {"type": "lif_psc_exp", "size": 4, "parameters": {"V_th": "-66 mV"},
                              "initial": {"V_m": "-68 mV"}},
                        "C": {"type": "lif_psc_exp", "size": 2, "parameters": {"V_th": "-67 mV"}}},
        "stimuli": {"dA": {"type": "dc_step", "target": "A", "amplitude": "300 pA", "start": "20 ms",
                           "indices": [0]},
                    "dB": {"type": "dc_step", "target": "B", "amplitude": "200 pA", "start": "50 ms",
                           "stop": "150 ms"},
                    "tr": {"type": "spike_times", "times": [[5.0, 5.0, 20.0], [7.0, 30.0], [12.0]]},
                    "po": {"type": "poisson", "size": 4, "rate": "80 Hz"}},
        "projections": {
            "trA": {"source": "tr", "target": "A", "rule": "one_to_one", "weight": "300 pA", "delay": "0.1 ms"},
            "poA": {"source": "po", "target": "A", "weight": "200 pA", "delay": "1 ms", "synapse": tm},
            "poB": {"source": "po", "target": "B", "weight": "200 pA", "delay": "1 ms", "synapse": tm},
            "poB3": {"source": "po", "target": "B", "weight": "150 pA", "delay": "1 ms",
                     "synapse": {"type": "tsodyks3", "U": 0.4, "tau_psc": "2 ms", "tau_rec": "300 ms",
                                 "tau_fac": "0 ms"}},
            "AB": {"source": "A", "target": "B", "weight": "100 pA", "delay": "2 ms",
                   "synapse": {"type": "tsodyks2", "U": 0.5, "tau_rec": "100 ms", "tau_fac": "0 ms"}},
            "AC": {"source": "A", "target": "C", "weight": "-50 pA", "delay": "1 ms"},
            "BA": {"source": "B", "target": "A", "weight": "-80 pA", "delay": "1 ms"},
        },
        "recordings": {"A": {"population": "A", "spikes": True, "variables": ["V_m", "I_syn_ex"]},
                       "B": {"population": "B", "spikes": True, "variables": ["V_m", "I_syn_in"],
                             "indices": [1, 3]},
                       "C": {"population": "C", "spikes": True}},
    })


def test_shared_groups_and_chunked_connections_change_nothing(monkeypatch):
    """Populations sharing a NeuronGroup, projections sharing a Synapses object, one spike source
    group and connections made in small chunks give the results of one object per model object."""
    from bridge.backends import brian2 as backend
    from bridge.backends.brian2 import network

    def run() -> bridge.Result:
        runner = backend.Brian2Backend()
        runner.target = "numpy"
        return runner.run(shared_objects_model())

    shared = run()
    with monkeypatch.context() as patch:
        patch.setattr(network, "CONNECT_CHUNK", 2)
        chunked = run()
    with monkeypatch.context() as patch:
        patch.setattr(network.Brian2Network, "_population_sets",
                      lambda self, continuous: [[p] for p in self.model.populations.values()])
        patch.setattr(network.Brian2Network, "_projection_sets",
                      lambda self: [[p] for p in self.model.projections.values()])
        separate = run()
    assert sum(len(t) for t in shared.spike_trains["A"]) > 10 and sum(len(t) for t in shared.spike_trains["B"]) > 10
    for other in (chunked, separate):
        for population, trains in shared.spike_trains.items():
            for mine, theirs in zip(trains, other.spike_trains[population]):
                np.testing.assert_array_equal(mine, theirs)
        for key, signal in shared.signals.items():
            np.testing.assert_allclose(signal.values, other.signals[key].values, rtol=0, atol=1e-12)


def test_uniform_quantities_are_constants():
    """Uniform parameters, the weight and states a spike never changes are namespace constants;
    only what varies or changes is stored per connection."""
    from bridge.backends.brian2 import codegen as gen
    from bridge.catalog import SYNAPSES

    depressing = gen.event_synapse_code(SYNAPSES["tsodyks2"], {"U": 0.5, "tau_rec": 200.0, "tau_fac": 0.0},
                                        {"u": 0.5, "x": 1.0}, 2.0, "g_ex", 1.0)
    assert depressing.model.splitlines() == ["x_syn : 1", "t_last_syn : second"]  # u = U, first from t_last
    assert depressing.namespace == {"u_syn": 0.5, "U_syn": 0.5, "tau_rec_syn": 200.0, "tau_fac_syn": 0.0,
                                    "weight_syn": 2.0}
    facilitating = gen.event_synapse_code(SYNAPSES["tsodyks2"], {"U": 0.5, "tau_rec": 200.0, "tau_fac": 50.0},
                                          {"u": 0.5, "x": 1.0}, np.array([1.0, 2.0]), "g_in", -1.0)
    assert {"u_syn : 1", "x_syn : 1", "weight_syn : 1 (constant)"} <= set(facilitating.model.splitlines())
    np.testing.assert_array_equal(facilitating.values["weight_syn"], [-1.0, -2.0])
    static = gen.event_synapse_code(SYNAPSES["static"], {}, {}, 4.0, "g_in", -1.0)
    assert (static.model, static.on_pre, static.namespace) == ("", "g_in_post += weight_syn", {"weight_syn": -4.0})
