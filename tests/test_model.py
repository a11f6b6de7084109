"""Model description: loading, units, overrides and every kind of bad input."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import bridge
from bridge.model import ModelError, apply_overrides, from_dict, read_document

BASE = {
    "simulation": {"duration": "100 ms", "dt": "0.1 ms", "seed": 3},
    "populations": {
        "pre": {"type": "lif_psc_exp", "parameters": {"tau_m": "20 ms", "C_m": "0.25 nF"}},
        "post": {"type": "lif_psc_exp", "parameters": {"tau_syn_ex": "3 ms"}},
    },
    "stimuli": {"drive": {"type": "dc_step", "target": "pre", "amplitude": "0.5 nA", "start": "10 ms"}},
    "projections": {"pre_post": {"source": "pre", "target": "post", "rule": "one_to_one",
                                 "synapse": {"type": "tsodyks3", "U": 0.5, "tau_psc": "3 ms"},
                                 "weight": "250 pA", "delay": "0.1 ms"}},
    "recordings": {"v": {"population": "post", "variables": ["V_m"]}},
}


def with_change(path: str, value):
    doc = copy.deepcopy(BASE)
    keys = path.split(".")
    node = doc
    for key in keys[:-1]:
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return doc


DELETE = object()


def test_units_are_converted_to_internal_units():
    model = from_dict(BASE, "base.yaml")
    assert model.populations["pre"].parameters["C_m"] == pytest.approx(250.0)  # 0.25 nF -> pF
    assert model.stimuli["drive"].parameters["amplitude"] == pytest.approx(500.0)  # 0.5 nA -> pA
    assert model.populations["post"].parameters["tau_m"] == 10.0  # NEST default
    assert model.populations["post"].initial["V_m"] == -70.0  # initial V_m = E_L
    assert model.projections["pre_post"].synapse.initial == {"x": 1.0, "y": 0.0, "u": 0.0}


@pytest.mark.parametrize("path, value, field, words", [
    ("populations.pre.type", "lif_nonsense", "populations.pre.type", "unknown neuron type"),
    ("populations.pre.parameters.tau_q", "3 ms", "populations.pre.parameters.tau_q", "unknown parameter"),
    ("populations.pre.parameters.tau_m", "3 mV", "populations.pre.parameters.tau_m", "wrong dimension"),
    ("populations.pre.parameters.tau_m", 3, "populations.pre.parameters.tau_m", "has no unit"),
    ("populations.pre.parameters.tau_m", "-3 ms", "populations.pre.parameters.tau_m", "not positive"),
    ("populations.pre.parameters.C_m", "many pF", "populations.pre.parameters.C_m", "cannot read"),
    ("populations.pre.parameters.t_ref", "2.05 ms", "populations.pre.parameters.t_ref", "not on the time grid"),
    ("populations.pre.size", 0, "populations.pre.size", "not an integer >= 1"),
    ("stimuli.drive.start", "10.03 ms", "stimuli.drive.start", "not on the time grid"),
    ("recordings.v.interval", "0.25 ms", "recordings.v.interval", "not on the time grid"),
    ("recordings.v.population", "nobody", "recordings.v.population", "unknown population"),
    ("projections.pre_post.delay", "0.05 ms", "projections.pre_post.delay", "below the time step"),
    ("projections.pre_post.delay", "0.15 ms", "projections.pre_post.delay", "not on the time grid"),
    ("projections.pre_post.synapse.tau_psc", "5 ms", "projections.pre_post.synapse.tau_psc", "differs from the target"),
    ("projections.pre_post.synapse.type", "stdp", "projections.pre_post.synapse.type", "unknown synapse type"),
    ("projections.pre_post.weight", "2 nS", "projections.pre_post.weight", "wrong dimension"),
    ("projections.pre_post.target", "nowhere", "projections.pre_post.target", "unknown target"),
    ("projections.pre_post.rule", "some", "projections.pre_post.rule", "unknown connection rule"),
    ("recordings.v.variables", ["V_m", "g_ex"], "recordings.v.variables[1]", "has no state variable"),
    ("stimuli.drive.amplitude", DELETE, "stimuli.drive.amplitude", "missing parameter"),
    ("stimuli.drive.target", "nowhere", "stimuli.drive.target", "unknown target"),
    ("simulation.dt", "0 ms", "simulation.dt", "not positive"),
    ("simulation.duration", DELETE, "simulation.duration", "missing"),
    ("simulation.colour", "blue", "simulation.colour", "unknown field"),
])
def test_bad_input_names_file_field_and_expectation(path, value, field, words):
    with pytest.raises(ModelError) as info:
        from_dict(with_change(path, value), "bad.yaml")
    line = str(info.value)
    assert line.startswith(f"bad.yaml: {field}: ")
    assert words in line
    assert "(expected " in line and "\n" not in line


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("populations:\n  pre: {type: lif_psc_exp\n  post: x\n")
    with pytest.raises(ModelError) as info:
        bridge.load(path)
    assert str(info.value).startswith(f"{path}: line ")
    assert "YAML syntax error" in str(info.value)


def test_missing_file():
    with pytest.raises(ModelError, match="no such file"):
        bridge.load("/nonexistent/model.yaml")


def test_overrides_apply_and_check_paths():
    doc = apply_overrides(BASE, ["projections.pre_post.synapse.U=0.4", "simulation.dt=0.05 ms"])
    model = from_dict(doc)
    assert model.projections["pre_post"].synapse.parameters["U"] == 0.4
    assert model.simulation.dt == 0.05
    assert BASE["projections"]["pre_post"]["synapse"]["U"] == 0.5  # the original is untouched
    with pytest.raises(ModelError, match="no field 'nope'"):
        apply_overrides(BASE, ["projections.nope.weight=1 pA"])
    with pytest.raises(ModelError, match="has no '='"):
        apply_overrides(BASE, ["projections.pre_post.weight"])


def test_poisson_trains_are_reproducible_and_on_the_grid():
    doc = copy.deepcopy(BASE)
    doc["stimuli"]["noise"] = {"type": "poisson", "size": 50, "rate": "20 Hz", "start": "10 ms", "stop": "90 ms"}
    a, b = from_dict(doc), from_dict(copy.deepcopy(doc))
    trains = a.stimuli["noise"].trains
    assert len(trains) == 50
    for x, y in zip(trains, b.stimuli["noise"].trains):
        np.testing.assert_array_equal(x, y)
    times = np.concatenate(trains)
    np.testing.assert_allclose(times / 0.1, np.round(times / 0.1), atol=1e-9)
    assert times.min() > 10.0 and times.max() <= 90.0
    # mean count 50 * 20 Hz * 80 ms = 80; the Poisson standard deviation is sqrt(80) ~ 9
    assert abs(len(times) - 80) < 5 * np.sqrt(80)
    doc["simulation"]["seed"] = 4
    assert not np.array_equal(np.concatenate(from_dict(doc).stimuli["noise"].trains), times)


def test_shipped_models_are_valid(models_dir):
    for path in sorted(models_dir.glob("*.yaml")):
        model = bridge.load(path)
        assert model.recordings, path
        assert read_document(path)["name"] == model.name


def test_fixed_probability_rule_is_reproducible_and_checked():
    doc = with_change("projections.pre_post", {"source": "pre", "target": "post", "rule": "fixed_probability",
                                               "p": 0.3, "synapse": {"type": "static"}, "weight": "10 pA"})
    doc["populations"]["pre"]["size"] = 200
    doc["populations"]["post"]["size"] = 150
    pairs = from_dict(doc, "fp.yaml").projections["pre_post"].pairs
    assert np.array_equal(pairs, from_dict(copy.deepcopy(doc), "fp.yaml").projections["pre_post"].pairs)
    assert pairs.shape[1] == 2 and len(np.unique(pairs, axis=0)) == len(pairs)
    assert pairs[:, 0].min() >= 0 and pairs[:, 0].max() < 200 and pairs[:, 1].max() < 150
    n = 200 * 150
    assert abs(len(pairs) - 0.3 * n) < 5 * np.sqrt(n * 0.3 * 0.7)  # binomial count
    per_source = np.bincount(pairs[:, 0], minlength=200)
    assert abs(per_source.mean() - 45) < 2
    doc["simulation"]["seed"] = 4  # another seed draws another network
    assert not np.array_equal(pairs, from_dict(doc, "fp.yaml").projections["pre_post"].pairs)
    doc["projections"]["pre_post"]["p"] = 1
    assert len(from_dict(doc, "fp.yaml").projections["pre_post"].pairs) == n
    for bad in (0, 1.5, -0.1, "3 ms"):
        doc["projections"]["pre_post"]["p"] = bad
        with pytest.raises(ModelError) as info:
            from_dict(doc, "fp.yaml")
        assert info.value.path == "projections.pre_post.p"
    del doc["projections"]["pre_post"]["p"]
    with pytest.raises(ModelError, match="missing 'p'"):
        from_dict(doc, "fp.yaml")


def test_fixed_probability_is_fast_for_large_networks():
    import time

    from bridge.model.loader import fixed_probability_pairs

    started = time.perf_counter()
    pairs = fixed_probability_pairs("big", 4000, 4000, 0.1, 1)
    assert time.perf_counter() - started < 5
    assert pairs.dtype == np.int32 and abs(len(pairs) - 1.6e6) < 5 * np.sqrt(1.6e6)


@pytest.mark.parametrize("name", ["tsodyks_depression", "tsodyks_facilitation"])
def test_tsodyks_descriptions_state_the_knife_edge_amplitude_and_why_the_model_differs(models_dir, name):
    """The texts quote NEST's DC amplitude V_th C_m/tau_m/(1 - exp(-(50 ms - t_ref)/tau_m)) (20 Hz
    from rest with an absolute refractory period), computed here from the model's own parameters
    (they used to quote 214.6503 / 27.23891 pA, which the formula does not give), and how far before
    the grid point the shipped amplitude crosses (analytic first crossing, tests/analytic.py).  The
    reference confirms the knife edge: at the formula's amplitude V(98 ms) is V_th to round-off."""
    from analytic import lif_dc_first_spike

    model = bridge.load(models_dir / f"{name}.yaml")
    p = model.populations["pre"].parameters
    period = 50.0  # ms, 20 Hz
    rheobase = p["V_th"] * p["C_m"] / p["tau_m"] / (1.0 - math.exp(-(period - p["t_ref"]) / p["tau_m"]))
    amplitude = model.stimuli["drive"].parameters["amplitude"]
    crossing = lif_dc_first_spike(amplitude, p["tau_m"] / p["C_m"], p["tau_m"], p["V_th"], 0.0)
    text = " ".join(model.description.split())
    assert f"= {rheobase:.6f} pA" in text
    assert f"uses {amplitude:g} pA instead, which crosses {crossing:.3f} ms after the start" in text
    assert f"{period - p['t_ref'] - crossing:.3f} ms before the grid point" in text
    # the free trajectory (threshold out of reach) at the formula's amplitude touches V_th at 98 ms
    edge = bridge.load(models_dir / f"{name}.yaml", [f"stimuli.drive.amplitude={rheobase!r} pA",
                                                     "populations.pre.parameters.V_th=1000 mV",
                                                     "recordings.pre_v={population: pre, variables: [V_m]}"])
    times, v = bridge.simulate(edge, "reference").signal("pre", "V_m")
    assert v[np.flatnonzero(np.isclose(times, 98.0))[0]] == pytest.approx(p["V_th"], abs=1e-12)
