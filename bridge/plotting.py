"""Plots of results (matplotlib, Agg backend: works without a display)."""
from __future__ import annotations

import os
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .outputs import atomic_file  # noqa: E402
from .result import Result  # noqa: E402


def plot_results(results: Sequence[Result], path: str | os.PathLike, title: str | None = None) -> None:
    """Draw every recorded signal (one panel each) and spike raster of ``results`` overlaid, to ``path``."""
    keys = list(dict.fromkeys(k for r in results for k in r.signals))
    rasters = list(dict.fromkeys(p for r in results for p in r.spike_trains))
    panels = len(keys) + len(rasters)
    fig, axes = plt.subplots(max(panels, 1), 1, figsize=(9, 2.2 * max(panels, 1) + 0.6), sharex=True, squeeze=False)
    axes = axes[:, 0]
    for ax, (owner, variable) in zip(axes, keys):
        for r in results:
            if (owner, variable) not in r.signals:
                continue
            sig = r.signals[(owner, variable)]
            for column, index in enumerate(sig.indices[:5]):
                label = r.backend if len(sig.indices) == 1 else f"{r.backend} [{index}]"
                ax.plot(sig.times, sig.values[:, column], lw=1, label=label)
            ax.set_ylabel(f"{owner}.{variable}\n({sig.unit})")
        ax.legend(loc="upper right", fontsize="small", frameon=False)
    for ax, population in zip(axes[len(keys):], rasters):
        for row, r in enumerate(results):
            if population not in r.spike_trains:
                continue
            for index, train in enumerate(r.spike_trains[population]):
                y = row + index / max(len(r.spike_trains[population]), 1) * 0.8
                ax.plot(train, [y] * len(train), "|", ms=8, label=r.backend if index == 0 else None)
        ax.set_ylabel(f"{population}\nspikes")
        ax.set_yticks([])
        ax.legend(loc="upper right", fontsize="small", frameon=False)
    axes[-1].set_xlabel("time (ms)")
    fig.suptitle(title or (results[0].model if results else ""))
    fig.tight_layout()
    try:
        with atomic_file(path) as handle:
            fig.savefig(handle, format="png", dpi=110)
    finally:
        plt.close(fig)
