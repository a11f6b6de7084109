"""Reports of a comparison: a terminal table, ``report.json`` and PNG plots.

``report.json`` schema (version 1)::

    {"schema": 1, "model": str, "source": str, "passed": bool, "verdict": str, "exit_code": int,
     "explanation": [str], "required": [str], "wall_s": float,
     "backends": {name: {"status": "ok" | "unsupported" | "failed", "reason": str,
                         "version": str, "setup_s": float, "simulate_s": float}},
     "checks": [{"backend", "against", "observable", "kind", "passed", "worst", "limit", "unit",
                 "worst_time_ms", "worst_index", "note", "metrics": {...}}],
     "convergence": [{"backend", "observable", "dt_ms": [...], "max_abs_error": [...],
                      "orders": [...], "round_off": float, "status": str, "flag": bool}],
     "plots": [file names]}
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

from ..outputs import atomic_file, inside, safe_name
from .compare import REFERENCE, Comparison
from .metrics import common_samples

SCHEMA_VERSION = 1


def table(comparison: Comparison) -> str:
    """The terminal summary: one line per backend x observable."""
    lines = [f"{comparison.model.name}: {comparison.verdict} ({comparison.wall_s:.1f} s)"]
    header = f"  {'backend':<10} {'vs':<10} {'observable':<22} {'kind':<7} {'worst':>11} {'limit':>11} unit  where            result"
    lines.append(header)
    for c in comparison.checks:
        where = f"t={c.worst_time:.4g} ms [{c.worst_index}]" if math.isfinite(c.worst_time) else ""
        lines.append(f"  {c.backend:<10} {c.against:<10} {c.observable:<22} {c.kind:<7} {_num(c.worst):>11} "
                     f"{_num(c.limit):>11} {c.unit:<5} {where:<18} {'pass' if c.passed else 'FAIL'}")
    for name, reason in comparison.unsupported.items():
        lines.append(f"  {name:<10} unsupported: {reason}")
    for name, message in comparison.failed.items():
        lines.append(f"  {name:<10} FAILED: {message.splitlines()[0]}")
    if comparison.convergence:
        steps = max((row["dt_ms"] for row in comparison.convergence), key=len)
        lines.append(f"  convergence: max |error| vs the reference at dt = {', '.join(f'{s:g}' for s in steps)} ms")
    for row in comparison.convergence:
        errs = ", ".join(f"dt {s:g}: {_num(e)}" for s, e in zip(row["dt_ms"], row["max_abs_error"]))
        orders = ", ".join(f"{o:.2f}" for o in row["orders"])
        lines.append(f"  convergence {row['backend']:<8} {row['observable']:<20} errors [{errs}] "
                     f"orders [{orders}]  {row['status']}")
    lines += [f"  {reason}" for reason in comparison.explanation()]
    return "\n".join(lines)


def _num(x: float) -> str:
    return "inf" if x == math.inf else f"{x:.3g}"


def to_json(comparison: Comparison, plots: list[str] | None = None) -> dict:
    backends = {}
    for name, result in comparison.results.items():
        backends[name] = {"status": "ok", "reason": "", "version": result.metadata.get("backend_version", ""),
                          "setup_s": result.metadata.get("setup_s"), "simulate_s": result.metadata.get("simulate_s")}
    backends.update({n: {"status": "unsupported", "reason": r} for n, r in comparison.unsupported.items()})
    backends.update({n: {"status": "failed", "reason": r} for n, r in comparison.failed.items()})
    return {
        "schema": SCHEMA_VERSION,
        "model": comparison.model.name,
        "source": comparison.model.source,
        "passed": comparison.passed,
        "verdict": comparison.verdict,
        "exit_code": comparison.exit_code,
        "explanation": comparison.explanation(),
        "required": list(comparison.required),
        "wall_s": comparison.wall_s,
        "backends": backends,
        "checks": [{"backend": c.backend, "against": c.against, "observable": c.observable, "kind": c.kind,
                    "passed": c.passed, "worst": _finite(c.worst), "limit": c.limit, "unit": c.unit,
                    "worst_time_ms": _finite(c.worst_time), "worst_index": c.worst_index, "note": c.note,
                    "metrics": {k: _finite(v) for k, v in c.metrics.items() if v is not None}}
                   for c in comparison.checks],
        "convergence": comparison.convergence,
        "plots": plots or [],
    }


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def write(comparison: Comparison, directory: str | os.PathLike) -> list[str]:
    """Write ``report.json`` and the plots into ``directory`` (created); return the file names.

    Every file is written atomically under a name built by :func:`bridge.outputs.safe_name`; the
    plots a previous report in ``directory`` listed and this one does not are removed (they would
    be stale), nothing else."""
    os.makedirs(directory, exist_ok=True)
    previous = _listed_plots(directory)
    plots = plot(comparison, directory)
    with atomic_file(inside(directory, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(to_json(comparison, plots), handle, indent=2, default=float)
    for name in previous - set(plots):
        try:
            os.unlink(inside(directory, name))
        except (OSError, ValueError):
            pass
    return ["report.json"] + plots


def _listed_plots(directory: str | os.PathLike) -> set[str]:
    """The plot files an earlier ``report.json`` in ``directory`` lists (bridge's own, plain names)."""
    try:
        with open(os.path.join(directory, "report.json"), encoding="utf-8") as handle:
            listed = json.load(handle).get("plots", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {name for name in listed if isinstance(name, str) and name == safe_name(*name[:-4].split("."), suffix=".png")
            and name.endswith(".png")}


def plot(comparison: Comparison, directory: str | os.PathLike) -> list[str]:
    """Overlaid traces with the difference to the reference per analog observable; a raster per
    spiking population."""
    from ..plotting import plt

    names: list[str] = []
    results = comparison.results
    reference = results.get(REFERENCE)
    keys = list(dict.fromkeys(k for r in results.values() for k in r.signals))
    for key in keys:
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        column = 0
        for colour, (name, result) in enumerate(results.items()):
            if key in result.signals:
                sig = result.signals[key]
                top.plot(sig.times, sig.values[:, column], lw=1.0 if name == REFERENCE else 0.8, color=f"C{colour}",
                         ls="-" if name == REFERENCE else "--", label=name)
                if reference is not None and name != REFERENCE and key in reference.signals:
                    ref = reference.signals[key]
                    ia, ib = common_samples(ref.times, sig.times)
                    bottom.plot(ref.times[ia], sig.values[ib, column] - ref.values[ia, column], lw=0.8,
                                color=f"C{colour}", label=name)
        unit = next(r.signals[key].unit for r in results.values() if key in r.signals)
        top.set_ylabel(f"{key[0]}.{key[1]} ({unit})")
        top.legend(loc="upper right", fontsize="small", frameon=False)
        bottom.set_ylabel(f"minus reference ({unit})")
        bottom.set_xlabel("time (ms)")
        bottom.axhline(0, color="k", lw=0.5)
        if len(results) > 1:
            bottom.legend(loc="upper right", fontsize="small", frameon=False)
        failed = [c for c in comparison.checks if c.observable == f"{key[0]}.{key[1]}" and not c.passed]
        for c in failed:
            bottom.axvline(c.worst_time, color="r", lw=0.8, ls=":")
        cell = reference.signals[key].indices[0] if reference and key in reference.signals else 0
        top.set_title(f"{comparison.model.name}: {key[0]}.{key[1]} (cell {cell})")
        names.append(save_figure(fig, directory, safe_name(key[0], key[1], suffix=".png"), names))
    populations = list(dict.fromkeys(p for r in results.values() for p in r.spike_trains))
    for population in populations:
        fig, ax = plt.subplots(figsize=(9, 1.2 + 0.5 * len(results)))
        for row, (name, result) in enumerate(results.items()):
            if population not in result.spike_trains:
                continue
            trains = result.spike_trains[population]
            for index, train in enumerate(trains[:50]):
                y = row + 0.8 * index / max(len(trains[:50]), 1)
                ax.plot(train, np.full(len(train), y), "|", color=f"C{row}", ms=6)
        ax.set_yticks(range(len(results)), list(results))
        ax.set_xlabel("time (ms)")
        ax.set_title(f"{comparison.model.name}: {population} spikes")
        names.append(save_figure(fig, directory, safe_name(population, "spikes", suffix=".png"), names))
    return names


def save_figure(fig, directory: str | os.PathLike, name: str, taken: list[str]) -> str:
    """Save ``fig`` as ``name`` in ``directory`` (atomically; ``name-2.png`` ... if taken already)."""
    from ..plotting import plt

    stem, count = name[: -len(".png")], 1
    while name in taken:
        count += 1
        name = f"{stem}-{count}.png"
    fig.tight_layout()
    try:
        with atomic_file(inside(directory, name)) as handle:
            fig.savefig(handle, format="png", dpi=100)
    finally:
        plt.close(fig)
    return name
