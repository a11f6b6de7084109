"""Harness metrics and tolerance policy on hand-made results (no simulator involved)."""
from __future__ import annotations

import numpy as np
import pytest

import bridge
from bridge.harness.metrics import analog_metrics, match_spikes, spike_metrics
from bridge.harness.tolerances import analog_tolerance, spike_tolerance
from bridge.result import Result, Signal


def result(values, spikes=None, times=None):
    times = np.arange(1, len(values) + 1) * 0.1 if times is None else np.asarray(times)
    r = Result("m", "x")
    r.signals[("cell", "V_m")] = Signal(times, np.asarray(values, dtype=float)[:, None], "mV", [0])
    if spikes is not None:
        r.spike_trains["cell"] = [np.asarray(spikes, dtype=float)]
    return r


def test_analog_metrics_locate_the_worst_sample():
    ref = result([0.0, 1.0, 2.0, 3.0, 2.0])
    other = result([0.0, 1.0, 2.5, 3.0, 1.9])
    m, times, diff = analog_metrics(ref, other, ("cell", "V_m"))
    assert m.max_abs == pytest.approx(0.5)
    assert m.worst_time == pytest.approx(0.3)
    assert m.normalised == pytest.approx(0.5 / 3.0)
    assert m.rms == pytest.approx(np.sqrt((0.25 + 0.01) / 5))


def test_analog_metrics_use_common_sample_times_only():
    ref = result([1.0, 2.0, 3.0, 4.0])                      # t = 0.1 .. 0.4
    other = result([2.0, 4.0], times=[0.2, 0.4])             # every second sample
    m, times, _ = analog_metrics(ref, other, ("cell", "V_m"))
    assert m.max_abs == 0.0 and m.samples == 2
    np.testing.assert_allclose(times, [0.2, 0.4])


def test_spike_matching_within_window():
    pairs, unpaired = match_spikes(np.array([10.0, 20.0, 30.0]), np.array([10.1, 25.0, 30.0]), 0.1)
    assert pairs == [(10.0, 10.1), (30.0, 30.0)]
    assert sorted(unpaired) == [20.0, 25.0]


def test_spike_metrics_count_offsets_and_similarity():
    ref = result([0.0] * 10, spikes=[10.0, 20.0, 30.0])
    same = spike_metrics(ref, result([0.0] * 10, spikes=[10.0, 20.0, 30.0]), "cell", 0.1, 100.0)
    assert same.max_offset == 0 and same.unmatched == 0 and same.sttc == pytest.approx(1.0)
    assert same.van_rossum == pytest.approx(0.0, abs=1e-12)
    shifted = spike_metrics(ref, result([0.0] * 10, spikes=[10.1, 20.0]), "cell", 0.1, 100.0)
    assert shifted.max_count_difference == 1 and shifted.unmatched == 1
    assert shifted.van_rossum > 0


def test_tolerances_from_model_file_with_backend_override():
    model = bridge.from_dict({
        "simulation": {"duration": "10 ms", "dt": "0.1 ms"},
        "populations": {"cell": {"type": "lif_psc_exp"}},
        "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}},
        "tolerances": {"cell.V_m": {"atol": "2 uV", "rtol": 0, "backends": {"neuron": {"atol": "1 mV"}}},
                       "cell.spikes": {"window": "0.2 ms", "count": 1}},
    })
    assert analog_tolerance(model, "cell.V_m", "mV", "nest").limit(10.0) == pytest.approx(0.002)
    assert analog_tolerance(model, "cell.V_m", "mV", "neuron").limit(10.0) == pytest.approx(1.0)
    assert analog_tolerance(model, "cell.I_syn_ex", "pA", "nest").limit(10.0) == pytest.approx(0.01)  # default rtol
    assert spike_tolerance(model, "cell", "nest").window == pytest.approx(0.2)
    assert spike_tolerance(model, "cell", "nest").count == 1


# ------------------------------------------------------------------ default tolerance floor (#16.3)
def test_default_tolerance_has_a_floor_tied_to_the_signal_magnitude():
    """README camkii_demo: CaM_total is conserved at 60 uM = 60000 nM; its range over the run is
    round-off (2.47e-10 nM on the reference), so 1e-3 of the range (2.5e-13 nM) failed NEURON's
    4.5e-10 nM of round-off.  The default limit is max(1e-3 range, 1e-8 max|x_ref|) = 6e-4 nM."""
    model = bridge.from_dict({"simulation": {"duration": "1 ms"}, "populations": {"cell": {"type": "lif_psc_exp"}},
                              "recordings": {"v": {"population": "cell", "variables": ["V_m", "I_syn_ex"]}},
                              "tolerances": {"cell.I_syn_ex": {"atol": "1e-6 pA", "rtol": 0}}})
    default = analog_tolerance(model, "cell.V_m", "mV", "neuron")
    assert default.limit(2.47e-10, 60000.0) == pytest.approx(6e-4)
    assert default.limit(20.0, 70.0) == pytest.approx(0.02)      # a varying signal: 1e-3 of its range
    explicit = analog_tolerance(model, "cell.I_syn_ex", "pA", "neuron")
    assert explicit.limit(2.47e-10, 60000.0) == pytest.approx(1e-6)  # written tolerances stand as written


def test_tolerance_entries_are_checked():
    from bridge.errors import ModelError
    from bridge.harness.tolerances import check_tolerances

    def model(tolerances):
        return bridge.from_dict({"simulation": {"duration": "1 ms"}, "populations": {"cell": {"type": "lif_psc_exp"}},
                                 "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}},
                                 "tolerances": tolerances})

    check_tolerances(model({"cell.V_m": {"atol": "1 mV", "backends": {"nest": {"settle": "2 ms"}}},
                            "cell.spikes": {"window": "0.2 ms", "count": 1}}))
    with pytest.raises(ModelError, match=r"tolerances\.cell\.V_m\.atoll: unknown field 'atoll'"):
        check_tolerances(model({"cell.V_m": {"atoll": "1 mV"}}))
    with pytest.raises(ModelError, match=r"tolerances\.cell\.V_mm: 'cell\.V_mm' is not an observable"):
        check_tolerances(model({"cell.V_mm": {"atol": "1 mV"}}))
    with pytest.raises(ModelError, match=r"tolerances\.cell\.spikes\.settle: unknown field"):
        check_tolerances(model({"cell.spikes": {"settle": "5 ms"}}))
    with pytest.raises(ModelError, match=r"tolerances\.cell\.V_m\.atol: '1 pA' has the wrong dimension"):
        check_tolerances(model({"cell.V_m": {"backends": {"nest": {"atol": "1 pA"}}}}))


# ------------------------------------------------------------------ spike-aware analog default (#16.4)
def _one_cell(kind: str, values, spikes) -> tuple[bridge.Model, Result]:
    model = bridge.from_dict({"simulation": {"duration": "1 ms", "dt": "0.1 ms"},
                              "populations": {"cell": {"type": kind}},
                              "recordings": {"v": {"population": "cell", "variables": ["V_m"], "spikes": True}}})
    return model, result(values, spikes=spikes)


def test_located_cells_skip_the_samples_between_spike_times_one_step_apart():
    """A located-threshold cell (AdEx, V_peak 0 mV) crosses 1 us before the grid point 0.5 ms in the
    reference and 1 us after it in the other run: spikes 0.5 and 0.6 ms.  At t = 0.5 the reference
    is reset (-60 mV) and the other is on the upstroke (-32 mV); at 0.4 (the step before) both are on
    the steep upstroke (1.5 mV apart).  From 0.6 on they agree.  Defaults: spikes pass (window dt), V_m passes with those two
    samples left out; the same traces of a grid-threshold (LIF) cell fail V_m."""
    from bridge.harness.compare import judge

    # t = 0.1 ... 1.0 ms
    reference = [-60.0, -59.0, -57.0, -50.0, -60.0, -59.0, -58.0, -57.0, -56.0, -55.0]
    other = [-60.0, -59.0, -57.0, -51.5, -32.0, -59.0, -58.0, -57.0, -56.0, -55.0]
    model, ref = _one_cell("adex", reference, [0.5])
    _, oth = _one_cell("adex", other, [0.6])
    checks = {c.observable: c for c in judge(model, ref, oth, "other")}
    assert checks["cell.spikes"].passed and checks["cell.spikes"].worst == pytest.approx(0.1)
    assert checks["cell.V_m"].passed and checks["cell.V_m"].metrics["excluded"] == 2
    lif, ref = _one_cell("lif_psc_exp", reference, [0.5])
    _, oth = _one_cell("lif_psc_exp", other, [0.6])
    checks = {c.observable: c for c in judge(lif, ref, oth, "other")}
    assert not checks["cell.V_m"].passed and checks["cell.V_m"].worst == pytest.approx(28.0)
    assert checks["cell.V_m"].worst_time == pytest.approx(0.5)


def test_located_cells_still_fail_on_a_difference_after_both_resets():
    """The exclusion covers only the samples between the two spike times: a trace that differs
    after both have reset (here by 1 mV at 0.8 ms) still fails."""
    from bridge.harness.compare import judge

    reference = [-60.0, -59.0, -57.0, -50.0, -60.0, -59.0, -58.0, -57.0, -56.0, -55.0]
    other = [-60.0, -59.0, -57.0, -51.5, -32.0, -59.0, -58.0, -56.0, -56.0, -55.0]
    model, ref = _one_cell("adex", reference, [0.5])
    _, oth = _one_cell("adex", other, [0.6])
    check = next(c for c in judge(model, ref, oth, "other") if c.observable == "cell.V_m")
    assert not check.passed and check.worst == pytest.approx(1.0) and check.worst_time == pytest.approx(0.8)


# ------------------------------------------------------------------ verdicts (#16.1)
def _comparison(checks=(), unsupported=None, failed=None, results=("reference",), required=()):
    from bridge.harness import Comparison

    model = bridge.from_dict({"simulation": {"duration": "1 ms"}, "populations": {"cell": {"type": "lif_psc_exp"}},
                              "recordings": {"v": {"population": "cell", "variables": ["V_m"]}}})
    return Comparison(model, {name: Result("m", name) for name in results}, dict(unsupported or {}),
                      dict(failed or {}), list(checks), required=tuple(required))


def _check(backend: str, passed: bool = True):
    from bridge.harness import Check

    return Check(backend, "reference", "cell.V_m", "analog", passed, 0.0, 1.0, "mV", 0.1, 0)


@pytest.mark.parametrize("case, verdict, code", [
    ({"checks": [_check("nest")], "results": ["reference", "nest"]}, "AGREE", 0),
    ({"checks": [_check("nest", False)], "results": ["reference", "nest"]}, "DISAGREE", 1),
    ({"unsupported": {"nest": "qif"}}, "NOTHING COMPARED", 5),                       # nothing ran
    ({"results": ["reference", "nest"]}, "NOTHING COMPARED", 5),                      # ran, nothing in common
    ({"checks": [_check("neuron")], "results": ["reference", "neuron"], "unsupported": {"nest": "qif"},
      "required": ["nest"]}, "UNSUPPORTED", 3),
    ({"checks": [_check("neuron")], "results": ["reference", "neuron"], "failed": {"nest": "crash"}}, "FAILED", 4),
    ({"checks": [_check("neuron")], "results": ["reference", "neuron"], "unsupported": {"nest": "qif"}}, "AGREE", 0),
])
def test_verdict_is_never_a_vacuous_agreement(case, verdict, code):
    comparison = _comparison(**case)
    assert (comparison.verdict, comparison.exit_code, comparison.passed) == (verdict, code, verdict == "AGREE")
    assert bool(comparison.explanation()) == (verdict not in ("AGREE", "DISAGREE"))


# ------------------------------------------------------------------ convergence status (#16.2)
def test_convergence_status_flags_growth_and_names_round_off():
    from bridge.harness.compare import convergence_status

    assert convergence_status([1e-3, 6.3e-5, 3.9e-6], 2e-7) == ("converging", False)        # RK4: /16 per halving
    assert convergence_status([3e-13, 2e-13, 4e-13], 2e-7) == ("at round-off (≤ 2e-07)", False)
    # rising from round-off to above it is not convergence (it passed before: only e_k was tested)
    assert convergence_status([1e-9, 1e-6, 1e-6], 2e-7) == ("NOT CONVERGING", True)
    assert convergence_status([1e-3, 9e-4, 8e-4], 2e-7) == ("NOT CONVERGING", True)
    assert convergence_status([1e-3, float("nan")], 2e-7) == ("no result at some dt", True)
