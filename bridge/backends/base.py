"""The backend interface.

A backend declares what it supports as data (``neuron_types``, ``synapse_types``,
``stimulus_types``), checks a model up front (:meth:`Backend.check` raises
:class:`~bridge.errors.UnsupportedError` with the reason) and runs it in-process
(:meth:`Backend.run`).  :func:`bridge.backends.runner.simulate` runs it in a fresh subprocess;
:mod:`bridge.backends.registry` finds backends by name.
"""
from __future__ import annotations

from typing import ClassVar

from ..model import Model
from ..errors import UnsupportedError
from ..result import Result


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

    def warnings(self, model: Model) -> list[str]:
        """Cautions about running ``model`` here (e.g. its cost), cheap to compute and without importing
        the simulator: the command line prints them before it starts the run."""
        return []

