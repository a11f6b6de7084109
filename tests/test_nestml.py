"""Declared neuron types on NEST through NESTML models bridge generates (bridge.backends.nest.nestml).

The PyPI wheel of NEST has no development headers, so NESTML cannot build modules against it; the
tests that build and run a model are skipped, with the reason, where there is no NEST built from
source with NESTML (``scripts/build-nest-mpi``: a clean clone does not have one).  What holds with
either NEST is tested always: the generated NESTML text, and the one-line refusal without NESTML.

Expected values come from the reference backend (scipy at rtol 1e-10; see tests/test_reference.py):
the generated model integrates the type's equations by the same Runge–Kutta steps as NEURON's
generated mechanism, so NEST must meet the bound NEURON meets on the same model.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

import bridge
from bridge.backends.mpi import find_mpiexec
from bridge.backends.nest import nestml
from bridge.backends.nest.install import detect
from bridge.backends.registry import get_backend
from bridge.errors import UnsupportedError
from conftest import MODELS, ROOT

NEST = detect()
needs_nestml = pytest.mark.skipif(not NEST.nestml, reason=(
    f"no NEST with headers and NESTML here ({NEST.summary()}); scripts/build-nest-mpi builds one"))
BUILTIN = yaml.safe_load((ROOT / "bridge/catalog/types/neurons.yaml").read_text())["types"]
POPULATIONS = {"psc": "lif_psc_exp", "cond": "lif_cond_exp", "adex": "adex", "izh": "izhikevich"}


def declared_copy(name: str) -> dict:
    """A built-in type's declaration without its NEST model: NEST must run it as a NESTML model."""
    body = copy.deepcopy(BUILTIN[name])
    body.pop("native", None)
    body.pop("unsupported", None)
    return body


def cases_model(duration: str = "200 ms") -> bridge.Model:
    """Declared copies of four built-in types, covering what the generated model must do: grid and
    located thresholds, refractory clamping, current and conductance receptors (inhibitory_sign +1
    and -1: negative weights onto both), Poisson input on the excitatory and inhibitory ports, a DC
    step from 0 ms on every cell (NEST: a parameter) and a later one on cell 1 (a dc_generator)."""
    dc = {"psc": ("300 pA", "200 pA"), "cond": ("250 pA", "200 pA"), "adex": ("600 pA", "300 pA"), "izh": ("5 pA", "5 pA")}
    weights = {"psc": ("40 pA", "-60 pA"), "cond": ("2 nS", "-3 nS"), "adex": ("2 nS", "-3 nS"), "izh": ("1 mV", "-1 mV")}
    stimuli: dict = {"exc": {"type": "poisson", "size": 20, "rate": "40 Hz"},
                     "inh": {"type": "poisson", "size": 10, "rate": "40 Hz"}}
    projections: dict = {}
    for population, (first, later) in dc.items():
        stimuli[f"dc0_{population}"] = {"type": "dc_step", "target": population, "amplitude": first,
                                        "start": "0 ms", "stop": "150 ms"}
        stimuli[f"dc1_{population}"] = {"type": "dc_step", "target": population, "indices": [1],
                                        "amplitude": later, "start": "50 ms", "stop": "120 ms"}
        excitatory, inhibitory = weights[population]
        projections[f"e_{population}"] = {"source": "exc", "target": population, "rule": "all_to_all",
                                          "weight": excitatory, "delay": "1 ms"}
        projections[f"i_{population}"] = {"source": "inh", "target": population, "rule": "all_to_all",
                                          "weight": inhibitory, "delay": "1.5 ms"}
    return bridge.from_dict({
        "name": "nestml_cases", "simulation": {"duration": duration, "dt": "0.1 ms", "seed": 3},
        "types": {f"my_{kind}": declared_copy(kind) for kind in POPULATIONS.values()},
        "populations": {name: {"type": f"my_{kind}", "size": 2, **({"parameters": {"I_e": "100 pA"}} if name == "psc" else {})}
                        for name, kind in POPULATIONS.items()},
        "stimuli": stimuli, "projections": projections,
        "recordings": {**{f"v_{p}": {"population": p, "variables": ["V_m"]} for p in POPULATIONS},
                       **{f"s_{p}": {"population": p, "spikes": True} for p in POPULATIONS}}})


# ------------------------------------------------------------------------------------ with any NEST
def test_generated_model_renames_what_nestml_would_misread_and_numbers_the_ports():
    """A parameter named like a NESTML unit (s, mV-like, V) or keyword is renamed bridge_u_<name>; the
    receptor ports become spike ports numbered 1, 2, ... as NEST's receptor types."""
    kind = bridge.from_dict({
        "simulation": {"duration": "1 ms"},
        "types": {"odd": {"kind": "neuron", "doc": "names NESTML reads otherwise",
                          "parameters": {"s": "2 ms", "S": "1 nS", "real": "1 pA", "tau": "10 ms"},
                          "states": {"V_m": {"unit": "mV"}, "g_a": {"unit": "nS"}, "g_b": {"unit": "nS"}},
                          "equations": {"V_m": "(-V_m/tau + real/(S*mV)*mV/s)", "g_a": "-g_a/s", "g_b": "-g_b/tau"},
                          "receptors": {"a": "g_a", "b": "g_b"}, "weight_unit": "nS"}},
        "populations": {"c": {"type": "odd"}},
        "recordings": {"v": {"population": "c", "variables": ["V_m"]}}}).populations["c"].neuron_type
    model = nestml.generated(kind)
    assert model.native.renames == {"s": "bridge_u_s", "S": "bridge_u_S", "real": "bridge_u_real"}
    assert model.native.options["receptor_types"] == {"a": 1, "b": 2}
    text = model.text
    assert "bridge_port_a <- spike" in text and "bridge_port_b <- spike" in text
    assert "bridge_u_s real = 2.0" in text and " s real" not in text
    assert model.name.startswith("bridge_odd_") and model.name in text


@pytest.mark.skipif(NEST.nestml, reason="this NEST builds NESTML models: the refusal is for one that cannot")
def test_without_nestml_a_declared_type_is_refused_in_one_line_naming_the_remedy():
    model = cases_model()
    with pytest.raises(UnsupportedError) as caught:
        get_backend("nest").check(model)
    message = str(caught.value)
    assert message.startswith("unsupported on nest: my_") and "scripts/build-nest-mpi" in message, message
    assert NEST.summary() in message


# ------------------------------------------------------------------------------------ NESTML present
@pytest.fixture(scope="module")
def reference_and_nest():
    model = cases_model()
    return bridge.simulate(model, "reference"), bridge.simulate(model, "nest")


@needs_nestml
def test_declared_types_on_nest_agree_with_the_reference(reference_and_nest):
    """Spike times identical on the grid; V_m within 1e-4 mV of the reference (measured on NEST and on
    NEURON alike: 6e-8 mV lif_psc_exp, 6e-6 lif_cond_exp, 1.1e-5 adex, 2e-7 izhikevich; the bound is
    RK4's error at the sub-steps bridge takes, not a fitted number)."""
    reference, nest = reference_and_nest
    spikes = 0
    for population in POPULATIONS:
        for cell, (expected, measured) in enumerate(zip(reference.spike_trains[population], nest.spike_trains[population])):
            np.testing.assert_array_equal(measured, expected, err_msg=f"{population}[{cell}]")
            spikes += len(expected)
        expected, measured = reference.signals[(population, "V_m")].values, nest.signals[(population, "V_m")].values
        np.testing.assert_allclose(measured, expected, rtol=0, atol=1e-4, err_msg=population)
    assert spikes >= 20  # every kind of threshold and reset is exercised (29 spikes measured)


@needs_nestml
def test_modules_come_from_the_cache_once_built(reference_and_nest):
    """The first run compiled (or found) the modules; an identical model compiles nothing."""
    again = bridge.simulate(cases_model(), "nest")
    assert again.metadata["nestml_compiled"] == []
    np.testing.assert_array_equal(again.signals[("adex", "V_m")].values,
                                  reference_and_nest[1].signals[("adex", "V_m")].values)


@needs_nestml
def test_the_readme_msn_runs_on_nest_and_agrees_with_neuron():
    """models/msn_d1.yaml (named AMPA/NMDA/GABA receptors, located threshold) on NEST and NEURON: the
    same spikes, and V_m within 1e-4 mV (both 2e-5 mV from the reference here)."""
    model = bridge.load(MODELS / "msn_d1.yaml")
    nest, neuron = bridge.simulate(model, "nest"), bridge.simulate(model, "neuron")
    assert len(nest.spike_trains["d1"][0]) >= 3
    np.testing.assert_array_equal(nest.spike_trains["d1"][0], neuron.spike_trains["d1"][0])
    np.testing.assert_allclose(nest.signals[("d1", "V_m")].values, neuron.signals[("d1", "V_m")].values,
                               rtol=0, atol=1e-4)


@pytest.mark.skipif(not (NEST.nestml and NEST.mpi and find_mpiexec()), reason=(
    f"needs a NEST with MPI and NESTML ({NEST.summary()}) and mpiexec; scripts/build-nest-mpi"))
@pytest.mark.parametrize("model", ["cases", "bg_cells_poisson"])
def test_nestml_models_on_two_ranks_give_the_same_results_bitwise(model):
    """The cases above (populations split across the ranks), and the basal-ganglia cells of
    models/bg_cells_poisson.yaml (named receptors; seven one-cell populations, each living on one
    rank only: NEST's GetLocalNodeCollection failed on those)."""
    from test_mpi import assert_identical

    if model == "cases":
        described = cases_model(duration="100 ms")
    else:
        described = bridge.load(MODELS / "bg_cells_poisson.yaml", overrides=["simulation.duration=300 ms"])
    one, two = bridge.simulate(described, "nest"), bridge.simulate(described, "nest", ranks=2)
    assert sum(len(t) for trains in one.spike_trains.values() for t in trains) >= 10
    assert_identical(one, two)


@needs_nestml
def test_a_nestml_build_error_is_reported_with_nestml_s_words(tmp_path, monkeypatch):
    """A model NESTML rejects fails with NestmlBuildError carrying the end of NESTML's output (here a
    model text broken on purpose: the generator's own output always parses)."""
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(tmp_path))
    kind = cases_model().populations["psc"].neuron_type
    good = nestml.generated(kind)
    broken = nestml.GeneratedModel(good.name, good.text.replace("update:", "update", 1), good.native)
    with pytest.raises(nestml.NestmlBuildError) as caught:
        nestml.build(broken)
    assert str(caught.value).startswith(f"NESTML could not build the NEST model of type {good.name}:\n")
    assert not list((tmp_path / "nestml").glob("*/manifest.json"))  # nothing half-built is kept


@pytest.mark.skipif(not (NEST.nestml and NEST.mpi and find_mpiexec()), reason=(
    f"needs a NEST with MPI and NESTML ({NEST.summary()}) and mpiexec; scripts/build-nest-mpi"))
def test_two_ranks_build_a_new_module_at_once_and_keep_one(tmp_path, monkeypatch):
    """With an empty cache both ranks build the module (NESTML runs without the rank's MPI launcher
    variables: with them its child aborted in MPI_Init); one entry is kept, no temporary directory."""
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(tmp_path))
    model = bridge.load(MODELS / "msn_d1.yaml", overrides=["populations.d1.size=2", "simulation.duration=100 ms"])
    result = bridge.simulate(model, "nest", ranks=2)
    assert result.metadata["ranks"] == 2
    entries = sorted(p.name for p in (tmp_path / "nestml").iterdir())
    assert len(entries) == 1 and (tmp_path / "nestml" / entries[0] / "manifest.json").is_file(), entries
