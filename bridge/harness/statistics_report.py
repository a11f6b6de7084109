"""Reports of a statistical comparison (:mod:`.ensemble`): the terminal table, ``report.json`` and PNGs.

``report.json`` (schema 1, ``"kind": "statistics"``)::

    {"schema": 1, "kind": "statistics", "model": str, "source": str, "verdict": str, "passed": bool,
     "exit_code": int, "explanation": [str], "required": [str], "wall_s": float,
     "ensemble": str, "seeds": [int], "alpha": float, "tests": int,
     "window_ms": [start, stop], "bands_hz": {name: [low, high]},
     "backends": {name: {"status": "ok" | "unsupported" | "failed", "reason": str, "run_s": [float]}},
     "rows": [{"backend", "against", "population", "statistic", "unit", "verdict", "reason",
               "values": [float | null per seed], "ensemble": [...], "mean", "sd", "ensemble_mean",
               "ensemble_sd", "difference", "band", "limit", "p_value", "note",
               "effect": {"relative_difference", "cohen_d", "ks_statistic", "ks_p", "wasserstein",
                          "samples", "spectral_distance_db", "ensemble_seed_distance_db"}}],
     "spread": {backend: {population: {statistic: {"mean", "sd", "n", "values"}}}},
     "plots": [file names]}

Plots: per population ``<population>.statistics.png`` (per-cell rate and ISI-CV histograms of all
seeds, the seed-mean population-rate spectra with their seed-to-seed spread and the bands, a raster
of the first seed per backend) and ``verdicts.png`` (every judged difference against its limit).
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

from ..outputs import atomic_file, inside, safe_name
from .ensemble import AGREE, DISAGREE, NOT_ENOUGH, StatisticalComparison
from .report import save_figure
from .statistics import statistic_names

SCHEMA_VERSION = 1


def _num(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.{digits}g}"


def _spread(mean: float | None, sd: float | None) -> str:
    return "—" if mean is None else f"{_num(mean)} ± {_num(sd, 2)}"


def table(comparison: StatisticalComparison) -> str:
    """One line per (backend, population, statistic), each backend's seed mean ± SD beside the
    ensemble's, the difference, its limit and the verdict; then the backends not compared and why."""
    c = comparison
    lines = [f"{c.model.name}: {c.verdict} ({c.wall_s:.1f} s; {len(c.seeds)} seeds {c.seeds[0]}..{c.seeds[-1]}, "
             f"window {c.spec.start:g}-{c.spec.stop:g} ms; ensemble {c.ensemble})",
             f"  rule: |mean - ensemble mean| <= t(1 - {c.alpha:g}/(2 x {c.tests}), n1 + n2 - 2) x pooled seed SD x "
             f"sqrt(1/n1 + 1/n2) [+ atol + rtol x |ensemble mean|]: family-wise false-alarm rate {c.alpha:g}"]
    header = (f"  {'backend':<9} {'population':<11} {'statistic':<12} {'unit':<4} {c.ensemble + ' (ensemble)':>22} "
              f"{'backend':>18} {'difference':>11} {'limit':>9} {'p':>8}  result")
    lines.append(header)
    for r in c.rows:
        result = {AGREE: "agree", DISAGREE: "DISAGREE", NOT_ENOUGH: "NOT ENOUGH DATA"}[r.verdict]
        tail = f"  ({r.reason})" if r.verdict == NOT_ENOUGH else (f"  note: {r.note}" if r.note else "")
        lines.append(f"  {r.backend:<9} {r.population:<11} {r.statistic:<12} {r.unit:<4} "
                     f"{_spread(r.ensemble_mean, r.ensemble_sd):>22} {_spread(r.mean, r.sd):>18} "
                     f"{_num(r.difference):>11} {_num(r.limit):>9} {_num(r.p_value, 2):>8}  {result}{tail}")
    for name, reason in c.unsupported.items():
        lines.append(f"  {name:<9} unsupported: {reason}")
    for name, message in c.failed.items():
        lines.append(f"  {name:<9} FAILED: {message.splitlines()[0]}")
    if c.verdict != "AGREE":
        lines += [f"  {reason}" for reason in c.explanation()[:20]]
    return "\n".join(lines)


def spread(comparison: StatisticalComparison) -> dict:
    """Each backend's seed-to-seed spread of every statistic: backend -> population -> statistic ->
    {mean, sd, n, values} (the report's ``spread`` block; the ensemble's is the bound)."""
    out: dict = {}
    for backend, runs in comparison.measured.items():
        for population, measures in comparison.spec.populations.items():
            for statistic in statistic_names(comparison.spec, measures):
                values = [runs[s][population].measured[statistic].value if s in runs else None
                          for s in comparison.seeds]
                present = [v for v in values if v is not None]
                out.setdefault(backend, {}).setdefault(population, {})[statistic] = {
                    "mean": float(np.mean(present)) if present else None,
                    "sd": float(np.std(present, ddof=1)) if len(present) > 1 else None,
                    "n": len(present), "values": values}
    return out


def to_json(comparison: StatisticalComparison, plots: list[str] | None = None) -> dict:
    c = comparison
    backends = {name: {"status": "ok", "reason": "", "run_s": c.run_seconds.get(name, [])} for name in c.measured}
    backends.update({n: {"status": "unsupported", "reason": r} for n, r in c.unsupported.items()})
    backends.update({n: {"status": "failed", "reason": r} for n, r in c.failed.items()})
    return {
        "schema": SCHEMA_VERSION, "kind": "statistics", "model": c.model.name, "source": c.model.source,
        "verdict": c.verdict, "passed": c.passed, "exit_code": c.exit_code, "explanation": c.explanation(),
        "required": list(c.required), "wall_s": c.wall_s, "ensemble": c.ensemble, "seeds": c.seeds,
        "alpha": c.alpha, "tests": c.tests, "window_ms": [c.spec.start, c.spec.stop],
        "bands_hz": {k: list(v) for k, v in c.spec.bands.items()}, "backends": backends,
        "rows": [{"backend": r.backend, "against": r.against, "population": r.population, "statistic": r.statistic,
                  "unit": r.unit, "verdict": r.verdict, "reason": r.reason, "values": r.values, "ensemble": r.ensemble,
                  "mean": r.mean, "sd": r.sd, "ensemble_mean": r.ensemble_mean, "ensemble_sd": r.ensemble_sd,
                  "difference": r.difference, "band": r.band, "limit": r.limit, "p_value": r.p_value,
                  "note": r.note, "effect": r.effect} for r in c.rows],
        "spread": spread(c),
        "plots": plots or [],
    }


def write(comparison: StatisticalComparison, directory: str | os.PathLike) -> list[str]:
    """Write ``report.json`` and the plots into ``directory`` (created); return the file names."""
    os.makedirs(directory, exist_ok=True)
    plots = plot(comparison, directory)
    with atomic_file(inside(directory, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(to_json(comparison, plots), handle, indent=2, default=_plain)
    return ["report.json"] + plots


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return float(value)


def plot(comparison: StatisticalComparison, directory: str | os.PathLike) -> list[str]:
    """The per-population figures and the verdict overview (see the module docstring)."""
    from ..plotting import plt

    names = []
    backends = [comparison.ensemble] + [b for b in comparison.measured if b != comparison.ensemble]
    backends = [b for b in backends if b in comparison.measured]
    colour = {b: f"C{i}" for i, b in enumerate(backends)}
    for population in comparison.spec.populations:
        fig, axes = plt.subplots(2, 2, figsize=(11, 7))
        _histogram(axes[0, 0], comparison, backends, colour, population, "rate", "firing rate (Hz)")
        _histogram(axes[0, 1], comparison, backends, colour, population, "cv", "ISI CV")
        _spectra(axes[1, 0], comparison, backends, colour, population)
        _raster(axes[1, 1], comparison, backends, colour, population)
        fig.suptitle(f"{comparison.model.name}: {population} ({len(comparison.seeds)} seeds per backend)")
        names.append(save_figure(fig, directory, safe_name(population, "statistics", suffix=".png"), names))
    names.append(_verdicts(comparison, directory))
    return names


def _histogram(ax, comparison, backends, colour, population, statistic, label) -> None:
    pooled = {}
    for b in backends:
        parts = [runs[population].measured[statistic].samples for runs in comparison.measured[b].values()
                 if statistic in runs[population].measured]
        pooled[b] = np.concatenate(parts) if parts else np.empty(0)
    values = np.concatenate(list(pooled.values())) if pooled else np.empty(0)
    if not values.size:
        ax.text(0.5, 0.5, f"no {statistic} data", ha="center", va="center", transform=ax.transAxes)
    else:
        edges = np.histogram_bin_edges(values, bins=30)
        for b, v in pooled.items():
            if v.size:
                ax.hist(v, bins=edges, histtype="step", color=colour[b], label=f"{b} ({v.size})", density=True)
        ax.legend(fontsize="small", frameon=False)
    ax.set_xlabel(label)
    ax.set_ylabel("density (all seeds' cells)")


def _spectra(ax, comparison, backends, colour, population) -> None:
    spec = comparison.spec
    drawn = False
    for b in backends:
        runs = [r[population] for r in comparison.measured[b].values() if r[population].power is not None]
        if not runs:
            continue
        f = runs[0].frequencies
        keep = (f > 0) & (f <= spec.max_frequency + 1e-9)
        power = np.array([r.power[keep] for r in runs])
        mean = power.mean(axis=0)
        ax.semilogy(f[keep], mean, color=colour[b], label=b)
        if len(runs) > 1:
            sd = power.std(axis=0, ddof=1)
            ax.fill_between(f[keep], np.maximum(mean - sd, mean * 1e-3), mean + sd, color=colour[b], alpha=0.2, lw=0)
        drawn = True
    for low, high in spec.bands.values():
        ax.axvspan(low, high, color="0.85", zorder=0)
    if drawn:
        ax.legend(fontsize="small", frameon=False)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("population-rate PSD (Hz²/Hz)")


def _raster(ax, comparison, backends, colour, population) -> None:
    seed = comparison.seeds[0]
    for row, b in enumerate(backends):
        run = comparison.measured[b].get(seed)
        if run is None:
            continue
        trains = run[population].raster
        for index, train in enumerate(trains):
            y = row + 0.9 * index / max(len(trains), 1)
            ax.plot(train, np.full(len(train), y), "|", color=colour[b], ms=3)
    ax.set_yticks(range(len(backends)), backends)
    ax.set_xlim(comparison.spec.start, comparison.spec.stop)
    ax.set_xlabel(f"time (ms), seed {seed}")


def _verdicts(comparison, directory) -> str:
    from ..plotting import plt

    rows = [r for r in comparison.rows if r.verdict != NOT_ENOUGH]
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.22 * max(len(rows), 1)))
    for i, r in enumerate(rows):
        ratio = r.difference / r.limit if r.limit else (0.0 if r.difference == 0 else math.copysign(2.0, r.difference))
        ax.plot([ratio], [i], "o", color="C3" if r.verdict == DISAGREE else "C2")
    ax.axvspan(-1, 1, color="0.9", zorder=0)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_yticks(range(len(rows)), [f"{r.backend} {r.population}.{r.statistic}" for r in rows], fontsize=7)
    ax.set_xlabel("difference of seed means / limit (inside ±1: agree)")
    ax.set_title(f"{comparison.model.name}: {comparison.verdict}")
    return save_figure(fig, directory, "verdicts.png", [])


__all__ = ["table", "to_json", "write", "spread"]
