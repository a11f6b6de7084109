"""Network statistics (bridge.harness.statistics), the seed-ensemble judge (bridge.harness.ensemble),
the statistics section and the --statistics command line: on spike trains with known statistics (no
simulator involved; the simulated network is tests/test_bg_network.py)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import bridge
from bridge.errors import ModelError
from bridge.harness.ensemble import AGREE, DISAGREE, NOT_ENOUGH, judge_statistics, statistics_spec
from bridge.harness.statistics import Measured, PopulationStatistics, measure_run, sample_pairs
from bridge.model.checker import Checker
from bridge.model.statistics_spec import parse_statistics
from bridge.result import Result

from conftest import ROOT

BG = ROOT / "models" / "bg_healthy.yaml"
WINDOW_MS = 20_000.0


def spec_for(**section):
    return parse_statistics(section, WINDOW_MS, {"p": True}, Checker("test"))


def run_of(trains: list[np.ndarray], name: str = "p") -> Result:
    result = Result("synthetic", "none")
    result.spike_trains[name] = [np.round(np.sort(t), 1) for t in trains]
    return result


def poisson(rate_hz: float, cells: int, seed: int = 1, modulation: float = 0.0, frequency: float = 0.0):
    """Inhomogeneous Poisson trains of rate r(t) = rate (1 + modulation sin(2 pi frequency t)) in
    (0, WINDOW_MS] ms, by thinning."""
    rng = np.random.default_rng(seed)
    peak = rate_hz * (1 + modulation) / 1000.0
    trains = []
    for _ in range(cells):
        t = np.cumsum(rng.exponential(1 / peak, size=int(peak * WINDOW_MS * 1.2 + 50)))
        t = t[t < WINDOW_MS]
        keep = rng.uniform(size=len(t)) < (1 + modulation * np.sin(2 * np.pi * frequency * t / 1000.0)) / (1 + modulation)
        trains.append(t[keep])
    return trains


def test_poisson_population_has_the_poisson_statistics():
    """200 homogeneous Poisson trains at 20 Hz for 20 s.  Closed forms: rate 20 Hz (standard error of
    the population mean sqrt(20/20/200) = 0.07 Hz); CV of exponential intervals 1; local variation 1
    (Shinomoto et al. 2003); Fano factor of Poisson counts 1 (the estimator's var uses ddof 0: 1 - 1/200
    windows); independent trains: correlation 0 (SD of one coefficient 1/sqrt(2000 bins) = 0.022, of a
    mean over 200 pairs 0.0016); a flat spectrum puts 5 of the 25 Welch bins of (0, 100] Hz (12, 16, 20,
    24, 28 Hz at 4 Hz resolution) in the beta band: 0.2 (SD of the ratio ~0.01 with 159 segments)."""
    stats = measure_run(run_of(poisson(20.0, 200)), spec_for())["p"].measured
    assert stats["rate"].value == pytest.approx(20.0, abs=0.3)
    assert stats["cv"].value == pytest.approx(1.0, abs=0.03)
    assert stats["lv"].value == pytest.approx(1.0, abs=0.03)
    assert stats["fano"].value == pytest.approx(1.0, abs=0.03)
    assert stats["correlation"].value == pytest.approx(0.0, abs=0.01)
    assert stats["beta_power"].value == pytest.approx(0.2, abs=0.04)
    assert len(stats["rate"].samples) == 200 and len(stats["correlation"].samples) == 200


def test_regular_trains_have_no_variability():
    """Each cell fires every 50 ms at its own phase: every interval is equal, so CV = LV = 0 exactly,
    and each 100 ms window holds exactly two spikes, so the Fano factor is 0 exactly."""
    rng = np.random.default_rng(2)
    trains = [phase + 50.0 * np.arange(400) for phase in np.round(rng.uniform(0.1, 49.9, size=20), 1)]
    stats = measure_run(run_of(trains), spec_for())["p"].measured
    assert stats["rate"].value == pytest.approx(20.0)
    assert stats["cv"].value == pytest.approx(0.0, abs=1e-12)
    assert stats["lv"].value == pytest.approx(0.0, abs=1e-12)
    assert stats["fano"].value == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("frequency, low, high", [(20.0, 0.65, 0.9), (50.0, 0.0, 0.12)])
def test_beta_power_of_a_rhythmic_population(frequency, low, high):
    """200 cells at 20 Hz with 50 % sinusoidal modulation at ``frequency``.  The population rate (Hz
    per cell) then carries a line of power (20 x 0.5)^2 / 2 = 50 Hz^2 at that frequency over Poisson
    noise of one-sided density 2 x 20 / 200 = 0.2 Hz^2/Hz, i.e. 20 Hz^2 in (0, 100] Hz and 4 Hz^2 in the
    beta band: relative beta power (50 + 4) / 70 = 0.77 for a 20 Hz rhythm, 4 / 70 = 0.06 for 50 Hz."""
    stats = measure_run(run_of(poisson(20.0, 200, modulation=0.5, frequency=frequency)), spec_for())["p"]
    assert low < stats.measured["beta_power"].value < high
    peak = stats.frequencies[np.argmax(stats.power * (stats.frequencies > 0))]
    assert peak == pytest.approx(frequency, abs=2.0)


def test_identical_trains_are_perfectly_correlated():
    """Every cell fires the same Poisson train: every pair's count correlation is 1."""
    train = poisson(20.0, 1)[0]
    stats = measure_run(run_of([train] * 10), spec_for())["p"].measured
    assert stats["correlation"].value == pytest.approx(1.0)


def test_silent_and_sparse_populations_have_no_data():
    """No spikes: every statistic is 'not enough data' with the reason, never a number.  Two spikes
    per cell: rates exist, but no cell has the 3 spikes an ISI statistic needs."""
    silent = measure_run(run_of([np.empty(0)] * 5), spec_for())["p"].measured
    assert all(m.value is None and m.reason for m in silent.values())
    assert silent["rate"].reason == "no spikes in the window"
    sparse = measure_run(run_of([np.array([100.0, 5000.0])] * 5), spec_for())["p"].measured
    assert sparse["rate"].value == pytest.approx(0.1)
    assert sparse["cv"].value is None and "0 of 5 cells with >= 3 spikes" in sparse["cv"].reason


def test_pairs_are_distinct_and_reproducible():
    pairs = sample_pairs(100, 200, "stn")
    assert len({tuple(p) for p in pairs}) == 200 and np.all(pairs[:, 0] < pairs[:, 1])
    np.testing.assert_array_equal(pairs, sample_pairs(100, 200, "stn"))
    assert len(sample_pairs(5, 200, "x")) == 10  # every pair of 5 cells


def _model(tolerance=None):
    document = {"simulation": {"duration": f"{WINDOW_MS} ms"},
                "populations": {"p": {"type": "lif_psc_exp"}},
                "recordings": {"s": {"population": "p", "spikes": True}}}
    if tolerance:
        document["tolerances"] = {"p.rate": tolerance}
    return bridge.from_dict(document)


def _measured(values: list[float | None]) -> dict:
    return {seed: {"p": PopulationStatistics("p", 1, 1, {"rate": Measured(v, np.array([v or 0.0]),
                                                                           "" if v is not None else "silent")})}
            for seed, v in zip((1, 2, 3), values)}


@pytest.mark.parametrize("backend_values, tolerance, verdict", [
    ([2.0, 3.0, 4.0], None, AGREE),               # difference 1 <= 2.267
    ([5.0, 6.0, 7.0], None, DISAGREE),            # difference 4 > 2.267
    ([5.0, 6.0, 7.0], {"atol": "2 Hz"}, AGREE),   # 4 <= 2.267 + 2
    ([5.0, 6.0, 7.0], {"rtol": 0.5}, DISAGREE),   # 4 > 2.267 + 0.5 x 2
    ([5.0, None, 7.0], None, NOT_ENOUGH),         # 2 of 3 seeds have a value
])
def test_judge_is_a_t_test_against_the_seed_spread(backend_values, tolerance, verdict):
    """Ensemble 1, 2, 3 Hz: pooled SD 1 (both samples have SD 1), standard error sqrt(1/3 + 1/3) =
    0.8165; one statistic judged, so the 95 % two-sided critical value t(0.975, df 4) = 2.776 (Student's
    table) and the limit 2.776 x 0.8165 = 2.267 Hz, widened by atol + rtol x |ensemble mean|."""
    model = _model(tolerance)
    spec = spec_for(measures=["rate"])
    rows = judge_statistics(model, spec, {"ens": _measured([1.0, 2.0, 3.0]), "b": _measured(backend_values)},
                            "ens", [1, 2, 3])
    assert len(rows) == 1 and rows[0].verdict == verdict
    if verdict != NOT_ENOUGH:
        assert rows[0].band == pytest.approx(2.776 * np.sqrt(2 / 3), rel=1e-3)
        assert rows[0].difference == pytest.approx(np.mean([v for v in backend_values]) - 2.0)
    else:
        assert "b: 2 of 3 seeds have a value (seed 2: silent)" in rows[0].reason


def test_judge_corrects_for_every_statistic_judged():
    """Two backends judged on one statistic: m = 2, critical value t(1 - 0.05/4, 4) = 3.495 (table)."""
    spec = spec_for(measures=["rate"])
    measured = {"ens": _measured([1.0, 2.0, 3.0]), "a": _measured([1.0, 2.0, 3.0]), "b": _measured([1.0, 2.0, 3.0])}
    rows = judge_statistics(_model(), spec, measured, "ens", [1, 2, 3])
    assert [r.band for r in rows] == pytest.approx([3.495 * np.sqrt(2 / 3)] * 2, rel=1e-3)


@pytest.mark.parametrize("section, message", [
    ({"bands": {"gamma": ["30 Hz", "600 Hz"]}}, r"statistics\.bands\.gamma: band \[30, 600\] Hz reaches beyond "
                                                 r"the Nyquist frequency 500 Hz of the 1 ms bin"),
    ({"bands": {"fast": ["150 Hz", "200 Hz"]}}, r"reaches beyond statistics\.spectrum\.max \(100 Hz\)"),
    ({"spectrum": {"resolution": "0.01 Hz"}}, r"resolution 0\.01 Hz needs segments of 100000 ms, longer than the"),
    ({"start": "30 s"}, r"statistics\.start: window \[30000, 20000\] ms is not inside the run"),
    ({"populations": ["q"]}, r"statistics\.populations\.q: unknown population 'q'"),
    ({"measures": ["rates"]}, r"statistics\.measures\[0\]: unknown measure 'rates'"),
    ({"bin": "0 ms"}, r"statistics\.bin: bin 0 ms"),
])
def test_statistics_section_errors_name_the_field(section, message):
    with pytest.raises(ModelError, match=message):
        spec_for(**section)


def test_population_whose_spikes_are_not_recorded_is_refused():
    with pytest.raises(ModelError, match=r"statistics\.populations\.q: the spikes of 'q' are not recorded"):
        parse_statistics({"populations": ["q"]}, WINDOW_MS, {"p": True, "q": False}, Checker("test"))


def test_bg_model_statistics_section_parses():
    spec = statistics_spec(bridge.load(BG))
    assert spec.start == 500.0 and spec.stop == 1500.0 and spec.bands == {"beta": (12.0, 30.0)}
    assert spec.populations["gpe_ta"] == ("rate", "correlation", "spectrum") and "msn_d1" not in spec.populations


def cli(*args):
    return subprocess.run([sys.executable, "-m", "bridge.cli", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("args, message", [
    (["compare", str(BG), "--statistics", "--seeds", "2"], "--seeds: 2 seed(s) are too few for the test"),
    (["compare", str(BG), "--seeds", "5"], "--seeds: --seeds without --statistics"),
    (["compare", str(BG), "--statistics", "--convergence"], "--convergence: --convergence with --statistics"),
    (["compare", str(BG), "--statistics", "--ensemble", "nrn"], "unknown backend"),
    (["compare", str(BG), "--statistics", "--set", "statistics.bands.beta=[12 Hz, 900 Hz]"],
     "statistics.bands.beta: band [12, 900] Hz reaches beyond the Nyquist frequency 500 Hz"),
    (["validate", str(BG), "--set", "scale=0.0001"],
     "populations.fsn.size: scale 0.0001 leaves 1599 x 0.0001 = 0.16 -> 0 cells"),
    (["validate", str(BG), "--set", "scale=-1"], "scale: -1 is not a positive number"),
])
def test_bad_statistics_input_is_one_line_and_exit_2(args, message):
    done = cli(*args)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("comparing")]
    assert len(lines) == 1 and message in lines[0], done.stderr
