"""The abstract model description: dataclasses, file loading, units and validation."""
from .description import (Model, Population, Projection, Recording, Simulation, Stimulus, Synapse,
                          steps)
from .errors import BridgeError, ModelError, UnsupportedError
from .loader import apply_overrides, from_dict, load, read_document

__all__ = ["Model", "Population", "Projection", "Recording", "Simulation", "Stimulus", "Synapse",
           "BridgeError", "ModelError", "UnsupportedError", "load", "from_dict", "apply_overrides",
           "read_document", "steps"]
