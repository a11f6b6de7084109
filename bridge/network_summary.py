"""What a reaction-network run did, in the paper's terms: read-outs at the protocol onset and at the
end, their change, the change against a control run, and the true peak and minimum.

* **at onset**: the sample at the stimulation onset (the protocol's onset, else the first injection's);
  when no recording samples that instant, the two neighbouring samples are interpolated linearly and
  the value is marked ``~``.
* **at end**: the sample at the end of the run (``simulation.duration``).
* **change**: end / onset - 1, in % ("—" when the onset value is below 1e-6 of the end value: a species
  rising from practically nothing has no meaningful relative change).  The spine model's baseline drifts (g_ampa by about -0.3 % over the
  960 s after the 4xHFS onset without any stimulation), so a change is only meaningful against:
* **vs control**: end / control's end - 1, in %: the same model without stimulation
  (:mod:`bridge.model.variants`, ``control``), run with the same backend and settings.
* **peak / min**: over every solver step, with their times (``result.metadata["extremes"]``, see
  :mod:`bridge.backends.network_sampling`), not only over the samples.

Times in ms internally, printed in s for runs longer than 10 s.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .model import Model
from .result import Result


@dataclass
class Row:
    """One recorded variable of the network: values in ``unit``, times in ms (NaN: not available)."""

    variable: str
    unit: str
    onset: float
    onset_exact: bool
    end: float
    control_end: float
    control_onset: float
    peak: float
    t_peak: float
    minimum: float
    t_minimum: float

    @property
    def change(self) -> float:
        """end / onset - 1 (a fraction; NaN when the onset value is 0 or missing)."""
        return _ratio(self.end, self.onset)

    @property
    def change_vs_control(self) -> float:
        """end / control's end - 1 (a fraction; NaN without a control)."""
        return _ratio(self.end, self.control_end)

    @property
    def control_drift(self) -> float:
        """The control's own end / onset - 1 (a fraction; NaN without a control)."""
        return _ratio(self.control_end, self.control_onset)


@dataclass
class Summary:
    """A network run's summary: the stimulation window (ms) and one :class:`Row` per recorded variable."""

    model: str
    backend: str
    protocol: str
    onset: float | None
    stimulation_end: float | None
    duration: float
    rows: list[Row]

    def row(self, variable: str) -> Row:
        for row in self.rows:
            if row.variable == variable:
                return row
        raise KeyError(f"{variable!r} is not recorded (recorded: {', '.join(r.variable for r in self.rows)})")


#: a change is not given (—) when the reference value is this small relative to the value: a species
#: rising from practically nothing (CaMKII_phospho from 7e-26 nM) has no meaningful relative change
TINY_REFERENCE = 1e-6


def _ratio(value: float, reference: float) -> float:
    if not (math.isfinite(value) and math.isfinite(reference)) or abs(reference) <= TINY_REFERENCE * abs(value) \
            or reference == 0:
        return math.nan
    return value / reference - 1.0


def value_at(times: np.ndarray, values: np.ndarray, t: float | None) -> tuple[float, bool]:
    """The sample at ``t`` (ms) and True, or the linear interpolation between its neighbours and
    False; NaN when ``t`` is None or outside the samples."""
    if t is None or len(times) == 0 or t < times[0] - 1e-9 or t > times[-1] + 1e-9:
        return math.nan, False
    k = int(np.searchsorted(times, t))
    if k < len(times) and abs(times[k] - t) <= 1e-9 * max(1.0, abs(t)):
        return float(values[k]), True
    return float(np.interp(t, times, values)), False


def protocol_label(model: Model) -> str:
    """e.g. ``4xHFS: 4 trains of 100 pulses at 100 Hz (3 ms) from 4040 s``; '' without stimulation."""
    network = model.network
    if network is None:
        return ""
    protocol = network.protocol
    if protocol is not None:
        pulses = f"{protocol.pulses} pulses" + (f" at {protocol.frequency_hz:.4g} Hz" if protocol.frequency_hz else "")
        trains = f"{protocol.trains} trains of {pulses}" if protocol.trains > 1 else pulses
        injected = [s for s, rate in protocol.fluxes.items() if rate != 0]
        what = ", ".join(injected) if injected else "no flux (control)"
        return (f"{protocol.name}: {trains} ({protocol.pulse_duration:g} ms) injecting {what}, "
                f"from {format_time(protocol.onset, model.simulation.duration)}")
    if network.injections:
        return f"{len(network.injections)} injection pulses from {format_time(network.stimulation_onset, model.simulation.duration)}"
    return ""


def format_time(t_ms: float | None, duration_ms: float) -> str:
    """A time in ms or s, whichever suits a run of ``duration_ms``."""
    if t_ms is None or not math.isfinite(t_ms):
        return "—"
    return f"{t_ms / 1000:.6g} s" if duration_ms > 10_000 else f"{t_ms:.6g} ms"


def summarise(model: Model, result: Result, control: Result | None = None) -> Summary:
    """The :class:`Summary` of ``result`` (a run of ``model``), against ``control`` when given."""
    network = model.network
    if network is None:
        raise ValueError("a summary needs a reaction network (model.network)")
    duration = model.simulation.duration
    onset = network.stimulation_onset
    extremes = result.metadata.get("extremes") or {}
    rows = []
    for (owner, variable), signal in result.signals.items():
        if owner != network.name:
            continue
        times, values = signal.times, signal.values[:, 0]
        at_onset, exact = value_at(times, values, onset)
        at_end, _ = value_at(times, values, duration)
        control_end = control_onset = math.nan
        if control is not None and (owner, variable) in control.signals:
            ctrl = control.signals[(owner, variable)]
            control_end = value_at(ctrl.times, ctrl.values[:, 0], duration)[0]
            control_onset = value_at(ctrl.times, ctrl.values[:, 0], onset)[0]
        e = extremes.get(f"{owner}.{variable}", {})
        rows.append(Row(variable, signal.unit, at_onset, exact, at_end, control_end, control_onset,
                        float(e.get("max", math.nan)), float(e.get("t_max", math.nan)),
                        float(e.get("min", math.nan)), float(e.get("t_min", math.nan))))
    return Summary(model.name, result.backend, protocol_label(model), onset, network.stimulation_end, duration, rows)


def run_with_control(model: Model, backend: str, dt: float | None = None,
                     options: dict | None = None, display: Any = None) -> tuple[Result, Result]:
    """Run ``model`` and its control (no stimulation, :func:`~bridge.model.variants.control_overrides`)
    in two worker processes at once; return both results (``display``: see :func:`bridge.simulate`)."""
    from .backends.runner import Spec, run_all
    from .errors import BridgeError
    from .model import from_dict
    from .model.loader import apply_overrides
    from .model.variants import control_overrides

    control_model = from_dict(apply_overrides(model.document, control_overrides(model.document, model.source),
                                              model.source), model.source)
    outcomes: dict[str, Result | BridgeError] = {}
    run_all({"run": Spec(model, backend, dt, options, backend), "control": Spec(control_model, backend, dt, options,
                                                                                  f"{backend} (control)")},
            2, display, lambda key, outcome, seconds: outcomes.__setitem__(key, outcome))
    for outcome in outcomes.values():
        if isinstance(outcome, BridgeError):
            raise outcome
    return outcomes["run"], outcomes["control"]


def _number(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.5g}"


def _percent(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{100 * value:+.2f} %"


def format_summary(summary: Summary) -> str:
    """The summary as a plain-text table (one line per recorded variable)."""
    d = summary.duration
    lines = [f"{summary.model} on {summary.backend}: {summary.protocol or 'no stimulation'}"]
    if summary.stimulation_end is not None and summary.stimulation_end > d:
        lines.append(f"  warning: the stimulation ends at {format_time(summary.stimulation_end, d)}, after the end "
                     f"of the run ({format_time(d, d)})")
    has_control = any(math.isfinite(r.control_end) for r in summary.rows)
    header = ["variable", "unit", f"at onset ({format_time(summary.onset, d)})", f"at end ({format_time(d, d)})",
              "change"] + (["vs control", "control drift"] if has_control else []) + \
        ["peak (every step)", "at", "min", "at"]
    table = [header]
    for r in summary.rows:
        onset = _number(r.onset) + ("" if r.onset_exact or not math.isfinite(r.onset) else " ~")
        line = [r.variable, r.unit, onset, _number(r.end), _percent(r.change)]
        if has_control:
            line += [_percent(r.change_vs_control), _percent(r.control_drift)]
        line += [_number(r.peak), format_time(r.t_peak, d), _number(r.minimum), format_time(r.t_minimum, d)]
        table.append(line)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    if any(not r.onset_exact and math.isfinite(r.onset) for r in summary.rows):
        lines.append("  ~ interpolated between the samples around the onset")
    return "\n".join(lines)


__all__ = ["Row", "Summary", "format_summary", "format_time", "protocol_label", "run_with_control", "summarise",
           "value_at"]
