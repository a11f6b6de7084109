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
