"""The backend interface.

A backend says which model types it can run through :meth:`Backend.type_problem` (a reason, or
None), driven by data: the type's own ``native`` mappings and ``unsupported`` reasons, and what the
backend generates code for.  It checks a model up front (:meth:`Backend.check` raises
:class:`~bridge.errors.UnsupportedError` with the reason) and runs it in-process
(:meth:`Backend.run`).  :func:`bridge.backends.runner.simulate` runs it in a fresh subprocess;
:mod:`bridge.backends.registry` finds backends by name.
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterator

from ..catalog.base import NeuronType, StimulusType, SynapseType
from ..errors import UnsupportedError
from ..model import Model
from ..result import Result
from .options import Option, check_options

ModelType = NeuronType | SynapseType | StimulusType


class Backend:
    """Base class of all backends."""

    name: ClassVar[str]
    #: the options this backend takes (``--option NAME.KEY=VALUE``): key -> :class:`~.options.Option`;
    #: each is an attribute of the backend holding its default
    options: ClassVar[dict[str, Option]] = {}
    #: set by the worker process, whose model is a private copy: :meth:`run` may then free the
    #: model's bulk arrays (connection pairs, input trains) once the simulator holds its own copy
    release_model_arrays: bool = False

    def configure(self, options: Any, source: str = "command line") -> None:
        """Set ``options`` (a mapping key -> value) after checking each against :attr:`options`
        (:class:`~bridge.errors.ModelError` for an unknown key or a value out of bounds)."""
        for key, value in check_options(self.name, self.options, options, source).items():
            setattr(self, key, value)

    @classmethod
    def version(cls) -> str:
        """Version of the simulator behind this backend."""
        return "unknown"

    def type_problem(self, kind: ModelType) -> str | None:
        """Why this backend cannot run the type ``kind``, or None when it can.  By default a
        backend runs every type except those whose declaration says it cannot (``unsupported``)."""
        return getattr(kind, "unsupported", {}).get(self.name)

    def check(self, model: Model) -> None:
        """Raise :class:`UnsupportedError` if this backend cannot run ``model``."""
        for kind in used_types(model):
            reason = self.type_problem(kind)
            if reason:
                raise UnsupportedError(self.name, f"{kind.name} ({reason})")

    def run(self, model: Model) -> Result:
        """Simulate ``model`` in this process and return its :class:`Result`."""
        raise NotImplementedError

    def ranks_problem(self, ranks: int) -> str | None:
        """Why this backend cannot run a model on ``ranks`` MPI ranks, or None when it can (then its
        workers, started by ``mpiexec``, return their share with :meth:`run_part`).  Checked in the
        parent before anything starts, so it must not import the simulator."""
        return None if ranks == 1 else "it runs in one process (no MPI)"

    def run_part(self, model: Model):
        """On one of several MPI ranks: simulate this rank's cells and return its
        :class:`~bridge.backends.parts.RankPart` (backends whose :meth:`ranks_problem` allows ranks)."""
        raise NotImplementedError(f"{self.name} has no MPI run")

    def end_rank(self) -> None:
        """On one of several MPI ranks, after its part is written: wait until every rank has written
        its own (a rank that left earlier made mpiexec end the others before they had)."""

    def warnings(self, model: Model) -> list[str]:
        """Cautions about running ``model`` here (e.g. its cost), cheap to compute and without importing
        the simulator: the command line prints them before it starts the run."""
        return []


def used_types(model: Model) -> Iterator[ModelType]:
    """Each type ``model`` uses, once, in model order (populations, projections, stimuli)."""
    seen: set[tuple[str, str]] = set()
    kinds = [p.neuron_type for p in model.populations.values()]
    kinds += [p.synapse.synapse_type for p in model.projections.values()]
    kinds += [s.stimulus_type for s in model.stimuli.values()]
    for kind in kinds:
        if (kind.kind, kind.name) not in seen:
            seen.add((kind.kind, kind.name))
            yield kind
