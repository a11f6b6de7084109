"""The ``scale`` of a model file: one number that shrinks (or grows) a network for quick runs.

```yaml
scale: 0.1        # default 1: the sizes as written
```

With ``scale`` = s (a number > 0):

* every population's ``size`` and every ``poisson`` stimulus's ``size`` become ``size * s`` rounded
  half up
  (so a one-to-one drive keeps matching its population); a size that rounds to 0 is an error naming
  the population (or stimulus) and the smallest scale that keeps one cell;
* every ``fixed_probability`` projection connects with ``p / s``, so the mean in-degree ``p * N_source``
  and with it the mean synaptic input of a cell stay what the file says; weights are unchanged.  Where
  ``p / s`` exceeds 1 (the scaled source has fewer cells than the in-degree), every source cell is
  connected (p = 1) and the weight is multiplied by ``p / s``: the mean input stays, its fluctuations
  grow (fewer, larger inputs).  ``bridge validate`` lists these projections;
* nothing else changes (``one_to_one``, ``all_to_all`` and ``list`` rules, weights, delays, rates,
  recordings; a recording's explicit ``indices`` must still exist).

The scaled network is drawn from the model seed like any other, so ``scale: 1`` is exactly the file
as written.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from .checker import Checker


def read_scale(document: Mapping[str, Any], check: Checker) -> float:
    """The document's ``scale`` (1 when absent); anything but a finite number > 0 is an error."""
    value = document.get("scale", 1)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise check.fail(f"{value!r} is not a positive number", "scale", "a number > 0, e.g. 0.1 (1: the sizes as written)")
    return float(value)


def scaled_size(size: int, scale: float, path: str, check: Checker) -> int:
    """``size * scale`` rounded half up; an error naming ``path`` when no cell is left."""
    if scale == 1:
        return size
    scaled = math.floor(size * scale + 0.5)
    if scaled < 1:
        raise check.fail(f"scale {scale:g} leaves {size} x {scale:g} = {size * scale:.3g} -> 0 cells", path,
                         f"a scale of at least {0.5 / size:.3g}, which keeps one cell")
    return scaled


def scaled_probability(p: float, scale: float) -> tuple[float, float]:
    """(connection probability, weight factor) of a ``fixed_probability`` projection of probability
    ``p`` at ``scale``: ``(p / scale, 1)``, or ``(1, p / scale)`` when ``p / scale`` exceeds 1."""
    scaled = p / scale
    return (scaled, 1.0) if scaled <= 1 else (1.0, scaled)


__all__ = ["read_scale", "scaled_probability", "scaled_size"]
