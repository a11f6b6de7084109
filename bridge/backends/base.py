"""The backend interface and registry.

A backend declares what it supports as data (``neuron_types``, ``synapse_types``,
``stimulus_types``), checks a model up front (:meth:`Backend.check` raises
:class:`~bridge.model.errors.UnsupportedError` with the reason) and runs it in-process
(:meth:`Backend.run`).  :func:`bridge.backends.runner.simulate` runs it in a fresh subprocess.

Backends are found through the ``bridge.backends`` entry-point group, so another package can add
one; the built-in ones are listed in :data:`BUILTIN`.
"""
from __future__ import annotations

import importlib
from typing import ClassVar

from ..model import Model
from ..model.errors import UnsupportedError
from ..result import Result

#: built-in backends: name -> "module:Class"
BUILTIN = {
    "reference": "bridge.backends.reference:ReferenceBackend",
    "nest": "bridge.backends.nest:NestBackend",
    "neuron": "bridge.backends.neuron:NeuronBackend",
    "brian2": "bridge.backends.brian2:Brian2Backend",
}


class Backend:
    """Base class of all backends."""

    name: ClassVar[str]
    #: catalog types this backend can run, with a reason for each one it cannot
    neuron_types: ClassVar[frozenset[str]] = frozenset()
    synapse_types: ClassVar[frozenset[str]] = frozenset()
    stimulus_types: ClassVar[frozenset[str]] = frozenset()
    unsupported_reasons: ClassVar[dict[str, str]] = {}
    #: set by the worker process, whose model is a private copy: :meth:`run` may then free the
    #: model's bulk arrays (connection pairs, input trains) once the simulator holds its own copy
    release_model_arrays: bool = False

    @classmethod
    def version(cls) -> str:
        """Version of the simulator behind this backend."""
        return "unknown"

    def check(self, model: Model) -> None:
        """Raise :class:`UnsupportedError` if this backend cannot run ``model``."""
        used = [(p.type, self.neuron_types) for p in model.populations.values()]
        used += [(pr.synapse.type, self.synapse_types) for pr in model.projections.values()]
        used += [(s.type, self.stimulus_types) for s in model.stimuli.values()]
        for type_name, supported in used:
            if type_name not in supported:
                reason = self.unsupported_reasons.get(type_name, "no implementation of this type")
                raise UnsupportedError(self.name, f"{type_name} ({reason})")

    def run(self, model: Model) -> Result:
        """Simulate ``model`` in this process and return its :class:`Result`."""
        raise NotImplementedError


def available_backends() -> dict[str, str]:
    """All known backends: name -> ``"module:Class"`` (built-ins plus entry points)."""
    from importlib import metadata  # 3 MiB of imports, which a worker running a built-in backend skips

    found = dict(BUILTIN)
    try:
        for entry in metadata.entry_points(group="bridge.backends"):
            found.setdefault(entry.name, entry.value)
    except Exception:  # a broken third-party distribution must not break bridge
        pass
    return found


def get_backend(name: str) -> Backend:
    """Instantiate the backend called ``name``."""
    target = BUILTIN.get(name)
    if target is None:
        backends = available_backends()
        if name not in backends:
            raise UnsupportedError(name, f"no such backend (known: {', '.join(sorted(backends))})")
        target = backends[name]
    module_name, _, class_name = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()
