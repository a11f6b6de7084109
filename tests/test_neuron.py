"""The NEURON backend against the reference backend and closed forms.

Every simulation runs the real NEURON in a subprocess through ``bridge.simulate(model, backend=...)``.
Measured deviations (NEURON 9.0.2, RK4 point-neuron mechanisms, recorded when this file was written):

* tsodyks_depression: max |dV| = 3.9e-9 mV at dt = 0.1 ms, 2.4e-10 mV at dt = 0.05 ms;
  tsodyks_facilitation: 4.0e-7 mV at dt = 0.1 ms, 2.4e-8 mV at dt = 0.05 ms (4th order).
* cond_lif_poisson: identical spike times (26 spikes), max |dV| = 3.5e-7 mV.
* nmda_kinetic (fixed step, cnexp, Crank–Nicolson): max |dV| = 0.0114 mV at dt = 0.1 ms,
  0.0056 mV at dt = 0.05 ms (first order, see the test); CVODE at 1e-8: 2.0e-6 mV.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import bridge
from bridge.backends import neuron_build, neuron_nmodl
from bridge.model.errors import UnsupportedError

from analytic import tsodyks2_efficacies, tsodyks3_efficacies
from conftest import MODELS, measured_efficacies, regular_train_model

pytest.importorskip("neuron")


def max_deviation(model, variable: str, population: str, dt: float | None = None, **options) -> float:
    """Largest |NEURON - reference| of ``population.variable`` over all samples."""
    reference = bridge.simulate(model, backend="reference", dt=dt)
    neuron = bridge.simulate(model, backend="neuron", dt=dt, options=options or None)
    _, expected = reference.signal(population, variable)
    _, actual = neuron.signal(population, variable)
    assert actual.shape == expected.shape
    return float(np.max(np.abs(actual - expected)))


def test_generated_mechanisms_are_up_to_date():
    """mod/ holds exactly what the catalog generates (regenerate: python -m bridge.backends.neuron_nmodl)."""
    assert neuron_nmodl.stale_files() == []


@pytest.mark.parametrize("name", ["tsodyks_depression", "tsodyks_facilitation"])
def test_tsodyks_circuits_match_reference_and_converge(name):
    """Within 1e-3 mV at every sample at dt = 0.1 ms (achieved: 3.9e-9 and 4.0e-7 mV), and the
    deviation shrinks when dt is halved (RK4: by about 16x)."""
    model = bridge.load(MODELS / f"{name}.yaml")
    coarse = max_deviation(model, "V_m", "post", dt=0.1)
    fine = max_deviation(model, "V_m", "post", dt=0.05)
    assert coarse < 1e-3
    assert fine < coarse


def test_tsodyks_presynaptic_spikes_identical():
    model = bridge.load(MODELS / "tsodyks_depression.yaml")
    expected = bridge.simulate(model, backend="reference").spikes("pre")[0]
    actual = bridge.simulate(model, backend="neuron").spikes("pre")[0]
    np.testing.assert_allclose(actual, expected, atol=1e-9)


@pytest.mark.parametrize("rate_hz", [5.0, 40.0])
@pytest.mark.parametrize("params", [
    {"U": 0.5, "tau_rec": 800.0, "tau_fac": 0.0},     # depressing (Tsodyks et al. 1998, Fig. 1A)
    {"U": 0.03, "tau_rec": 130.0, "tau_fac": 530.0},  # facilitating (Fig. 1B)
])
def test_tsodyks3_efficacy_matches_analytic_recursion(rate_hz, params):
    """Jump of I_syn_ex at each arrival / weight = u_n x_n of the three-state recursion
    (DESIGN.md "Reference facts", tests/analytic.py:tsodyks3_efficacies)."""
    synapse = {"type": "tsodyks3", "tau_psc": "3 ms", "U": params["U"], "tau_rec": f"{params['tau_rec']} ms",
               "tau_fac": f"{params['tau_fac']} ms", "x": 1, "y": 0, "u": 0}
    model = bridge.from_dict(regular_train_model(synapse, rate_hz))
    measured = measured_efficacies(bridge.simulate(model, backend="neuron"), model, 100.0)
    expected = tsodyks3_efficacies(params["U"], 3.0, params["tau_rec"], params["tau_fac"], 1000.0 / rate_hz, 20,
                                   t_first=model.stimuli["train"].trains[0][0])
    np.testing.assert_allclose(measured, expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("rate_hz", [5.0, 40.0])
@pytest.mark.parametrize("params", [
    {"U": 0.5, "tau_rec": 800.0, "tau_fac": 0.0},
    {"U": 0.1, "tau_rec": 100.0, "tau_fac": 1000.0},
])
def test_tsodyks2_efficacy_matches_analytic_recursion(rate_hz, params):
    """Jump / weight = u_n R_n of the two-state recursion (DESIGN.md, tests/analytic.py:tsodyks2_efficacies)."""
    synapse = {"type": "tsodyks2", "U": params["U"], "tau_rec": f"{params['tau_rec']} ms",
               "tau_fac": f"{params['tau_fac']} ms"}
    model = bridge.from_dict(regular_train_model(synapse, rate_hz))
    measured = measured_efficacies(bridge.simulate(model, backend="neuron"), model, 100.0)
    expected = tsodyks2_efficacies(params["U"], params["tau_rec"], params["tau_fac"], 1000.0 / rate_hz, 20)
    np.testing.assert_allclose(measured, expected, rtol=1e-9, atol=0)


def test_conductance_lif_poisson_spike_times_within_one_step():
    model = bridge.load(MODELS / "cond_lif_poisson.yaml")
    dt = model.simulation.dt
    expected = bridge.simulate(model, backend="reference").spikes("cell")[0]
    actual = bridge.simulate(model, backend="neuron").spikes("cell")[0]
    assert len(expected) > 5
    assert len(actual) == len(expected)
    assert np.max(np.abs(actual - expected)) <= dt * (1 + 1e-9)


def test_nmda_kinetic_fixed_step_first_order():
    """NEURON's fixed step (cnexp for the synapse, Crank–Nicolson for the membrane) advances g with the
    bound fraction x frozen over each step: a first-order error of about dt/2 * alpha1 * dx/dt in g
    during the 0.5 ms transmitter pulses.  Measured 0.0114 mV at dt = 0.1 ms (the EPSPs peak ~10 mV
    above rest); tolerance 0.02 mV, and halving dt must roughly halve the deviation."""
    model = bridge.load(MODELS / "nmda_kinetic.yaml")
    coarse = max_deviation(model, "V_m", "cell", dt=0.1)
    fine = max_deviation(model, "V_m", "cell", dt=0.05)
    assert coarse < 0.02
    assert fine < 0.6 * coarse


def test_nmda_kinetic_cvode_is_tight():
    """With CVODE (atol = rtol = 1e-8) only the solver tolerance remains: measured 2e-6 mV."""
    model = bridge.load(MODELS / "nmda_kinetic.yaml")
    assert max_deviation(model, "V_m", "cell", cvode=True) < 1e-4


def test_point_neurons_refuse_cvode():
    model = bridge.load(MODELS / "tsodyks_depression.yaml")
    with pytest.raises(UnsupportedError, match="cvode"):
        bridge.simulate(model, backend="neuron", options={"cvode": True})


def test_unsupported_type_refused_up_front():
    document = {"simulation": {"duration": "10 ms"}, "populations": {"n": {"type": "adex"}},
                "recordings": {"v": {"population": "n", "variables": ["V_m"]}}}
    with pytest.raises(UnsupportedError, match="adex"):
        bridge.simulate(bridge.from_dict(document), backend="neuron")


# ---------------------------------------------------------------------------------------- compile cache
@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(tmp_path))
    return tmp_path / "nrnmech"


def test_compile_cache_reused_and_corruption_rebuilt(fresh_cache):
    cold = neuron_build.build()
    assert cold.compiled and cold.library.is_file()
    warm = neuron_build.build()
    assert not warm.compiled and warm.library == cold.library
    entry = cold.library.parents[1]
    assert [p.name for p in fresh_cache.iterdir()] == [entry.name]  # no temporary directory left
    with open(warm.library, "r+b") as handle:  # truncate the library: a corrupted entry
        handle.truncate(1000)
    assert neuron_build.entry_problem(entry) is not None
    rebuilt = neuron_build.build()
    assert rebuilt.compiled
    assert neuron_build.entry_problem(rebuilt.library.parents[1]) is None
    os.unlink(rebuilt.library)  # a missing library is detected too
    assert "missing library" in neuron_build.entry_problem(entry)


def test_second_simulation_compiles_nothing():
    model = bridge.load(MODELS / "nmda_kinetic.yaml")
    bridge.simulate(model, backend="neuron")
    again = bridge.simulate(model, backend="neuron")
    assert again.metadata["compiled"] is False


def test_compile_error_names_file_and_line(tmp_path, fresh_cache):
    (tmp_path / "broken.mod").write_text("NEURON {\n    POINT_PROCESS broken\n}\nBREAKPOINT {\n    a = (1 +\n}\n")
    with pytest.raises(neuron_build.MechanismCompileError, match=r"broken\.mod, line \d+"):
        neuron_build.build(tmp_path)
    assert not any(fresh_cache.iterdir())  # nothing half-built left behind
