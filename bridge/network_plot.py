"""Plots of reaction-network runs and sweeps (matplotlib, Agg backend: works without a display).

A network run spans very different time scales (the spine model: 4040 s of equilibration, then
millisecond Ca pulses), so :func:`plot_network_run` draws each recorded variable twice: the whole run
with time in ms, s or min (whichever fits the duration; the stimulation window shaded), and beside it
a close-up in time since the onset: the stimulation window itself for a variable that a recording
window samples finely there (at least :data:`DENSE` samples; the transients show), else the whole
time from the onset to the end of the run (slow read-outs such as g_ampa); the true peak (over every
solver step) is marked when it falls inside.  :func:`plot_sweep` draws a
read-out's change against the swept parameter and the time courses of the runs.
"""
from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .model import Model  # noqa: E402
from .outputs import atomic_file  # noqa: E402
from .result import Result  # noqa: E402

if TYPE_CHECKING:
    from .sweep import SweepResult


#: samples inside the stimulation window above which a variable's close-up shows only that window
DENSE = 20


def time_unit(span_ms: float) -> tuple[str, float]:
    """(unit, divisor from ms) for an axis spanning ``span_ms``: ms up to 2 s, s up to 2 h, else min."""
    if span_ms <= 2_000:
        return "ms", 1.0
    if span_ms <= 7_200_000:
        return "s", 1_000.0
    return "min", 60_000.0


def stimulation_window(model: Model) -> tuple[float, float] | None:
    """(start, stop) in ms of the stimulation panel: the stimulation with a margin after it (half its
    length, at least 20 ms) and a little before; None without stimulation."""
    network = model.network
    if network is None or network.stimulation_onset is None or network.stimulation_end is None:
        return None
    onset, end = network.stimulation_onset, network.stimulation_end
    span = end - onset
    return max(0.0, onset - 0.05 * span - 2.0), min(model.simulation.duration, end + max(0.5 * span, 20.0))


def _save(fig, path: str | os.PathLike) -> None:
    try:
        with atomic_file(path) as handle:
            fig.savefig(handle, format="png", dpi=110)
    finally:
        plt.close(fig)


def plot_network_run(results: list[Result], model: Model, path: str | os.PathLike, title: str | None = None) -> None:
    """Every recorded network variable of ``results`` (runs of ``model``, overlaid): the whole run and
    the stimulation window side by side (see the module docstring)."""
    network = model.network
    assert network is not None
    keys = list(dict.fromkeys(k for r in results for k in r.signals if k[0] == network.name))
    window = stimulation_window(model)
    columns = 2 if window else 1
    fig, axes = plt.subplots(max(len(keys), 1), columns, figsize=(7 + 5 * (columns - 1), 1.9 * max(len(keys), 1) + 0.8),
                             squeeze=False, gridspec_kw={"width_ratios": [1.4, 1] if window else [1]})
    unit, scale = time_unit(model.simulation.duration)
    for row, key in enumerate(keys):
        ax = axes[row, 0]
        for r in results:
            if key not in r.signals:
                continue
            sig = r.signals[key]
            ax.plot(sig.times / scale, sig.values[:, 0], lw=1, label=r.backend)
        sig = next(r.signals[key] for r in results if key in r.signals)
        ax.set_ylabel(f"{key[1]}\n({sig.unit})", fontsize=8)
        if window:
            ax.axvspan(window[0] / scale, window[1] / scale, color="0.85", lw=0)
            _stimulation_panel(axes[row, 1], results, key, model, window)
        if len(results) > 1:
            ax.legend(fontsize="x-small", frameon=False)
    axes[-1, 0].set_xlabel(f"time ({unit})")
    if window:
        axes[0, 1].set_title("close-up: time since the onset (stimulation shaded on the left)", fontsize=9)
    axes[0, 0].set_title("whole run", fontsize=9)
    fig.suptitle(title or (results[0].model if results else ""))
    fig.tight_layout()
    _save(fig, path)


def _stimulation_panel(ax, results: list[Result], key: tuple[str, str], model: Model,
                       window: tuple[float, float]) -> None:
    """The close-up of one variable (see the module docstring)."""
    network = model.network
    assert network is not None and network.stimulation_onset is not None
    onset = network.stimulation_onset
    signals = [(r, r.signals[key]) for r in results if key in r.signals]
    dense = any(((s.times >= window[0]) & (s.times <= window[1])).sum() >= DENSE for _, s in signals)
    if not dense:
        duration = model.simulation.duration
        window = (max(0.0, onset - 0.05 * (duration - onset)), duration)
    unit, scale = time_unit(window[1] - window[0])
    for r, sig in signals:
        inside = (sig.times >= window[0]) & (sig.times <= window[1])
        ax.plot((sig.times[inside] - onset) / scale, sig.values[inside, 0], lw=0.8,
                marker="." if inside.sum() < 40 else None, ms=3)
        peak = (r.metadata.get("extremes") or {}).get(f"{key[0]}.{key[1]}")
        if peak and window[0] <= peak["t_max"] <= window[1]:
            ax.plot([(peak["t_max"] - onset) / scale], [peak["max"]], "v", color="tab:red", ms=5)
            ax.annotate(f"peak {peak['max']:.4g}", ((peak["t_max"] - onset) / scale, peak["max"]), fontsize=7,
                        xytext=(3, -9), textcoords="offset points", color="tab:red")
    ax.axvline(0, color="0.6", lw=0.6)
    ax.set_xlim((window[0] - onset) / scale, (window[1] - onset) / scale)
    ax.tick_params(labelsize=8)
    ax.text(0.99, 0.04, f"{'stimulation' if dense else 'onset to end'} ({unit})", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=7, color="0.4")


def _numeric(values: list[str]) -> tuple[list[float], str] | None:
    """The magnitudes of ``values`` (plain numbers or quantities in one unit) and the unit; None if not."""
    from .units import units

    numbers, unit = [], None
    for text in values:
        try:
            quantity = units.Quantity(text)
        except Exception:
            return None
        magnitude = float(getattr(quantity, "magnitude", quantity))
        this = f"{quantity.units:~}" if hasattr(quantity, "units") else ""
        if unit is not None and this != unit:
            return None
        unit = this
        numbers.append(magnitude)
    return numbers, unit or ""


def plot_sweep(sweep: "SweepResult", path: str | os.PathLike) -> None:
    """Left: the read-out's change (vs control, and vs onset) against the first swept path, one line per
    combination of the others (or one bar per variant); right: the read-out's time courses."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6))
    readout = sweep.readout
    summaries = [(p, sweep.summary(p)) for p in sweep.points]
    first = sweep.paths[0] if sweep.paths else None
    numeric = _numeric([p.values[first] for p in sweep.points]) if first else None
    rows = [s.row(readout) if s else None for _, s in summaries]
    relative = any(r is not None and (math.isfinite(r.change) or math.isfinite(r.change_vs_control)) for r in rows)

    def measures(row) -> tuple[float, float]:
        """(main, secondary) of a point: changes vs control and vs onset (%), or the end value."""
        if row is None:
            return math.nan, math.nan
        if relative:
            return 100 * row.change_vs_control, 100 * row.change
        return row.end, math.nan

    labels_main = ("vs control", "vs protocol onset") if relative else ("at the end", "")
    if first and numeric:
        xs, unit = numeric
        groups: dict[str, list[tuple[float, float, float]]] = {}
        for (point, _), row, x in zip(summaries, rows, xs):
            rest = ", ".join([point.variant or ""] + [f"{k}={v}" for k, v in point.values.items() if k != first]).strip(", ")
            groups.setdefault(rest, []).append((x, *measures(row)))
        for label, items in groups.items():
            items.sort()
            x, main, secondary = (np.array(v) for v in zip(*items))
            suffix = f" ({label})" if label else ""
            line, = left.plot(x, main, "o-", label=labels_main[0] + suffix)
            if relative:
                left.plot(x, secondary, "s--", color=line.get_color(), alpha=0.6, ms=4, label=labels_main[1] + suffix)
        if all(x > 0 for x in xs) and max(xs) / min(xs) >= 20:
            left.set_xscale("log")
        left.set_xlabel(f"{first}" + (f" ({unit})" if unit else ""))
    else:
        labels = [p.label for p, _ in summaries]
        main, secondary = zip(*(measures(r) for r in rows))
        x = np.arange(len(labels))
        left.bar(x - 0.2 * relative, main, 0.4, label=labels_main[0])
        if relative:
            left.bar(x + 0.2, secondary, 0.4, label=labels_main[1], alpha=0.6)
        left.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    if not relative:
        control = next((sweep.summary(p) for p in sweep.points if p.control_key in sweep.results), None)
        if control is not None:
            left.axhline(control.row(readout).control_end, color="k", ls=":", lw=1, label="control at the end")
    if relative:
        left.axhline(0, color="0.5", lw=0.8)
        left.set_ylabel(f"change of {readout} at the end (%)")
    else:
        unit_r = next((s.row(readout).unit for _, s in summaries if s), "")
        left.set_ylabel(f"{readout} at the end ({unit_r}); from ~0 at onset")
    left.set_title(f"{os.path.basename(sweep.source)} on {sweep.backend}", fontsize=10)
    left.legend(fontsize="x-small", frameon=False)
    model = sweep.points[0].model
    duration = model.simulation.duration
    onset_ms = model.network.stimulation_onset if model.network is not None else None
    start = max(0.0, (onset_ms or 0.0) - 0.05 * (duration - (onset_ms or 0.0)))
    unit_t, scale = time_unit(duration - start)
    one_path = numeric is not None and len(sweep.paths) == 1 and not any(p.variant for p in sweep.points)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(sweep.points)))
    order = np.argsort(numeric[0]) if one_path else np.arange(len(sweep.points))
    curves = [(sweep.points[i].values[first] if one_path else sweep.points[i].label,
               sweep.results.get(sweep.points[i].key), {"color": colours[rank]} if one_path else {})
              for rank, i in enumerate(order)]
    curves += [("control", sweep.results.get(k), {"color": "k", "ls": ":"}) for k in sweep.controls][:1]
    for label, result, style in curves:
        if result is None or (model.network.name, readout) not in result.signals:
            continue
        sig = result.signals[(model.network.name, readout)]
        keep = sig.times >= start
        right.plot(sig.times[keep] / scale, sig.values[keep, 0], lw=1, label=label, **style)
    if onset_ms is not None:
        right.axvline(onset_ms / scale, color="0.6", lw=0.8)
    right.set_xlabel(f"time ({unit_t})")
    unit_r = next((r.signals[(model.network.name, readout)].unit for r in sweep.results.values()
                   if (model.network.name, readout) in r.signals), "")
    right.set_ylabel(f"{readout} ({unit_r})")
    right.legend(fontsize="x-small", frameon=False, ncol=2, title=first if one_path else None,
                 title_fontsize="x-small")
    fig.tight_layout()
    _save(fig, path)


__all__ = ["plot_network_run", "plot_sweep", "stimulation_window", "time_unit"]
