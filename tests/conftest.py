"""Shared fixtures: paths and small model builders."""
from __future__ import annotations

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


@pytest.fixture
def models_dir() -> pathlib.Path:
    return MODELS


def regular_train_model(synapse: dict, rate_hz: float, n_spikes: int = 20, weight: str = "100 pA",
                        tau_syn: str = "3 ms", dt: str = "0.1 ms") -> dict:
    """A spike-time source firing ``n_spikes`` regularly at ``rate_hz`` onto one lif_psc_exp cell
    through ``synapse``; records the cell's I_syn_ex every dt.  Used to measure per-spike efficacy:
    the jump of I_syn_ex at each arrival is weight * efficacy."""
    period = 1000.0 / rate_hz
    times = [10.0 + i * period for i in range(n_spikes)]
    return {
        "name": "regular_train",
        "simulation": {"duration": f"{times[-1] + 20} ms", "dt": dt},
        "populations": {"cell": {"type": "lif_psc_exp",
                                 "parameters": {"tau_syn_ex": tau_syn, "V_th": "1000 mV"}}},
        "stimuli": {"train": {"type": "spike_times", "times": times}},
        "projections": {"syn": {"source": "train", "target": "cell", "rule": "all_to_all",
                                "synapse": synapse, "weight": weight, "delay": dt}},
        "recordings": {"current": {"population": "cell", "variables": ["I_syn_ex"]}},
    }


def measured_efficacies(result, model, weight_pa: float) -> "list[float]":
    """Per-arrival jump of I_syn_ex divided by the weight (arrival = spike time + delay)."""
    import numpy as np

    times, current = result.signal("cell", "I_syn_ex")
    dt = model.simulation.dt
    tau = model.populations["cell"].parameters["tau_syn_ex"]
    delay = model.projections["syn"].delay
    jumps = []
    for spike in model.stimuli["train"].trains[0]:
        k = int(round((spike + delay) / dt)) - 1  # sample index of the arrival time
        before = current[k - 1] if k > 0 else 0.0
        jumps.append((current[k] - before * np.exp(-dt / tau)) / weight_pa)
    return jumps


#: Tsodyks–Markram parameter sets of the efficacy tests: (U, tau_rec ms, tau_fac ms)
TM_PARAMETERS = {
    "depressing": (0.5, 800.0, 0.0),       # Tsodyks et al. 1998, Fig. 1A
    "facilitating": (0.1, 100.0, 1000.0),  # depression and facilitation together
    "fig1b": (0.03, 130.0, 530.0),         # Tsodyks et al. 1998, Fig. 1B (tau_psc 1.5 ms there)
}


def tm_efficacy_case(variant: str, label: str, rate_hz: float, n_spikes: int = 20):
    """A regular train through a ``variant`` synapse with parameter set ``label`` onto one cell:
    returns (model, expected efficacies from the closed forms in tests/analytic.py)."""
    import bridge
    from analytic import tsodyks2_efficacies, tsodyks3_efficacies

    U, tau_rec, tau_fac = TM_PARAMETERS[label]
    synapse = {"type": variant, "U": U, "tau_rec": f"{tau_rec} ms", "tau_fac": f"{tau_fac} ms"}
    if variant == "tsodyks3":
        synapse.update(tau_psc="3 ms", x=1, y=0, u=0)
    model = bridge.from_dict(regular_train_model(synapse, rate_hz, n_spikes))
    interval = 1000.0 / rate_hz
    if variant == "tsodyks3":
        expected = tsodyks3_efficacies(U, 3.0, tau_rec, tau_fac, interval, n_spikes,
                                       t_first=model.stimuli["train"].trains[0][0])
    else:
        expected = tsodyks2_efficacies(U, tau_rec, tau_fac, interval, n_spikes)
    return model, expected


def expect_error(document: dict, path: str, *words: str):
    """The ModelError of ``document`` (as file m.yaml): at field ``path``, its line containing ``words``."""
    from bridge.errors import ModelError
    from bridge.model import from_dict

    with pytest.raises(ModelError) as info:
        from_dict(document, "m.yaml")
    assert info.value.path == path, info.value.line()
    for word in words:
        assert word in info.value.line(), info.value.line()
    return info.value
