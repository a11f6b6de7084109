"""User-defined model types: declaration, validation and the one code path they share with the
built-in catalog (no simulator runs here; tests/test_user_types.py runs them on every backend)."""
from __future__ import annotations

import ast
import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import bridge
from bridge.catalog import NEURONS, SYNAPSES, builtin_types, names
from bridge.catalog.declare import declare_types
from bridge.catalog.expressions import Renderer, degree, parse
from bridge.errors import ModelError

ROOT = Path(__file__).resolve().parents[1]
BG_TYPES = ROOT / "models" / "types" / "bg_cells.yaml"

LIF_DECLARATION = {
    "kind": "neuron",
    "doc": "a leaky integrate-and-fire neuron with current synapses",
    "parameters": {"C_m": "250 pF", "tau_m": "10 ms", "E_L": "-70 mV", "V_th": "-55 mV", "V_reset": "-70 mV",
                   "t_ref": "2 ms", "I_e": "0 pA", "tau_syn": "2 ms"},
    "states": {"V_m": {"unit": "mV", "initial": "E_L"}, "I_syn": {"unit": "pA"}},
    "equations": {"V_m": "(E_L - V_m)/tau_m + (I_syn + I_e + I_ext)/C_m", "I_syn": "-I_syn/tau_syn"},
    "threshold": "V_m >= V_th",
    "reset": ["V_m = V_reset"],
    "refractory": "t_ref",
    "clamped": ["V_m"],
    "receptors": {"excitatory": "I_syn", "inhibitory": "I_syn"},
    "weight_unit": "pA",
}


def model_with(declaration: dict, **extra) -> dict:
    """A one-cell model of the type ``my_type`` declared by ``declaration``."""
    document = {"name": "user_type", "simulation": {"duration": "10 ms", "dt": "0.1 ms"},
                "types": {"my_type": declaration},
                "populations": {"cell": {"type": "my_type"}},
                "recordings": {"v": {"population": "cell", "variables": [next(iter(declaration["states"]))]}}}
    document.update(extra)
    return document


def declaration_error(mutate) -> ModelError:
    """The ModelError of LIF_DECLARATION after ``mutate(declaration)``."""
    declaration = copy.deepcopy(LIF_DECLARATION)
    mutate(declaration)
    with pytest.raises(ModelError) as caught:
        bridge.from_dict(model_with(declaration), source="model.yaml")
    return caught.value


# ---------------------------------------------------------------------------------------- one path
def test_builtin_catalog_is_declared_through_the_public_parser():
    """Every built-in neuron and synapse type comes from bridge/catalog/types/*.yaml through
    declare_types, the function a model's `types:` section goes through."""
    assert set(NEURONS) == {"lif_psc_exp", "lif_cond_exp", "lif_tum_2000", "adex", "izhikevich", "qif", "passive",
                            "clamped"}
    assert set(SYNAPSES) == {"static", "tsodyks3", "tsodyks2", "nmda_kinetic"}
    for path in (ROOT / "bridge" / "catalog" / "types").glob("*.yaml"):
        declared = declare_types(yaml.safe_load(path.read_text())["types"], str(path), {
            k: v for k, v in builtin_types().items() if k not in yaml.safe_load(path.read_text())["types"]},
            origin="built-in")
        for name, kind in declared.items():
            assert kind == builtin_types()[name]


def test_a_user_copy_of_a_builtin_type_is_the_same_type_but_its_name_and_origin():
    """The YAML block of lif_psc_exp, declared by a model under another name, gives the same
    equations, rules, receptors and linearity (so the same code is generated for it)."""
    block = yaml.safe_load((ROOT / "bridge/catalog/types/neurons.yaml").read_text())["types"]["lif_psc_exp"]
    model = bridge.from_dict(model_with(block), source="model.yaml")
    mine, builtin = model.types["my_type"], NEURONS["lif_psc_exp"]
    for field in ("parameters", "states", "equations", "linear", "threshold", "threshold_detection", "reset",
                  "refractory", "clamped", "receptors", "weight_unit", "native"):
        assert getattr(mine, field) == getattr(builtin, field), field
    assert (mine.source, builtin.source) == ("model.yaml", "built-in")


def test_linearity_is_detected_from_the_equations():
    """Affine right-hand sides (in the states and I_ext) are linear: the LIF family with current
    synapses and the passive/clamped cells; products of states (conductances), exp and squares are not."""
    assert {n for n, k in NEURONS.items() if k.linear} == {"lif_psc_exp", "lif_tum_2000", "passive", "clamped"}
    assert degree(parse("(E_L - V)/tau + (I + I_ext)/C"), ["V", "I", "I_ext"]) == 1
    assert degree(parse("g*(E - V)"), ["V", "g"]) == 2
    assert degree(parse("exp(V/D)"), ["V"]) is None
    assert degree(parse("V**3 - 2*V"), ["V"]) == 3


def test_unit_symbols_fold_into_the_canonical_form():
    """Unit symbols in expressions become their factors in bridge's units (1 for mV, ms, pA; 1000
    for nA); products by a factor of 1 vanish, so built-in equations keep their arithmetic."""
    assert NEURONS["izhikevich"].equations["V_m"] == "0.04 * V_m * V_m + 5 * V_m + 140 - U_m + (I_e + I_ext) / C_m"
    declaration = copy.deepcopy(LIF_DECLARATION)
    declaration["equations"]["V_m"] = "(E_L - V_m)/tau_m + (I_syn + 0.1*nA + I_ext)/C_m"
    model = bridge.from_dict(model_with(declaration))
    assert model.types["my_type"].equations["V_m"] == "(E_L - V_m) / tau_m + (I_syn + 0.1 * 1000 + I_ext) / C_m"


def test_nmodl_rendering_of_the_language():
    """``**`` is NMODL's ``^``, abs is fabs, min/max are generated FUNCTIONs, numbers are floats."""
    from bridge.backends.neuron.nmodl import nmodl

    assert nmodl("-a * min(V - b, 0) ** 3 + abs(x) / 2") == "-a*min_of(V - b, 0.0)^3.0 + fabs(x)/2.0"
    assert nmodl("(a - b) - (c - d) / (e * f)") == "a - b - (c - d)/(e*f)"
    assert Renderer()("-(a + b) ** 2") == "-((a + b)**2)"


# ---------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("mutate, field, fragment", [
    (lambda d: d["equations"].update(V_m="(E_L - V_m)/tau_m + I_syn/C_m + I_leak/C_m"), "types.my_type.equations.V_m",
     "unknown name 'I_leak'"),
    (lambda d: d["equations"].update(V_m="(E_L - V_m)/tau_m + I_syn"), "types.my_type.equations.V_m",
     "cannot add pA to mV/ms"),
    (lambda d: d["equations"].update(V_m="(E_L - V_m) + I_syn/C_m*tau_m"), "types.my_type.equations.V_m",
     "right-hand side is in mV"),
    (lambda d: d.update(threshold="V_m >= I_e"), "types.my_type.threshold", "the right side is in pA"),
    (lambda d: d.update(threshold="V_m - V_th"), "types.my_type.threshold", "is not one comparison"),
    (lambda d: d.update(reset=["V_x = V_reset"]), "types.my_type.reset[0]", "assigns 'V_x', which is not a state"),
    (lambda d: d.update(reset=["V_m = I_e"]), "types.my_type.reset[0]", "right-hand side is in pA"),
    (lambda d: d.update(detection="located"), "types.my_type.detection", "linear in it (it cannot diverge)"),
    (lambda d: d["parameters"].update(I_e={"unit": "nA", "default": "0 nA"}), "types.my_type.parameters.I_e.unit",
     "'nA' is not one of bridge's internal units"),
    (lambda d: d["parameters"].update(spiked="1 ms"), "types.my_type.parameters.spiked",
     "would collide with a name bridge's code generators use"),
    (lambda d: d["parameters"].update(ms="1 ms"), "types.my_type.parameters.ms", "is a function or unit"),
    (lambda d: d["parameters"].update(V_m_2="1 mV"), "types.my_type.parameters.V_m_2",
     "would collide with a name generated"),
    (lambda d: d["states"].update(dV_m={"unit": "mV"}), "types.my_type.states.dV_m", "would collide with a name generated"),
    (lambda d: d["parameters"].update(tau_m={"unit": "2 ms", "default": "10 ms"}), "types.my_type.parameters.tau_m.unit",
     "'2 ms' is not a unit"),
    (lambda d: d["parameters"].update(double="1 mV"), "types.my_type.parameters.double", "is a keyword"),
    (lambda d: d.update(receptors={"excitatory": "V_m"}), "types.my_type.receptors.excitatory",
     "receptor state 'V_m' is in mV, weights in pA"),
    (lambda d: d.update(clamped=["I_syn"], refractory=None), "types.my_type.clamped",
     "clamped variables without a refractory period"),
    (lambda d: d.update(kind="cell"), "types.my_type.kind", "kind 'cell' is unknown"),
    (lambda d: d.update(colour="blue"), "types.my_type.colour", "unknown field 'colour'"),
])
def test_each_declaration_error_names_file_field_and_problem(mutate, field, fragment):
    error = declaration_error(mutate)
    assert error.source == "model.yaml" and error.path == field, error.line()
    assert fragment in error.message + " " + error.expected, error.line()
    assert "\n" not in error.line()


@pytest.mark.parametrize("hostile", [
    "().__class__",
    "__import__('os').system('touch HACKED')",
    "(lambda: 1)()",
    "V_m[0]",
    "'text'",
    "V_m if V_m > 0 else 0",
    "[x for x in ()]",
    "open('/etc/passwd')",
])
def test_hostile_expressions_are_refused_not_run(hostile, tmp_path, monkeypatch):
    """Anything outside the grammar is an input error before anything is evaluated."""
    monkeypatch.chdir(tmp_path)
    error = declaration_error(lambda d: d["equations"].update(V_m=hostile))
    assert error.path == "types.my_type.equations.V_m"
    assert not (tmp_path / "HACKED").exists()


def test_types_shadowing_a_builtin_or_each_other_are_refused(tmp_path):
    with pytest.raises(ModelError, match=r"types\.lif_psc_exp: type 'lif_psc_exp' is already a built-in type"):
        bridge.from_dict(model_with(LIF_DECLARATION, types={"lif_psc_exp": LIF_DECLARATION}))
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"types": {"my_type": LIF_DECLARATION}}))
    model = tmp_path / "model.yaml"
    model.write_text(yaml.safe_dump(model_with(LIF_DECLARATION, include=["a.yaml"])))
    with pytest.raises(ModelError, match=r"types\.my_type: type 'my_type' is already a type of .*a\.yaml"):
        bridge.load(model)


def test_includes_relative_nested_once_and_not_circular(tmp_path):
    (tmp_path / "types").mkdir()
    (tmp_path / "types" / "base.yaml").write_text(yaml.safe_dump({"types": {"my_type": LIF_DECLARATION}}))
    (tmp_path / "types" / "more.yaml").write_text(yaml.safe_dump({"include": ["base.yaml"], "types": {}}))
    document = model_with(LIF_DECLARATION, include=["types/more.yaml", "types/base.yaml"])
    del document["types"]
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(document))
    model = bridge.load(tmp_path / "model.yaml")  # base.yaml reached twice, read once
    assert model.types["my_type"].source == str(tmp_path / "types" / "base.yaml")

    (tmp_path / "types" / "base.yaml").write_text(yaml.safe_dump({"include": ["more.yaml"], "types": {}}))
    with pytest.raises(ModelError, match=r"include\[0\]: circular include \(more\.yaml -> base\.yaml -> more\.yaml\)"):
        bridge.load(tmp_path / "model.yaml")
    document["include"] = ["types/missing.yaml"]
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(ModelError, match=r"model\.yaml: include\[0\]: 'types/missing\.yaml' does not exist"):
        bridge.load(tmp_path / "model.yaml")


def test_receptor_ports_by_name_and_by_sign():
    """Named ports are chosen by the projection; excitatory/inhibitory by the weight's sign."""
    document = {"name": "ports", "include": [str(BG_TYPES)], "simulation": {"duration": "5 ms"},
                "populations": {"msn": {"type": "msn"}},
                "stimuli": {"src": {"type": "spike_times", "times": [1.0]}},
                "projections": {"p": {"source": "src", "target": "msn", "weight": "1 nS"}},
                "recordings": {"v": {"population": "msn", "variables": ["V_m"]}}}
    with pytest.raises(ModelError, match=r"projections\.p\.receptor: no receptor given.*\(expected one of ampa, nmda, gaba, gaba2, gaba3\)"):
        bridge.from_dict(document)
    document["projections"]["p"]["receptor"] = "gabba"
    with pytest.raises(ModelError, match=r"projections\.p\.receptor: msn has no receptor 'gabba'"):
        bridge.from_dict(document)
    document["projections"]["p"]["receptor"] = "nmda"
    model = bridge.from_dict(document)
    projection = model.projections["p"]
    assert projection.jump(model.populations["msn"].neuron_type) == ("g_nmda", 1.0)


def test_cli_validate_and_catalog_of_a_model_with_types(tmp_path):
    """`bridge validate` reports a type error in one line with exit 2; `bridge catalog --model`
    lists the file's types."""
    bad = copy.deepcopy(LIF_DECLARATION)
    bad["equations"]["V_m"] = "(E_L - V_m)/tau_m + I_syn"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(model_with(bad)))
    done = subprocess.run([sys.executable, "-m", "bridge.cli", "validate", str(tmp_path / "bad.yaml")],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert re.match(r".*bad\.yaml: types\.my_type\.equations\.V_m: cannot add pA to mV/ms", done.stderr)
    done = subprocess.run([sys.executable, "-m", "bridge.cli", "catalog", "--model", str(BG_TYPES.parent.parent /
                           "msn_d1.yaml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("msn (neuron; declared in ")
    assert "dV_m/dt = (k * (V_m - V_r) * (V_m - V_t) - u" in done.stdout


def test_every_name_the_code_generators_make_up_is_reserved():
    """Every identifier of the generated NMODL and Brian2 code of a built-in type that the type does
    not declare (temporaries, procedures, flags, per-state copies) is refused as a declared name, so
    that no declaration can collide with generated code."""
    from bridge.backends.brian2 import codegen as brian2_codegen
    from bridge.backends.neuron import nmodl

    # names local to a generated FUNCTION or PROCEDURE argument (shadowing a declared name there is
    # harmless: declared names are not used inside them), Brian2 syntax
    local_or_syntax = {"hd", "tau", "a", "b", "t_from", "t_to", "unless", "refractory", "second"}
    unreserved = {}
    for kind in builtin_types().values():
        texts = []
        if kind.kind == "neuron" and nmodl.is_point_neuron(kind):
            texts.append(nmodl.point_neuron(kind).text)
            texts += [brian2_codegen.neuron_equations(kind),
                      brian2_codegen.reset_code(kind, kind.emits.on_spike if kind.emits else ())]
        elif kind.kind == "synapse" and kind.continuous:
            texts.append(nmodl.continuous_synapse(kind).text)
        declared = {p.name for p in kind.parameters} | {s.name for s in kind.states}
        if getattr(kind, "emits", None):  # the emitted rule's temporaries (checked in declare._emits)
            declared |= {target for target, _ in kind.emits.on_spike}
        states = [s.name for s in kind.states]
        for text in texts:
            code = re.sub(r":[^\n]*|COMMENT.*?ENDCOMMENT|VERBATIM.*?ENDVERBATIM", " ", text, flags=re.S)
            for name in set(re.findall(r"\b[A-Za-z][A-Za-z0-9_]*\b", code)) - declared - local_or_syntax:
                if names.problem(name) is None and not names.state_collisions({name}, states):
                    unreserved.setdefault(name, kind.name)
    assert len(texts) and unreserved == {}


def test_bg_cell_types_declare_and_follow_the_published_units():
    """The seed-004 cell types parse; Izhikevich's a is a rate (1/ms) as in Lindahl & Hellgren
    Kotaleski 2016 (MSN 0.01/ms, FSN 0.2/ms), not the seed code's time constant."""
    model = bridge.load(ROOT / "models" / "msn_d1.yaml")
    msn = model.types["msn"]
    assert msn.parameter("a").unit == "1/ms" and msn.parameter("a").default == pytest.approx(0.01)
    assert msn.threshold_detection == "located" and not msn.linear
    kinds = bridge.from_dict({"include": [str(BG_TYPES)], "simulation": {"duration": "1 ms"},
                              "populations": {"f": {"type": "fsn"}},
                              "recordings": {"r": {"population": "f", "variables": ["u"]}}}).types
    assert kinds["fsn"].parameter("a").default == pytest.approx(0.2)
    assert "min(V_m - V_b, 0) ** 3" in kinds["fsn"].equations["u"]
    assert ast.parse(kinds["adex_bg"].equations["V_m"], mode="eval")


def test_reference_cache_key_follows_included_type_files(tmp_path):
    """A cached reference result is keyed by the included types too: editing a type file that the
    model document only names gives a new key."""
    from bridge.harness import reference_cache

    (tmp_path / "cells.yaml").write_text(yaml.safe_dump({"types": {"my_type": LIF_DECLARATION}}))
    document = model_with(LIF_DECLARATION, include=["cells.yaml"])
    del document["types"]
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(document))
    before = reference_cache.key(bridge.load(tmp_path / "model.yaml"), None, None)
    changed = copy.deepcopy(LIF_DECLARATION)
    changed["parameters"]["tau_m"] = "20 ms"
    (tmp_path / "cells.yaml").write_text(yaml.safe_dump({"types": {"my_type": changed}}))
    assert reference_cache.key(bridge.load(tmp_path / "model.yaml"), None, None) != before
