"""The time-grid semantics (README "Time grid") on every backend: several spikes of one train on one
grid point through Tsodyks–Markram synapses, spike and sample times written as decimal grid
times, and runs at a time step other than the model's."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

import bridge
from analytic import tsodyks2_releases, tsodyks3_releases, tsodyks3_same_step_release
from bridge.errors import ModelError
from bridge.timegrid import grid_times, occurrence_rank, to_grid

BACKENDS = ("reference", "nest", "neuron", "brian2")
WEIGHT = 100.0  # pA
TRAIN = [10.01, 10.05, 30.0]  # ms; the first two are rounded up to the same grid point, 10.1 ms
DELAY = 0.1  # ms


def _target(tau_syn: str = "3 ms") -> dict:
    return {"type": "lif_psc_exp", "parameters": {"tau_syn_ex": tau_syn, "V_th": "1000 mV"}}


def _tm(variant: str, tau_fac: str) -> dict:
    synapse = {"type": variant, "U": 0.5, "tau_rec": "800 ms", "tau_fac": tau_fac}
    if variant == "tsodyks3":
        synapse.update(tau_psc="3 ms", x=1, y=0, u=0)
    return {"source": "train", "synapse": synapse, "weight": f"{WEIGHT} pA", "delay": f"{DELAY} ms"}


#: the train through a depressing and a facilitating three-state synapse and a two-state one, each
#: onto its own cell; "pre" (the tsodyks_depression cell, 214.7 pA from 1.1 ms) fires at 49.1 and
#: 99.1 ms, times that k*dt gives as 49.1 and 99.10000000000001
MODEL = {
    "name": "same_step",
    "simulation": {"duration": "110 ms", "dt": "0.1 ms"},
    "populations": {
        "dep": _target(), "fac": _target(), "two": _target(),
        "pre": {"type": "lif_psc_exp", "parameters": {"tau_m": "40 ms", "C_m": "400 pF", "E_L": "0 mV",
                                                      "V_reset": "0 mV", "V_th": "15 mV", "t_ref": "2 ms"},
                "initial": {"V_m": "0 mV"}},
    },
    "stimuli": {"train": {"type": "spike_times", "times": TRAIN},
                "drive": {"type": "dc_step", "target": "pre", "amplitude": "214.7 pA", "start": "1.1 ms"}},
    "projections": {"to_dep": {**_tm("tsodyks3", "0 ms"), "target": "dep"},
                    "to_fac": {**_tm("tsodyks3", "100 ms"), "target": "fac"},
                    "to_two": {**_tm("tsodyks2", "0 ms"), "target": "two"}},
    "recordings": {**{p: {"population": p, "variables": ["I_syn_ex"]} for p in ("dep", "fac", "two")},
                   "pre": {"population": "pre", "spikes": True}},
}

#: tolerance on a measured jump (pA): the shipped Tsodyks models' event tolerances (exact propagation
#: on the reference and NEST, Brian2's 'exact' method, NEURON's RK4 mechanisms)
JUMP_ATOL = {"reference": 1e-6, "nest": 1e-6, "brian2": 1e-4, "neuron": 1e-3}


@lru_cache(maxsize=None)
def run(backend: str) -> bridge.Result:
    return bridge.simulate(bridge.from_dict(MODEL), backend)


def jump(result: bridge.Result, population: str, arrival: float, tau_syn: float = 3.0, dt: float = 0.1) -> float:
    """Jump of I_syn_ex at ``arrival`` (ms): the sample there minus the one before decayed by one step."""
    times, current = result.signal(population, "I_syn_ex")
    k = int(np.flatnonzero(np.isclose(times, arrival))[0])
    return current[k] - current[k - 1] * np.exp(-dt / tau_syn)


def test_the_closed_form_of_same_step_releases():
    """The closed form (tests/analytic.py) equals processing the spikes one after the other, and
    gives the numbers NEST and NEURON produced in issue #16 (75 pA where the reference gave 100 pA)."""
    grid = [10.1, 10.1, 30.0]
    assert tsodyks3_same_step_release(2, 1.0, 0.0, 0.5, facilitating=False) == pytest.approx(0.75)
    assert tsodyks3_same_step_release(2, 1.0, 0.0, 0.5, facilitating=True) == pytest.approx(0.875)
    assert sum(tsodyks3_releases(grid, 0.5, 3.0, 800.0, 0.0)[:2]) == pytest.approx(0.75, abs=1e-15)
    assert sum(tsodyks3_releases(grid, 0.5, 3.0, 800.0, 100.0)[:2]) == pytest.approx(0.875, abs=1e-15)
    assert sum(tsodyks3_releases([5.0, 5.0, 5.0], 0.3, 3.0, 800.0, 50.0)) == pytest.approx(
        tsodyks3_same_step_release(3, 1.0, 0.0, 0.3, facilitating=True), abs=1e-15)
    assert sum(tsodyks2_releases(grid, 0.5, 800.0, 0.0)[:2]) == pytest.approx(0.75, abs=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_spikes_in_one_step_are_processed_one_after_the_other(backend):
    """10.01 and 10.05 ms both land on 10.1 ms (arrival 10.2 ms).  Each synapse processes them in turn
    (h = 0 between them): the jump is w (1 - (1-U)^2) = 75 pA (depressing), w (1 - (1-U)^3) = 87.5 pA
    (facilitating), w (U + U (1-U)) = 75 pA (two-state); the depleted state carries forward to the
    spike at 30 ms (closed forms: tests/analytic.py).  Brian2 used to refuse such trains."""
    result = run(backend)
    grid = [10.1, 10.1, 30.0]
    expected = {"dep": tsodyks3_releases(grid, 0.5, 3.0, 800.0, 0.0),
                "fac": tsodyks3_releases(grid, 0.5, 3.0, 800.0, 100.0),
                "two": tsodyks2_releases(grid, 0.5, 800.0, 0.0)}
    for population, releases in expected.items():
        assert jump(result, population, 10.2) == pytest.approx(WEIGHT * (releases[0] + releases[1]),
                                                                abs=JUMP_ATOL[backend]), population
        assert jump(result, population, 30.1) == pytest.approx(WEIGHT * releases[2],
                                                               abs=JUMP_ATOL[backend]), population
    assert jump(result, "dep", 10.2) == pytest.approx(75.0, abs=JUMP_ATOL[backend])
    assert jump(result, "fac", 10.2) == pytest.approx(87.5, abs=JUMP_ATOL[backend])


@pytest.mark.parametrize("backend", BACKENDS)
def test_spike_and_sample_times_are_decimal_grid_times(backend):
    """Spike times and sample times are the doubles nearest to k*dt written in dt's decimals (99.1,
    not 991*0.1 = 99.10000000000001), bit-identical on every backend (expected values: decimal
    literals parsed by Python)."""
    result = run(backend)
    assert 991 * 0.1 != 99.1  # what the backends returned before
    assert result.spikes("pre")[0].tolist() == [49.1, 99.1]
    times, _ = result.signal("dep", "I_syn_ex")
    assert times.tolist() == [float(f"{k}e-1") for k in range(1, 1101)]


def test_grid_times_in_other_decimals():
    assert grid_times([3, 991, 40000], 0.025).tolist() == [0.075, 24.775, 1000.0]
    assert grid_times([7], 0.1).tolist() == [0.7] and 7 * 0.1 != 0.7
    assert to_grid([0.30000000000000004, 99.10000000000001], 0.1).tolist() == [0.3, 99.1]
    assert grid_times([3], 0.1 / 3).tolist() == [3 * (0.1 / 3)]  # not decimal: k*dt as computed
    assert occurrence_rank([3, 5, 3, 3, 5]).tolist() == [0, 0, 1, 2, 1]


# ------------------------------------------------------------------ another time step
def _dt_model() -> bridge.Model:
    """A cell at dt = 0.01 ms recording V_m every step (interval written out: 0.01 ms) and I_syn_ex
    every 0.1 ms."""
    return bridge.from_dict({
        "name": "fine_step",
        "simulation": {"duration": "30 ms", "dt": "0.01 ms"},
        "populations": {"cell": {"type": "lif_psc_exp", "parameters": {"V_th": "-60 mV", "t_ref": "3 ms"}}},
        "stimuli": {"dc": {"type": "dc_step", "target": "cell", "amplitude": "600 pA", "start": "3 ms"}},
        "recordings": {"every": {"population": "cell", "variables": ["V_m"], "interval": "0.01 ms", "spikes": True},
                       "coarse": {"population": "cell", "variables": ["I_syn_ex"], "interval": "0.1 ms"}},
    })


def test_another_dt_keeps_valid_recordings_valid():
    """simulate(model, dt=...) at a coarser step used to fail with 'interval 0.01 ms is below the time
    step'.  A recording at the model's own step follows the new step; any other interval that is
    still on the grid stays; one that is not is an error saying the step came from the override."""
    model = _dt_model()
    coarse = bridge.simulate(model, "reference", dt=0.1)
    assert coarse.signal("cell", "V_m")[0][:3].tolist() == [0.1, 0.2, 0.3]
    assert coarse.signal("cell", "I_syn_ex")[0][:3].tolist() == [0.1, 0.2, 0.3]
    assert coarse.metadata["dt_ms"] == 0.1
    middle = bridge.simulate(model, "reference", dt=0.05)
    assert middle.signal("cell", "V_m")[0][:3].tolist() == [0.05, 0.1, 0.15]
    assert middle.signal("cell", "I_syn_ex")[0][:3].tolist() == [0.1, 0.2, 0.3]
    with pytest.raises(ModelError) as error:
        bridge.simulate(model, "reference", dt=0.03)
    assert str(error.value) == ("<model>: recordings.coarse.interval: 0.1 ms is not on the time grid at dt = 0.03 ms "
                                "(set by the dt override (dt=... or --dt); the model's dt is 0.01 ms) "
                                "(expected a multiple of dt = 0.03 ms)")


def test_compare_at_another_dt_judges_at_that_dt():
    """bridge compare --dt: the comparison (spike window = dt, event sampling) uses the model at the
    step it ran at."""
    from bridge.harness import compare

    comparison = compare(_dt_model(), ["nest"], dt=0.1, reuse_reference=False)
    assert comparison.model.simulation.dt == 0.1 and comparison.verdict == "AGREE", comparison.explanation()
    assert {c.observable for c in comparison.checks} == {"cell.spikes", "cell.V_m", "cell.I_syn_ex"}
    spikes = next(c for c in comparison.checks if c.kind == "spikes")
    assert spikes.limit == 0.1 and spikes.metrics["count_reference"] >= 3
