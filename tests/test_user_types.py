"""User-defined types on every backend: the same declaration runs on the reference, NEURON and
Brian2 (NEST through a native mapping, or a generated NESTML model: tests/test_nestml.py), agrees with closed forms and with the reference, and gets
exactly the treatment of a built-in type."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import bridge
from bridge.backends.nest.install import detect
from bridge.backends.registry import get_backend
from bridge.errors import UnsupportedError

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
BUILTIN_NEURONS = yaml.safe_load((ROOT / "bridge/catalog/types/neurons.yaml").read_text())["types"]

SHAPES = {
    "kind": "neuron",
    "doc": "four decoupled states exercising max, min, abs and ** (closed forms below)",
    "parameters": {"E": "-50 mV", "tau": "10 ms"},
    "states": {"x": {"unit": "mV"}, "y": {"unit": "mV"}, "z": {"unit": "mV"}, "w": {"unit": "mV"}},
    "equations": {"x": "max(E - x, 0*mV)/tau", "y": "-y**3/(tau*mV**2)", "z": "-abs(z)/tau",
                  "w": "min(E - w, 0*mV)/tau"},
}


def shapes_model() -> bridge.Model:
    """Two populations starting on either side of each kink, so both branches of max/min/abs run."""
    initial = {"below": {"x": "-70 mV", "y": "3 mV", "z": "2 mV", "w": "-40 mV"},
               "above": {"x": "-40 mV", "y": "-1 mV", "z": "-2 mV", "w": "-70 mV"}}
    return bridge.from_dict({
        "name": "shapes", "simulation": {"duration": "50 ms", "dt": "0.1 ms"}, "types": {"shapes": SHAPES},
        "populations": {name: {"type": "shapes", "initial": values} for name, values in initial.items()},
        "recordings": {name: {"population": name, "variables": ["x", "y", "z", "w"], "interval": "1 ms"}
                       for name in initial}})


def closed_forms(t: np.ndarray, x0: float, y0: float, z0: float, w0: float, E: float = -50.0, tau: float = 10.0):
    """Solutions of SHAPES: x relaxes to E from below and stays above it; w the reverse;
    dy/dt = -y^3/tau (mV^-2) gives y = y0/sqrt(1 + 2 y0^2 t/tau); dz/dt = -|z|/tau gives
    z = z0 exp(-t/tau) for z0 > 0 and z0 exp(t/tau) for z0 < 0."""
    x = E - (E - x0) * np.exp(-t / tau) if x0 < E else np.full_like(t, x0)
    w = E + (w0 - E) * np.exp(-t / tau) if w0 > E else np.full_like(t, w0)
    y = y0 / np.sqrt(1 + 2 * y0 ** 2 * t / tau)
    z = z0 * np.exp(-np.sign(z0) * t / tau)
    return {"x": x, "y": y, "z": z, "w": w}


NESTML_NEST = pytest.mark.skipif(not detect().nestml, reason=(
    f"NEST runs declared types through NESTML only when built from source ({detect().summary()})"))


@pytest.mark.parametrize("backend", ["reference", "neuron", "brian2", pytest.param("nest", marks=NESTML_NEST)])
def test_language_functions_match_closed_forms(backend):
    """max, min, abs and ** render and run correctly on every backend.  Bounds: the reference
    integrates at rtol 1e-10 (measured 3e-10 mV), NEURON, Brian2 and NEST (generated NESTML model)
    step RK4 at 0.1 ms (error O(dt^4/tau^4) ~ 1e-8 relative; measured 6e-8 mV on y, the fastest state)."""
    result = bridge.simulate(shapes_model(), backend)
    starts = {"below": (-70.0, 3.0, 2.0, -40.0), "above": (-40.0, -1.0, -2.0, -70.0)}
    for population, start in starts.items():
        expected = closed_forms(result.signal(population, "x")[0], *start)
        for variable, values in expected.items():
            times, measured = result.signal(population, variable)
            np.testing.assert_allclose(measured, values, rtol=0, atol=1e-6, err_msg=f"{population}.{variable}")


@pytest.mark.skipif(detect().nestml, reason="this NEST builds NESTML models of declared types (tests/test_nestml.py)")
def test_nest_refuses_a_declared_type_without_native_mapping_when_it_cannot_build_nestml():
    with pytest.raises(UnsupportedError, match=r"unsupported on nest: shapes \(no NEST model: the type declares no "
                                               r"'native: nest' mapping.*NESTML.*scripts/build-nest-mpi"):
        get_backend("nest").check(shapes_model())


def tsodyks_model(post_type: str | None = None) -> bridge.Model:
    """models/tsodyks_depression.yaml, its target cell of the built-in lif_psc_exp or of a declared
    copy of it called ``post_type``."""
    document = yaml.safe_load((MODELS / "tsodyks_depression.yaml").read_text())
    if post_type:
        document["types"] = {post_type: copy.deepcopy(BUILTIN_NEURONS["lif_psc_exp"])}
        document["populations"]["post"]["type"] = post_type
    return bridge.from_dict(document, source=str(MODELS / "tsodyks_depression.yaml"))


@pytest.mark.parametrize("backend", ["reference", "nest", "neuron", "brian2"])
def test_a_declared_copy_of_a_builtin_type_gives_identical_results(backend):
    """One code path: the built-in lif_psc_exp and a model's own copy of its declaration (another
    name, declared by the model) receive the same Tsodyks–Markram input and give bit-identical
    traces and spikes on every backend (NEURON compiles the copy as its own mechanism)."""
    builtin, mine = bridge.simulate(tsodyks_model(), backend), bridge.simulate(tsodyks_model("my_lif"), backend)
    assert builtin.signals.keys() == mine.signals.keys() and builtin.signals
    for key, signal in builtin.signals.items():
        np.testing.assert_array_equal(signal.values, mine.signals[key].values, err_msg=str(key))
    for population, trains in builtin.spike_trains.items():
        for a, b in zip(trains, mine.spike_trains[population]):
            np.testing.assert_array_equal(a, b)
    if backend == "neuron":  # the copy's own mechanism, compiled from the generated source
        manifests = [json.loads((Path(p.strip()).parents[1] / "manifest.json").read_text())
                     for p in mine.metadata["library"].split(",")]
        assert any(re.fullmatch(r"bridge_my_lif_[0-9a-f]{12}\.mod", m["sources"][0]) for m in manifests)


ADEX_RENAMED = {
    "kind": "neuron",
    "doc": "AdEx with other names, mapped onto NEST's aeif_cond_exp by renames",
    "parameters": {"Cm": "281 pF", "gL": "30 nS", "EL": "-70.6 mV", "VT": "-50.4 mV", "DeltaT": "2 mV",
                   "Vpeak": "0 mV", "Vr": "-60 mV", "tref": "0 ms", "a_w": "4 nS", "b_w": "80.5 pA",
                   "tau_w": "144 ms", "tau_e": "0.2 ms", "tau_i": "2 ms", "Ie": "0 pA", "Ee": "0 mV", "Ei": "-85 mV"},
    "states": {"Vm": {"unit": "mV", "initial": "EL"}, "w": {"unit": "pA"}, "ge": {"unit": "nS"}, "gi": {"unit": "nS"}},
    "equations": {"Vm": "(gL*(EL - Vm) + gL*DeltaT*exp((Vm - VT)/DeltaT) + ge*(Ee - Vm) + gi*(Ei - Vm) - w + Ie"
                        " + I_ext)/Cm",
                  "w": "(a_w*(Vm - EL) - w)/tau_w", "ge": "-ge/tau_e", "gi": "-gi/tau_i"},
    "threshold": "Vm >= Vpeak", "detection": "located", "membrane": "Vm",
    "reset": ["Vm = Vr", "w = w + b_w"], "refractory": "tref", "clamped": ["Vm"],
    "receptors": {"excitatory": "ge", "inhibitory": "gi"}, "weight_unit": "nS", "inhibitory_sign": -1,
    "native": {"nest": {"model": "aeif_cond_exp", "parameters": {
        "Cm": "C_m", "gL": "g_L", "EL": "E_L", "VT": "V_th", "DeltaT": "Delta_T", "Vpeak": "V_peak", "Vr": "V_reset",
        "tref": "t_ref", "a_w": "a", "b_w": "b", "tau_e": "tau_syn_ex", "tau_i": "tau_syn_in", "Ie": "I_e",
        "Ee": "E_ex", "Ei": "E_in", "Vm": "V_m", "ge": "g_ex", "gi": "g_in"}}},
}


def adex_model(kind: str) -> bridge.Model:
    types = {"adex_renamed": ADEX_RENAMED} if kind == "adex_renamed" else {}
    variable = "Vm" if kind == "adex_renamed" else "V_m"
    return bridge.from_dict({
        "name": "adex_dc", "simulation": {"duration": "300 ms", "dt": "0.1 ms"}, "types": types,
        "populations": {"cell": {"type": kind}},
        "stimuli": {"dc": {"type": "dc_step", "target": "cell", "amplitude": "800 pA", "start": "20 ms"},
                    "src": {"type": "spike_times", "times": [50.0, 120.0]}},
        "projections": {"in": {"source": "src", "target": "cell", "weight": "-5 nS"}},
        "recordings": {"v": {"population": "cell", "variables": [variable, "w"]},
                       "s": {"population": "cell", "spikes": True}}})


def test_native_mapping_with_renames_runs_the_nest_model():
    """A declared AdEx whose parameters and states are named differently runs on NEST as
    aeif_cond_exp through its renames: bit-identical to the built-in adex on NEST, and its spikes
    within one step of the reference integrating the declared equations."""
    mine = bridge.simulate(adex_model("adex_renamed"), "nest")
    builtin = bridge.simulate(adex_model("adex"), "nest")
    np.testing.assert_array_equal(mine.signal("cell", "Vm")[1], builtin.signal("cell", "V_m")[1])
    np.testing.assert_array_equal(mine.signal("cell", "w")[1], builtin.signal("cell", "w")[1])
    np.testing.assert_array_equal(mine.spikes("cell")[0], builtin.spikes("cell")[0])
    reference = bridge.simulate(adex_model("adex_renamed"), "reference")
    assert len(mine.spikes("cell")[0]) == len(reference.spikes("cell")[0]) >= 5
    np.testing.assert_allclose(mine.spikes("cell")[0], reference.spikes("cell")[0], atol=0.1 + 1e-9)


def test_readme_example_is_the_shipped_model_file():
    """The worked example in README "Defining your own types" is models/msn_d1.yaml, verbatim."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Defining your own types"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    assert block == (MODELS / "msn_d1.yaml").read_text()


def subthreshold_bg_model() -> bridge.Model:
    """An MSN D1 (DC step and Poisson AMPA/NMDA input) and a hyperpolarised GPe cell (Poisson GABA
    input) of models/types/bg_cells.yaml, below threshold: smooth traces for convergence orders."""
    return bridge.from_dict({
        "name": "bg_subthreshold", "include": [str(MODELS / "types" / "bg_cells.yaml")],
        "simulation": {"duration": "300 ms", "dt": "0.1 ms", "seed": 3},
        "populations": {"d1": {"type": "msn"}, "gpe": {"type": "adex_bg", "parameters": {"I_e": "-20 pA"}}},
        "stimuli": {"cortex": {"type": "poisson", "size": 1, "rate": "300 Hz"},
                    "dc": {"type": "dc_step", "target": "d1", "amplitude": "100 pA", "start": "50 ms", "stop": "250 ms"}},
        "projections": {"ampa": {"source": "cortex", "target": "d1", "receptor": "ampa", "weight": "0.35 nS", "delay": "2.5 ms"},
                        "nmda": {"source": "cortex", "target": "d1", "receptor": "nmda", "weight": "0.077 nS", "delay": "2.5 ms"},
                        "gaba": {"source": "cortex", "target": "gpe", "receptor": "gaba", "weight": "0.2 nS", "delay": "1 ms"}},
        "recordings": {"d1": {"population": "d1", "variables": ["V_m", "u"], "interval": "1 ms"},
                       "gpe": {"population": "gpe", "variables": ["V_m", "z"], "interval": "1 ms"}}})


@pytest.mark.slow
def test_convergence_mode_shows_runge_kutta_order_on_declared_types():
    """`compare --convergence` on declared types: NEURON with one RK4 step per dt, against a reference
    at rtol 1e-12 with steps of at most 0.05 ms (its dense output then no longer limits the error),
    converges with RK4's order 4: observed log2(e(dt)/e(dt/2)) in [3.5, 4.5] for dt = 0.1, 0.05 ms
    (measured 3.86-4.17) while the error is above 1e-10 (about the reference's own error).  Brian2
    integrates located-threshold types in 10 RK4 sub-steps per dt, 10^4 times more accurately: its
    series are converging or at round-off, never NOT CONVERGING."""
    from bridge.harness import compare, convergence

    comparison = compare(subthreshold_bg_model(), backends=["neuron", "brian2"],
                         options={"reference": {"max_step": 0.05, "rtol": 1e-12}, "neuron": {"n_sub": 1}})
    assert comparison.passed and {c.backend for c in comparison.checks} == {"neuron", "brian2"}
    rows = convergence(comparison)
    assert len(rows) == 8 and not any(row["flag"] for row in rows)
    for row in rows:
        for order, finer in zip(row["orders"], row["max_abs_error"][1:]):
            if finer > 1e-10:
                assert 3.5 <= order <= 4.5, row
    for row in (r for r in rows if r["backend"] == "neuron"):
        assert 3.5 <= row["orders"][0] <= 4.5, row
