"""The catalog of model types: neurons, synapses, stimuli (see :mod:`bridge.catalog.base`)."""
from .base import NeuronType, Parameter, StateVariable, StimulusType, SynapseType
from .neurons import NEURONS
from .stimuli import STIMULI
from .synapses import SYNAPSES

__all__ = ["NEURONS", "SYNAPSES", "STIMULI", "NeuronType", "SynapseType", "StimulusType",
           "Parameter", "StateVariable"]
