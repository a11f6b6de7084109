"""Every shipped model on every backend that supports it, compared with the reference backend
under the tolerances stated in the model file (bridge.harness.assert_agree, as users call it).
Networks judged by their statistics (a ``statistics:`` section) are tested in test_bg_network.py.

Unsupported combinations are not parametrised as passing tests: they are listed by
``test_unsupported_combinations_are_reported``, which checks that ``bridge compare`` reports each
with its reason instead of dropping it.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

import bridge
from bridge.backends.registry import get_backend
from bridge.backends.runner import simulate
from bridge.harness import assert_agree
from bridge.errors import UnsupportedError
from conftest import MODELS

SIMULATORS = ("nest", "neuron", "brian2")
#: recurrent networks with a ``statistics:`` section are judged by their statistics, not spike by spike
#: (their trains diverge after the first rounding difference): tests/test_bg_network.py
SHIPPED = sorted(path for path in MODELS.glob("*.yaml") if "statistics" not in yaml.safe_load(path.read_text()))


def _pairs():
    supported, unsupported = [], []
    for path in SHIPPED:
        model = bridge.load(path)
        for backend in SIMULATORS:
            try:
                get_backend(backend).check(model)
                supported.append(pytest.param(path, backend, id=f"{path.stem}-{backend}"))
            except UnsupportedError as exc:
                unsupported.append((path, backend, exc.reason))
    return supported, unsupported


SUPPORTED, UNSUPPORTED = _pairs()
_references: dict = {}


def reference_of(path):
    if path not in _references:
        _references[path] = simulate(bridge.load(path), "reference")
    return _references[path]


@pytest.mark.parametrize("path, backend", SUPPORTED)
def test_shipped_model_agrees_with_reference(path, backend):
    comparison = assert_agree(path, backends=[backend], require=[backend], reference=reference_of(path))
    assert comparison.checks, f"nothing was compared for {path.name} on {backend}"
    assert {c.backend for c in comparison.checks} == {backend}


def test_every_simulator_runs_most_shipped_models():
    """Guards against a backend silently refusing everything: each runs the Tsodyks circuits."""
    for backend in SIMULATORS:
        covered = {p.values[0].stem for p in SUPPORTED if p.values[1] == backend}
        assert {"tsodyks_depression", "tsodyks_facilitation"} <= covered, backend


def test_unsupported_combinations_are_reported(tmp_path):
    """A backend that refuses the model is listed with its reason; when it was the only one asked
    for, nothing was compared, which is not an agreement: exit 5 (it was AGREE and exit 0)."""
    assert UNSUPPORTED, "expected at least one refused combination (e.g. nmda_kinetic on nest)"
    path, backend, reason = next((p, b, r) for p, b, r in UNSUPPORTED if p.stem == "nmda_kinetic")
    report = tmp_path / "report"
    run = subprocess.run([sys.executable, "-m", "bridge.cli", "compare", str(path), "--backends", backend,
                          "--report", str(report)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 5, run.stdout + run.stderr
    assert run.stdout.startswith("nmda_kinetic: NOTHING COMPARED")
    assert f"{backend:<10} unsupported: {reason}" in run.stdout
    assert "nothing was compared: no backend besides the reference produced a result" in run.stdout
    data = json.loads((report / "report.json").read_text())
    assert data["backends"][backend] == {"status": "unsupported", "reason": reason}
    assert (data["passed"], data["verdict"], data["exit_code"]) == (False, "NOTHING COMPARED", 5)


def test_required_backend_that_refuses_or_fails_fails_the_run(tmp_path):
    """--require (the CLI twin of assert_agree(require=...)): NEST refuses nmda_kinetic's passive
    cell, so requiring it fails with exit 3 although NEURON agrees; a backend that fails makes the
    run fail with exit 4 (NEURON refuses to lose spikes of a cell firing every step,
    tests/test_neuron.py)."""
    path = MODELS / "nmda_kinetic.yaml"
    run = subprocess.run([sys.executable, "-m", "bridge.cli", "compare", str(path), "--backends", "neuron",
                          "--require", "nest"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stdout.startswith("nmda_kinetic: UNSUPPORTED")
    assert "required backend nest was not compared (unsupported: passive" in run.stdout
    assert "neuron     reference  cell.V_m" in run.stdout  # NEURON still ran and was judged
    with pytest.raises(AssertionError, match="UNSUPPORTED"):
        assert_agree(path, backends=["neuron"], require=["nest"], reference=reference_of(path))
    every_step = tmp_path / "every_step.yaml"
    every_step.write_text(yaml.safe_dump({
        "simulation": {"duration": "5 ms", "dt": "0.1 ms"},
        "populations": {"cell": {"type": "izhikevich", "parameters": {"I_e": "20000 pA"}}},
        "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}}}))
    run = subprocess.run([sys.executable, "-m", "bridge.cli", "compare", str(every_step), "--backends", "neuron"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 4, run.stdout + run.stderr
    assert run.stdout.startswith("every_step: FAILED") and "backend neuron failed" in run.stdout
    with pytest.raises(AssertionError, match="FAILED"):
        assert_agree(every_step, backends=["neuron"], require=["neuron"])


def test_perturbed_backend_is_caught_at_the_right_observable_and_time(tmp_path):
    """U = 0.45 instead of 0.5 on NEST only: the first PSC (arrival 98.1 ms) is 10 % smaller, so
    compare exits 1, the events check fails from the first arrival, V_m fails, spikes still agree."""
    report = tmp_path / "report"
    run = subprocess.run([sys.executable, "-m", "bridge.cli", "compare", str(MODELS / "tsodyks_depression.yaml"),
                          "--backends", "nest", "--set", "nest:projections.pre_post.synapse.U=0.45",
                          "--report", str(report)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    data = json.loads((report / "report.json").read_text())
    checks = {c["observable"]: c for c in data["checks"]}
    assert data["passed"] is False
    assert checks["pre.spikes"]["passed"] is True
    assert checks["pre_post.events"]["passed"] is False
    assert checks["pre_post.events"]["metrics"]["first_exceeding_time"] == pytest.approx(98.1)
    assert checks["post.I_syn_ex"]["metrics"]["first_exceeding_time"] == pytest.approx(98.1)
    assert checks["post.V_m"]["passed"] is False
    assert 98.1 < checks["post.V_m"]["worst_time_ms"] < 148.1  # the largest V difference follows the first PSC
    assert (report / "post.V_m.png").stat().st_size > 10000


def test_convergence_mode_reports_expected_orders():
    """NEURON's point-neuron mechanisms step with classical RK4 (bridge/backends/neuron/nmodl.py), so
    halving dt divides the error by about 2^4; Brian2 integrates the linear Tsodyks circuit with the
    'exact' method, so its error stays at round-off: not flagged, and reported as such."""
    from bridge.harness import compare, convergence, table

    path = MODELS / "tsodyks_facilitation.yaml"
    comparison = compare(path, backends=["neuron", "brian2"], reference=reference_of(path))
    progress: list[str] = []
    rows = {(r["backend"], r["observable"]): r for r in convergence(comparison, factors=(1, 2),
                                                                       progress=progress.append)}
    neuron = rows[("neuron", "post.V_m")]
    assert neuron["max_abs_error"][1] < neuron["max_abs_error"][0]
    assert 3.5 < neuron["orders"][0] < 4.5 and neuron["status"] == "converging"
    brian2 = rows[("brian2", "post.V_m")]
    assert max(brian2["max_abs_error"]) < 1e-12 and not brian2["flag"]
    # at round-off it says so (floor 1e-8 max|V_ref|), rather than passing silently
    assert brian2["status"] == f"at round-off (≤ {brian2['round_off']:.3g})" and 0 < brian2["round_off"] < 1e-6
    assert comparison.passed
    # every rerun's progress line and every error says its dt
    assert progress and all(line.startswith("dt = 0.05 ms: ") for line in progress)
    text = table(comparison)
    assert "convergence: max |error| vs the reference at dt = 0.1, 0.05 ms" in text
    assert f"dt 0.1: {neuron['max_abs_error'][0]:.3g}, dt 0.05: {neuron['max_abs_error'][1]:.3g}" in text
