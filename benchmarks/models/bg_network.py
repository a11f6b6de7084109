"""The basal-ganglia network of models/bg_healthy.yaml as plain numbers, for the native benchmark scripts
(benchmarks/native/neuron_bg.py, brian2_bg.py): read with PyYAML alone, so that a native run pays for no
bridge import.  Units are bridge's internal ones (ms, mV, pA, pF, nS, Hz); the scale rule is the one of
``bridge.model.scaling`` (sizes rounded half up, p / scale, or p = 1 and the weight x p / scale).

    python benchmarks/models/bg_network.py 0.1     # prints the sizes and synapse counts expected
"""
from __future__ import annotations

import math
import os
import sys

import yaml

MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "bg_healthy.yaml")
TYPES = os.path.join(os.path.dirname(MODEL), "types", "bg_cells.yaml")
#: factors to bridge's internal units of the units the model and type files use
UNITS = {"ms": 1.0, "s": 1000.0, "mV": 1.0, "pA": 1.0, "pF": 1.0, "nS": 1.0, "Hz": 1.0, "1/ms": 1.0,
         "nS/mV": 1.0, "pA/mV**3": 1.0, "mM": 1.0, "1": 1.0}


def number(value) -> float:
    """'0.35 nS' -> 0.35 (internal units); plain numbers unchanged."""
    if isinstance(value, (int, float)):
        return float(value)
    magnitude, _, unit = str(value).strip().partition(" ")
    return float(magnitude) * UNITS[unit.strip() or "1"]


def network(scale: float) -> dict:
    """Populations (type, size, parameters with the type's defaults filled in, initial V_m), drives
    (population -> rate Hz) and projections (source, target, receptor, p or None for one-to-one,
    weight nS, delay ms, Tsodyks-Markram parameters or None) at ``scale``."""
    with open(MODEL) as handle:
        model = yaml.safe_load(handle)
    with open(TYPES) as handle:
        types = yaml.safe_load(handle)["types"]
    populations = {}
    for name, spec in model["populations"].items():
        declared = types[spec["type"]]
        parameters = {k: number(v["default"]) for k, v in declared["parameters"].items()}
        parameters.update({k: number(v) for k, v in spec.get("parameters", {}).items()})
        populations[name] = {"type": spec["type"], "size": math.floor(spec["size"] * scale + 0.5),
                             "parameters": parameters, "V_m": number(spec["initial"]["V_m"])}
    drives = {name: number(s["rate"]) for name, s in model["stimuli"].items()}
    projections = {}
    for name, spec in model["projections"].items():
        p, factor = None, 1.0
        if spec.get("rule") == "fixed_probability":
            p = spec["p"] / scale
            if p > 1:
                p, factor = 1.0, p
        synapse = spec.get("synapse")
        tm = None if synapse is None else {k: number(v) for k, v in synapse.items() if k != "type"}
        projections[name] = {"source": spec["source"], "target": spec["target"], "receptor": spec["receptor"],
                             "p": p, "weight": number(spec["weight"]) * factor, "delay": number(spec["delay"]),
                             "tsodyks": tm}
    return {"dt": number(model["simulation"]["dt"]), "populations": populations, "drives": drives,
            "projections": projections, "types": types}


def expected_synapses(scale: float) -> float:
    """Mean number of recurrent synapses at ``scale`` (fixed-probability projections)."""
    net = network(scale)
    sizes = {n: p["size"] for n, p in net["populations"].items()}
    return sum(pr["p"] * sizes[pr["source"]] * sizes[pr["target"]] for pr in net["projections"].values()
               if pr["p"] is not None)


if __name__ == "__main__":
    s = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    net = network(s)
    print({n: p["size"] for n, p in net["populations"].items()}, f"{expected_synapses(s):.4g} synapses")
