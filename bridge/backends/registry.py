"""Finding backends by name: the built-in ones (:data:`BUILTIN`) and those other packages add
through the ``bridge.backends`` entry-point group (a subclass of :class:`~.base.Backend`)."""
from __future__ import annotations

import importlib
from typing import Iterable

from ..errors import ModelError
from .base import Backend

#: built-in backends: name -> "module:Class"
BUILTIN = {
    "reference": "bridge.backends.reference:ReferenceBackend",
    "nest": "bridge.backends.nest:NestBackend",
    "neuron": "bridge.backends.neuron:NeuronBackend",
    "brian2": "bridge.backends.brian2:Brian2Backend",
}


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


def check_backend_names(names: Iterable[str], field: str = "backend", source: str = "<call>") -> None:
    """Raise :class:`ModelError` (invalid input, exit 2) for a name that is no known backend, listing
    the known ones; ``field`` and ``source`` name where the names came from (``--backends``,
    ``command line``)."""
    known = None
    if isinstance(names, str):
        names = [names]
    for name in names:
        if not isinstance(name, str):
            raise ModelError(f"{name!r} is not a backend name", field, "one of " + ", ".join(sorted(available_backends())),
                             source)
        if name in BUILTIN:
            continue
        known = known or available_backends()
        if name not in known:
            raise ModelError(f"unknown backend {name!r}", field, "one of " + ", ".join(sorted(known)), source)


def get_backend(name: str) -> Backend:
    """Instantiate the backend called ``name`` (:class:`ModelError` when there is none)."""
    check_backend_names([name])
    target = BUILTIN.get(name) or available_backends()[name]
    module_name, _, class_name = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()
