"""The reference result cache of ``bridge compare`` (bridge/harness/reference_cache.py)."""
from __future__ import annotations

import numpy as np
import pytest

import bridge
from bridge.harness import reference_cache
from bridge.harness.compare import REFERENCE, run_backends

from conftest import MODELS


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(tmp_path))
    return tmp_path


def _run_reference(model, **kwargs):
    messages: list[str] = []
    results, _, failed = run_backends({REFERENCE: model}, progress=messages.append, **kwargs)
    assert not failed, failed
    return results[REFERENCE], messages


def test_second_comparison_reuses_the_reference_result_unchanged(empty_cache):
    model = bridge.load(MODELS / "tsodyks_depression.yaml")
    first, messages = _run_reference(model)
    assert "ok" in messages[-1] and "reused_from" not in first.metadata
    second, messages = _run_reference(model)
    assert "reused from the cache" in messages[-1]
    assert second.metadata["reused_from"].startswith(str(empty_cache))
    for key, signal in first.signals.items():
        np.testing.assert_array_equal(second.signals[key].values, signal.values)
    for population, trains in first.spike_trains.items():
        for a, b in zip(trains, second.spike_trains[population]):
            np.testing.assert_array_equal(a, b)


def test_a_changed_model_dt_or_option_is_not_served_from_the_cache(empty_cache):
    model = bridge.load(MODELS / "tsodyks_depression.yaml")
    _run_reference(model)
    changed = bridge.load(MODELS / "tsodyks_depression.yaml", ["projections.pre_post.synapse.U=0.4"])
    assert reference_cache.load(changed) is None
    assert reference_cache.load(model, dt=model.simulation.dt / 2) is None
    assert reference_cache.load(model, options={"rtol": 1e-8}) is None
    assert reference_cache.load(model) is not None


def test_rerun_reference_runs_the_solver_again(empty_cache):
    model = bridge.load(MODELS / "tsodyks_depression.yaml")
    _run_reference(model)
    again, messages = _run_reference(model, reuse_reference=False)
    assert "ok" in messages[-1] and "reused_from" not in again.metadata


def test_an_unwritable_cache_is_skipped(empty_cache, monkeypatch):
    model = bridge.load(MODELS / "tsodyks_depression.yaml")
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(empty_cache / "file"))
    (empty_cache / "file").write_text("not a directory")
    result, messages = _run_reference(model)
    assert "ok" in messages[-1] and result.signals
