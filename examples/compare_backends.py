"""Run the depressing Tsodyks–Markram circuit on every backend and print how well they agree.

    python examples/compare_backends.py
"""
import pathlib

import bridge
from bridge.harness import compare, table

MODEL = pathlib.Path(__file__).resolve().parents[1] / "models" / "tsodyks_depression.yaml"

model = bridge.load(MODEL)
reference = bridge.simulate(model, backend="reference")
times, v = reference.signal("post", "V_m")
print(f"reference: post V_m peaks at {v.max():.4f} mV; pre fired {len(reference.spikes('pre')[0])} spikes")

comparison = compare(MODEL, backends=["nest", "neuron", "brian2"], reference=reference)
print(table(comparison))
