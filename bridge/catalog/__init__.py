"""Model types: neurons, synapses (declared in ``types/*.yaml`` through :mod:`.declare`, the parser
users' type declarations go through too) and stimuli (:mod:`.stimuli`).

``NEURONS``, ``SYNAPSES`` and ``STIMULI`` are the built-in types by name.  The YAML files are read
and checked on first use of ``NEURONS``/``SYNAPSES`` (not on import), so that a backend worker, which
receives its model's types pickled, never parses them.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import NativeModel, NeuronType, Parameter, StateVariable, StimulusType, SynapseType
from .stimuli import STIMULI

#: the files declaring the built-in types, in declaration order (synapses first: neurons emit them)
BUILTIN_FILES = (Path(__file__).with_name("types") / "synapses.yaml", Path(__file__).with_name("types") / "neurons.yaml")

__all__ = ["NEURONS", "SYNAPSES", "STIMULI", "builtin_types", "NeuronType", "SynapseType", "StimulusType",
           "Parameter", "StateVariable", "NativeModel"]


@lru_cache(maxsize=1)
def builtin_types() -> dict[str, NeuronType | SynapseType]:
    """Every built-in neuron and synapse type by name, parsed and checked from :data:`BUILTIN_FILES`."""
    from .declare import declare_types, read_types_file

    types: dict[str, NeuronType | SynapseType] = {}
    for path in BUILTIN_FILES:
        types.update(declare_types(read_types_file(path), str(path), types, origin="built-in"))
    return types


def __getattr__(name: str) -> Any:
    if name == "NEURONS":
        return {n: t for n, t in builtin_types().items() if isinstance(t, NeuronType)}
    if name == "SYNAPSES":
        return {n: t for n, t in builtin_types().items() if isinstance(t, SynapseType)}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
