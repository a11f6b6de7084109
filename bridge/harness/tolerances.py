"""Tolerance policy: what counts as agreement, declared per observable in the model file.

```yaml
tolerances:
  post.V_m: {atol: 1e-6 mV, rtol: 0, backends: {neuron: {atol: 1e-3 mV}}, note: why}
  cell.spikes: {window: 0.1 ms, count: 0, settle: 5 ms}
  pre_post.events: {atol: 1e-6 pA}      # per-spike amplitude of the target's receptor jump
```

An analog observable passes when ``max|x - x_ref| <= atol + rtol * range(x_ref)``.  A spike
observable passes when every cell's spike count differs by at most ``count`` and every matched
spike lies within ``window``.  ``settle`` (ms) excludes from the analog comparison the samples that
follow a spike whose time differs between the two runs (a reset one step apart is a spike-time
difference, already judged by the spike observable, not a trace error).

Defaults (no entry): analog ``atol = 0``, ``rtol = 1e-3`` (0.1 % of the reference's range);
spikes ``window = dt``, ``count = 0``, ``settle = 0``; events like analog.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..model import Model
from ..errors import ModelError
from ..units import to_internal

DEFAULT_RTOL = 1e-3


@dataclass(frozen=True)
class AnalogTolerance:
    atol: float = 0.0
    rtol: float = DEFAULT_RTOL
    settle: float = 0.0
    note: str = ""

    def limit(self, reference_range: float) -> float:
        return self.atol + self.rtol * reference_range


@dataclass(frozen=True)
class SpikeTolerance:
    window: float
    count: int = 0
    note: str = ""


def _entry(model: Model, key: str, backend: str) -> dict[str, Any]:
    entry = model.tolerances.get(key) or {}
    if not isinstance(entry, Mapping):
        raise ModelError(f"{entry!r} is not a mapping", f"tolerances.{key}", "atol/rtol/window fields", model.source)
    merged = {k: v for k, v in entry.items() if k != "backends"}
    merged.update((entry.get("backends") or {}).get(backend) or {})
    return merged


def analog_tolerance(model: Model, key: str, unit: str, backend: str) -> AnalogTolerance:
    """Tolerance of the analog observable ``key`` (``"owner.variable"`` in ``unit``) for ``backend``."""
    entry = _entry(model, key, backend)
    path = f"tolerances.{key}"
    return AnalogTolerance(
        atol=to_internal(entry.get("atol", f"0 {unit}" if unit not in ("", "1") else 0), unit, f"{path}.atol", model.source),
        rtol=to_internal(entry.get("rtol", DEFAULT_RTOL), "1", f"{path}.rtol", model.source),
        settle=to_internal(entry.get("settle", "0 ms"), "ms", f"{path}.settle", model.source),
        note=str(entry.get("note", "")),
    )


def spike_tolerance(model: Model, population: str, backend: str) -> SpikeTolerance:
    entry = _entry(model, f"{population}.spikes", backend)
    path = f"tolerances.{population}.spikes"
    window = to_internal(entry.get("window", f"{model.simulation.dt} ms"), "ms", f"{path}.window", model.source)
    count = entry.get("count", 0)
    if not isinstance(count, int) or count < 0:
        raise ModelError(f"{count!r} is not a count", f"{path}.count", "an integer >= 0", model.source)
    return SpikeTolerance(window=window, count=count, note=str(entry.get("note", "")))
