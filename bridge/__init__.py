"""bridge: one model description, run on NEST, NEURON, Brian2 and a reference solver.

>>> import bridge
>>> model = bridge.load("models/tsodyks_depression.yaml")
>>> result = bridge.simulate(model, backend="reference")
>>> times, v = result.signal("post", "V_m")
"""
from __future__ import annotations

__version__ = "0.1.0"

from .backends.runner import simulate
from .model import Model
from .result import Result

__all__ = ["load", "from_dict", "simulate", "Model", "Result", "__version__"]


def __getattr__(name: str):
    # the loader (YAML, pint) is imported on first use: backend workers never need it
    if name in ("load", "from_dict"):
        from .model import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
