"""The E/I benchmark network as plain data, shared by the bridge runs and the native scripts.

N conductance-based LIF neurons (NEST ``iaf_cond_exp`` dynamics), 80% excitatory and 20% inhibitory,
each pair connected with probability 0.1 (autapses allowed), depressing two-state Tsodyks–Markram
synapses (``tsodyks2``) on excitatory connections and static ones on inhibitory connections,
recurrent weights scaled by 1000/N (so the mean recurrent input does not grow with N); every neuron
is driven by its own Poisson train.  1 s of biological time at dt = 0.1 ms; all spikes recorded.

    python benchmarks/models/ei_network.py 1000 > benchmarks/models/ei_network.yaml

This module imports nothing but the standard library, so the native scripts can use it without
paying for bridge's imports.
"""
from __future__ import annotations

import sys

#: every number of the network (internal units: ms, mV, pF, nS, Hz)
PARAMS = {
    "duration_ms": 1000.0, "dt_ms": 0.1, "seed": 1234,
    "fraction_excitatory": 0.8, "p": 0.1, "delay_ms": 1.0,
    "neuron": {"C_m": 200.0, "g_L": 10.0, "E_L": -70.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 2.0,
               "E_ex": 0.0, "E_in": -80.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0},
    "V_init": -60.0,
    "tsodyks2": {"U": 0.5, "tau_rec": 200.0, "tau_fac": 0.0},  # u = U, x = 1 initially
    "w_exc_nS": 1.0,   # at N = 1000; scaled by 1000/N
    "w_inh_nS": 4.0,   # at N = 1000; scaled by 1000/N (negative weight: inhibitory)
    "drive_rate_hz": 500.0, "w_drive_nS": 1.4,
}


def sizes(n: int) -> tuple[int, int]:
    """(excitatory, inhibitory) sizes for N neurons."""
    n_e = int(round(PARAMS["fraction_excitatory"] * n))
    return n_e, n - n_e


def weights(n: int) -> tuple[float, float]:
    """(excitatory, inhibitory magnitude) recurrent weights in nS for N neurons."""
    scale = 1000.0 / n
    return PARAMS["w_exc_nS"] * scale, PARAMS["w_inh_nS"] * scale


def document(n: int) -> dict:
    """The network as a bridge model document (the shape of a YAML model file)."""
    P = PARAMS
    n_e, n_i = sizes(n)
    w_e, w_i = weights(n)
    cell = {k: f"{v} {unit}" for k, v, unit in
            [(k, v, {"C": "pF", "g": "nS", "t": "ms"}.get(k[0], "mV")) for k, v in P["neuron"].items()]}
    cell["tau_syn_ex"], cell["tau_syn_in"] = f"{P['neuron']['tau_syn_ex']} ms", f"{P['neuron']['tau_syn_in']} ms"
    delay = f"{P['delay_ms']} ms"
    tm = {"type": "tsodyks2", "U": P["tsodyks2"]["U"], "tau_rec": f"{P['tsodyks2']['tau_rec']} ms",
          "tau_fac": f"{P['tsodyks2']['tau_fac']} ms"}
    projections = {}
    for src in ("E", "I"):
        for tgt in ("E", "I"):
            projections[f"{src}{tgt}"] = {
                "source": src, "target": tgt, "rule": "fixed_probability", "p": P["p"],
                "synapse": tm if src == "E" else {"type": "static"},
                "weight": f"{w_e if src == 'E' else -w_i} nS", "delay": delay}
    for pop in ("E", "I"):
        projections[f"drive_{pop}"] = {"source": f"drive_{pop}", "target": pop, "rule": "one_to_one",
                                       "synapse": {"type": "static"}, "weight": f"{P['w_drive_nS']} nS",
                                       "delay": delay}
    return {
        "name": f"ei_network_{n}",
        "description": __doc__.split("\n\n")[1].replace("\n", " "),
        "simulation": {"duration": f"{P['duration_ms']} ms", "dt": f"{P['dt_ms']} ms", "seed": P["seed"]},
        "populations": {
            "E": {"type": "lif_cond_exp", "size": n_e, "parameters": cell, "initial": {"V_m": f"{P['V_init']} mV"}},
            "I": {"type": "lif_cond_exp", "size": n_i, "parameters": cell, "initial": {"V_m": f"{P['V_init']} mV"}},
        },
        "stimuli": {f"drive_{pop}": {"type": "poisson", "size": size, "rate": f"{P['drive_rate_hz']} Hz"}
                    for pop, size in (("E", n_e), ("I", n_i))},
        "projections": projections,
        "recordings": {"E_spikes": {"population": "E", "spikes": True},
                       "I_spikes": {"population": "I", "spikes": True}},
    }


if __name__ == "__main__":
    import yaml  # only for writing the example file

    sys.stdout.write(yaml.safe_dump(document(int(sys.argv[1]) if len(sys.argv) > 1 else 1000), sort_keys=False))
