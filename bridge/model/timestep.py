"""A model rebuilt at another time step (``simulate(..., dt=...)``, ``--dt``, ``--convergence``).

The description is validated again at the new ``dt`` (spike times rounded up to the new grid,
delays and other times checked against it).  A recording keeps its sampling interval when that is
still valid; an interval equal to the model's own ``dt`` that is not (a coarser ``dt``) means
"every step" and follows the new step.  Anything else that does not fit the new grid is an error
that names the field and says the time step came from the override, not from the file.
"""
from __future__ import annotations

import json
import math
import numbers
from typing import Any

from ..errors import ModelError
from .description import Model

#: relative tolerance for "this interval is the model's time step"
_SAME = 1e-9


def check_dt(dt: Any, field: str = "dt", source: str = "<call>") -> float | None:
    """``dt`` (ms) as a float, or None; anything but a finite number > 0 is a ModelError (a text
    such as ``"0.25"`` too: it used to run at the model's own step)."""
    if dt is None:
        return None
    if isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not (math.isfinite(dt) and dt > 0):
        raise ModelError(f"{dt!r} is not a time step", field, "a finite number of ms > 0, e.g. 0.025", source)
    return float(dt)


def with_dt(model: Model, dt: float, origin: str = "the dt override (dt=... or --dt)") -> Model:
    """``model`` rebuilt with time step ``dt`` (ms); ``origin`` names where ``dt`` came from in errors
    (e.g. ``"--dt"``)."""
    from .loader import from_dict

    dt = check_dt(dt)

    old = model.simulation.dt
    document = json.loads(json.dumps(model.document, default=str))
    document.setdefault("simulation", {})["dt"] = f"{dt!r} ms"
    every_step = [name for name, r in model.recordings.items() if abs(r.interval - old) <= _SAME * old]
    while True:
        try:
            return from_dict(document, model.source)
        except ModelError as exc:
            name = _recording_interval(exc.path)
            spec = document.get("recordings", {}).get(name) if name else None
            if name in every_step and isinstance(spec, dict) and "interval" in spec:
                del spec["interval"]  # it sampled every step: it still does
                continue
            raise type(exc)(f"{exc.message} at dt = {dt:g} ms (set by {origin}; the model's dt is {old:g} ms)",
                            exc.path, exc.expected, exc.source) from None


def _recording_interval(path: str) -> str | None:
    """The recording name of an error at ``recordings.<name>.interval``, else None."""
    parts = path.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == "recordings" and parts[2] == "interval" else None
