"""The NEURON backend against the reference backend and closed forms.

Every simulation runs the real NEURON in a subprocess through ``bridge.simulate(model, backend=...)``.
Measured deviations (NEURON 9.0.2, RK4 point-neuron mechanisms, recorded when this file was written):

* tsodyks_depression: max |dV| = 3.9e-9 mV at dt = 0.1 ms, 2.4e-10 mV at dt = 0.05 ms;
  tsodyks_facilitation: 4.0e-7 mV at dt = 0.1 ms, 2.4e-8 mV at dt = 0.05 ms (4th order).
* cond_lif_poisson: identical spike times (26 spikes), max |dV| = 3.5e-7 mV.
* nmda_kinetic (fixed step, RK4 synapse states, Crank–Nicolson membrane): max |dV| = 9.3e-5 mV at
  dt = 0.1 ms, 1.8e-5 mV at dt = 0.05 ms; max |dg| = 4.6e-9; CVODE at 1e-8: 2.0e-6 mV.
* adex / izhikevich / qif (located threshold, 10 RK4 sub-steps): identical spike times,
  max |dV| = 0.052 / 1.3e-6 / 3.8e-8 mV.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bridge
from bridge.backends.neuron import build as neuron_build, nmodl as neuron_nmodl
from bridge.errors import BackendFailure, UnsupportedError

from conftest import MODELS, TM_PARAMETERS, measured_efficacies, tm_efficacy_case

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
    """mod/ holds exactly what the catalog generates (regenerate: python -m bridge.backends.neuron.sources)."""
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


def test_tum2000_circuit_matches_reference():
    """lif_tum_2000 carries its own three-state state; NEURON gives every outgoing connection a copy."""
    model = bridge.load(MODELS / "tsodyks_depression_tum.yaml")
    assert max_deviation(model, "V_m", "post") < 1e-3


def test_tsodyks_presynaptic_spikes_identical():
    model = bridge.load(MODELS / "tsodyks_depression.yaml")
    expected = bridge.simulate(model, backend="reference").spikes("pre")[0]
    actual = bridge.simulate(model, backend="neuron").spikes("pre")[0]
    np.testing.assert_allclose(actual, expected, atol=1e-9)


@pytest.mark.parametrize("rate_hz", [5.0, 40.0])
@pytest.mark.parametrize("label", sorted(TM_PARAMETERS))
@pytest.mark.parametrize("variant", ["tsodyks3", "tsodyks2"])
def test_tsodyks_efficacy_matches_analytic_recursion(variant, label, rate_hz):
    """Jump / weight of I_syn_ex at each arrival = the closed-form efficacy (DESIGN.md, tests/analytic.py)."""
    model, expected = tm_efficacy_case(variant, label, rate_hz)
    measured = measured_efficacies(bridge.simulate(model, backend="neuron"), model, 100.0)
    np.testing.assert_allclose(measured, expected, rtol=1e-9, atol=0)


def test_conductance_lif_poisson_spike_times_within_one_step():
    model = bridge.load(MODELS / "cond_lif_poisson.yaml")
    dt = model.simulation.dt
    expected = bridge.simulate(model, backend="reference").spikes("cell")[0]
    actual = bridge.simulate(model, backend="neuron").spikes("cell")[0]
    assert len(expected) > 5
    assert len(actual) == len(expected)
    assert np.max(np.abs(actual - expected)) <= dt * (1 + 1e-9)


def test_conductance_lif_short_synaptic_time_constant():
    """Catalog default tau_syn_ex = 0.2 ms (= 2 dt): bridge picks 2 RK4 sub-steps per dt; the cell
    stays subthreshold, so the spike train is recorded empty.  Measured 1.6e-5 mV (1 sub-step: 3.2e-4)."""
    document = {"simulation": {"duration": "150 ms", "dt": "0.1 ms", "seed": 3},
                "populations": {"cell": {"type": "lif_cond_exp"}},
                "stimuli": {"exc": {"type": "poisson", "size": 50, "rate": "20 Hz"}},
                "projections": {"p": {"source": "exc", "target": "cell", "weight": "6 nS"}},
                "recordings": {"v": {"population": "cell", "variables": ["V_m", "g_ex"], "spikes": True}}}
    model = bridge.from_dict(document)
    neuron = bridge.simulate(model, backend="neuron")
    assert [len(train) for train in neuron.spikes("cell")] == [0]
    assert max_deviation(model, "V_m", "cell") < 1e-4


def test_nmda_kinetic_fixed_step_second_order():
    """Fixed step: the synapse states g, x do not depend on V and are advanced by RK4 (exact to ~1e-8);
    the membrane uses NEURON's Crank–Nicolson step (secondorder = 2) with the synaptic current taken
    half a step ahead, so its error is second order in dt: measured 9.3e-5 mV at dt = 0.1 ms and
    1.8e-5 mV at dt = 0.05 ms for EPSPs of ~10 mV.  Tolerance 5e-4 mV, and halving dt must at least
    halve the deviation."""
    model = bridge.load(MODELS / "nmda_kinetic.yaml")
    coarse = max_deviation(model, "V_m", "cell", dt=0.1)
    fine = max_deviation(model, "V_m", "cell", dt=0.05)
    assert coarse < 5e-4
    assert fine < 0.5 * coarse
    assert max_deviation(model, "g", "pre_cell") < 1e-7


def test_nmda_kinetic_cvode_is_tight():
    """With CVODE (atol = rtol = 1e-8) only the solver tolerance remains: measured 2e-6 mV."""
    model = bridge.load(MODELS / "nmda_kinetic.yaml")
    assert max_deviation(model, "V_m", "cell", cvode=True) < 1e-4


def test_point_neurons_refuse_cvode():
    model = bridge.load(MODELS / "tsodyks_depression.yaml")
    with pytest.raises(UnsupportedError, match="cvode"):
        bridge.simulate(model, backend="neuron", options={"cvode": True})


def test_continuous_synapse_onto_point_neuron_refused_up_front():
    document = {"simulation": {"duration": "10 ms"}, "populations": {"n": {"type": "lif_psc_exp"}},
                "stimuli": {"pre": {"type": "spike_times", "times": [1.0]}},
                "projections": {"p": {"source": "pre", "target": "n", "synapse": {"type": "nmda_kinetic"},
                                      "weight": "1 nS"}},
                "recordings": {"v": {"population": "n", "variables": ["V_m"]}}}
    with pytest.raises(UnsupportedError, match="nmda_kinetic onto lif_psc_exp"):
        bridge.simulate(bridge.from_dict(document), backend="neuron")


LOCATED = {  # (model document, tolerance on V_m in mV with the default 10 sub-steps, measured deviation)
    "adex": ({"simulation": {"duration": "60 ms", "dt": "0.1 ms"}, "populations": {"cell": {"type": "adex"}},
              "stimuli": {"dc": {"type": "dc_step", "target": "cell", "amplitude": "800 pA"}},
              "recordings": {"v": {"population": "cell", "variables": ["V_m", "w"], "spikes": True}}}, 0.2, 0.052),
    "izhikevich": ({"simulation": {"duration": "150 ms", "dt": "0.1 ms"},
                    "populations": {"cell": {"type": "izhikevich", "parameters": {"I_e": "10 pA"}}},
                    "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}}}, 1e-4, 1.3e-6),
    "qif": ({"simulation": {"duration": "100 ms", "dt": "0.1 ms"}, "populations": {"cell": {"type": "qif"}},
             "stimuli": {"dc": {"type": "dc_step", "target": "cell", "amplitude": "300 pA", "start": "20 ms"}},
             "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}}}, 1e-4, 3.8e-8),
}


@pytest.mark.parametrize("name", sorted(LOCATED))
def test_located_threshold_types_match_reference(name):
    """Crossings located inside the step (bisection), reset there, spike reported at the step end.
    The V_m deviation comes from RK4 on the steep upstroke (largest for AdEx's exponential)."""
    document, tolerance, _measured = LOCATED[name]
    model = bridge.from_dict(document)
    reference = bridge.simulate(model, backend="reference")
    neuron = bridge.simulate(model, backend="neuron")
    expected, actual = reference.spikes("cell")[0], neuron.spikes("cell")[0]
    assert len(expected) >= 2
    np.testing.assert_allclose(actual, expected, atol=1e-9)
    assert np.max(np.abs(neuron.signal("cell", "V_m")[1] - reference.signal("cell", "V_m")[1])) < tolerance


def test_spikes_in_consecutive_steps_are_refused_not_dropped():
    """A cell driven to fire every step (no refractoriness): the NetCon watching the one-step spike
    flag would see one long crossing, so the run fails with a clear message instead of losing spikes."""
    document = {"simulation": {"duration": "5 ms", "dt": "0.1 ms"},
                "populations": {"cell": {"type": "izhikevich", "parameters": {"I_e": "20000 pA"}}},
                "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}}}
    with pytest.raises(BackendFailure, match="right after another spike"):
        bridge.simulate(bridge.from_dict(document), backend="neuron")


# ---------------------------------------------------------------------------------------- compile cache
@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(tmp_path))
    return tmp_path / "nrnmech"


@pytest.fixture
def small_sources(tmp_path) -> Path:
    """A directory with one small mechanism (an event relay): quick to compile."""
    sources = tmp_path / "mod"
    sources.mkdir()
    (sources / "test_relay.mod").write_text("NEURON {\n    ARTIFICIAL_CELL test_relay\n}\n\n"
                                            "NET_RECEIVE(w) {\n    net_event(t)\n}\n")
    return sources


def test_compile_cache_reused_and_corruption_rebuilt(fresh_cache, small_sources):
    """Second build compiles nothing; a truncated or missing library is detected and rebuilt.
    (The same code path serves mod/; a small source set keeps the test quick.)"""
    cold = neuron_build.build(small_sources)
    assert cold.compiled and cold.library.is_file()
    warm = neuron_build.build(small_sources)
    assert not warm.compiled and warm.library == cold.library
    entry = cold.library.parents[1]
    assert [p.name for p in fresh_cache.iterdir()] == [entry.name]  # no temporary directory left
    with open(warm.library, "r+b") as handle:  # truncate the library: a corrupted entry
        handle.truncate(1000)
    assert neuron_build.entry_problem(entry) is not None
    rebuilt = neuron_build.build(small_sources)
    assert rebuilt.compiled
    assert neuron_build.entry_problem(entry) is None
    os.unlink(rebuilt.library)  # a missing library too
    assert "missing library" in neuron_build.entry_problem(entry)
    assert neuron_build.build(small_sources).compiled


def test_second_simulation_compiles_nothing():
    """With mod/ itself: the second run reuses the cached library."""
    model = bridge.load(MODELS / "nmda_kinetic.yaml")
    bridge.simulate(model, backend="neuron")
    again = bridge.simulate(model, backend="neuron")
    assert again.metadata["compiled"] is False


def test_a_run_loads_only_the_mechanisms_of_its_model():
    """One library per mechanism the model uses (NEURON's tables for all of mod/ cost ~1.3 MiB)."""
    result = bridge.simulate(bridge.load(MODELS / "cond_lif_poisson.yaml"), backend="neuron")
    libraries = [Path(p.strip()) for p in result.metadata["library"].split(",")]
    assert [json.loads((p.parents[1] / neuron_build.MANIFEST).read_text())["sources"]
            for p in libraries] == [["bridge_lif_cond_exp.mod"]]


def test_concurrent_builds_share_one_entry(fresh_cache, small_sources):
    """Two processes building the same (small) mechanism set at once both succeed with one entry."""
    sources = small_sources
    code = ("import sys; from pathlib import Path; from bridge.backends.neuron import build as b; "
            "r = b.build(Path(sys.argv[1])); print(r.library, r.compiled)")
    processes = [subprocess.Popen([sys.executable, "-c", code, str(sources)], stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [p.communicate()[0].split() for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert outputs[0][0] == outputs[1][0]
    assert [p.name for p in fresh_cache.iterdir()] == [Path(outputs[0][0]).parents[1].name]
    assert neuron_build.entry_problem(Path(outputs[0][0]).parents[1]) is None


def test_compile_error_names_file_and_line(tmp_path, fresh_cache):
    (tmp_path / "broken.mod").write_text("NEURON {\n    POINT_PROCESS broken\n}\nBREAKPOINT {\n    a = (1 +\n}\n")
    with pytest.raises(neuron_build.MechanismCompileError, match=r"broken\.mod, line \d+"):
        neuron_build.build(tmp_path)
    assert not any(fresh_cache.iterdir())  # nothing half-built left behind
