"""Finding backends by name: the built-in ones (:data:`BUILTIN`) and those other packages add
through the ``bridge.backends`` entry-point group (a subclass of :class:`~.base.Backend`)."""
from __future__ import annotations

import importlib

from ..errors import UnsupportedError
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
