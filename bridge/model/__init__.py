"""The abstract model description: dataclasses, file loading and validation (units: :mod:`bridge.units`).

The dataclasses are imported eagerly; the loader (YAML, pint units, validation) only when one of
its names is first used, so that a backend worker handed a built :class:`Model` never imports it.
"""
from .description import (Model, Population, Projection, Recording, Simulation, Stimulus, Synapse,
                          steps)
from ..errors import BridgeError, ModelError, UnsupportedError

_LOADER_NAMES = ("apply_overrides", "from_dict", "load", "read_document")

__all__ = ["Model", "Population", "Projection", "Recording", "Simulation", "Stimulus", "Synapse",
           "BridgeError", "ModelError", "UnsupportedError", *_LOADER_NAMES, "steps"]


def __getattr__(name: str):
    if name in _LOADER_NAMES:
        from . import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
