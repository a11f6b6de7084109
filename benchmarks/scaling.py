"""Scaling: the E/I network (benchmarks/models/ei_network.py) at N = 1k, 4k, 16k, 64k neurons on each
backend, or the basal-ganglia network (models/bg_healthy.yaml, ``--model bg``) at scale 0.1, 0.5, 1,
through bridge and through the native scripts (warm caches, alternating, fresh processes).

Before each size the memory and time of every run are extrapolated from the sizes already measured
(linear in the number of synapses, fitted per backend and kind); a size whose estimate exceeds
``--max-mem-gib`` or ``--max-run-s`` is skipped with the reason recorded, rather than crashing or
monopolising the (shared) machine.  Repeats fall with N (``--repeats 3,2,1,1``).

    python benchmarks/scaling.py [--sizes 1000,4000,16000,64000] [--backends nest,neuron,brian2]
                                 [--repeats 3,2,1,1] [--max-mem-gib 9] [--max-run-s 600]
    python benchmarks/scaling.py --model bg --sizes 0.1,0.5,1 --backends neuron,brian2 --duration 100
                                 --repeats 3,1,1 --out bg_scaling

Writes benchmarks/results/scaling.json (or OUT.json), scaling.png and scaling.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from _bench import RESULTS, log, machine, markdown_table, median, run_one, save_results, write_json

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
import bg_network  # noqa: E402
from ei_network import PARAMS  # noqa: E402

KEYS = ("setup_total_s", "simulate_s", "wall_s", "maxrss_mib")
#: the size of the warm-up run (compiles everything once, outside the measurements)
WARM_UP = {"ei": 1000, "bg": 0.02}


def expected_synapses(model: str, size: float) -> float:
    """Mean number of recurrent synapses: E/I with ``size`` neurons, or BG at scale ``size``."""
    return bg_network.expected_synapses(size) if model == "bg" else PARAMS["p"] * size * size


def extrapolate(points: list[tuple[float, float]], synapses: float) -> float | None:
    """Linear fit y = a + b*synapses through the measured points (one point: through the origin's slope)."""
    if not points:
        return None
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    if len(points) == 1:
        return float(ys[0] * synapses / xs[0])
    b, a = np.polyfit(xs, ys, 1)
    return float(a + b * synapses)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("ei", "bg"), default="ei")
    parser.add_argument("--sizes", default=None, help="neurons (ei; default 1000,4000,16000,64000) or scales "
                        "(bg; default 0.1,0.5,1)")
    parser.add_argument("--duration", type=float, default=100.0, help="simulated ms of the bg model (ei: 1 s)")
    parser.add_argument("--backends", default="nest,neuron,brian2")
    parser.add_argument("--repeats", default="3,2,1,1")
    parser.add_argument("--max-mem-gib", type=float, default=9.0)
    parser.add_argument("--max-run-s", type=float, default=600.0)
    parser.add_argument("--out", default="scaling")
    parser.add_argument("--merge", action="store_true",
                        help="replace only the measured backends' entries of an existing results file")
    args = parser.parse_args()
    sizes = [float(s) if args.model == "bg" else int(s)
             for s in (args.sizes or {"ei": "1000,4000,16000,64000", "bg": "0.1,0.5,1"}[args.model]).split(",")]
    repeats = [int(r) for r in args.repeats.split(",")]
    before = machine()
    results: dict = {}
    if args.merge and (RESULTS / f"{args.out}.json").exists():
        import json

        old = json.loads((RESULTS / f"{args.out}.json").read_text())["results"]
        results = {k: v for k, v in old.items() if v["backend"] not in args.backends.split(",")}
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as warm:
        for backend in args.backends.split(","):
            for kind in ("bridge", "native"):  # compile once, outside the measurements
                log(f"{backend} warm-up {kind}")
                run_one(kind, backend, args.model, WARM_UP[args.model], f"{warm}/{backend}-{kind}",
                        duration_ms=args.duration)
            history = {"bridge": [], "native": []}
            for size, count in zip(sizes, repeats + [repeats[-1]] * len(sizes)):
                key = f"{backend}/{size}"
                synapses = expected_synapses(args.model, size)
                estimate = {kind: {"maxrss_mib": extrapolate([(s, r["maxrss_mib"]) for s, r in history[kind]], synapses),
                                   "wall_s": extrapolate([(s, r["wall_s"]) for s, r in history[kind]], synapses)}
                            for kind in history}
                reasons = []
                for kind, est in estimate.items():
                    if est["maxrss_mib"] and est["maxrss_mib"] / 1024 > args.max_mem_gib:
                        reasons.append(f"{kind}: estimated peak memory {est['maxrss_mib'] / 1024:.1f} GiB "
                                       f"> {args.max_mem_gib} GiB allowed on this shared machine")
                    if est["wall_s"] and est["wall_s"] > args.max_run_s:
                        reasons.append(f"{kind}: estimated {est['wall_s']:.0f} s per run > {args.max_run_s:.0f} s")
                if reasons:
                    log(f"{key}: skipped: {'; '.join(reasons)}")
                    results[key] = {"backend": backend, "n": size, "synapses_expected": synapses,
                                    "skipped": "; ".join(reasons), "estimate": estimate}
                    write_json(f"{args.out}.json", {"machine": before, "args": vars(args), "results": results})
                    continue
                runs = {"bridge": [], "native": []}
                for i in range(count):
                    for kind in (("bridge", "native") if i % 2 == 0 else ("native", "bridge")):
                        log(f"{key} {kind} {i + 1}/{count}")
                        runs[kind].append(run_one(kind, backend, args.model, size, f"{warm}/{backend}-{kind}",
                                                  timeout=3 * args.max_run_s, duration_ms=args.duration))
                summary = {kind: {k: median(runs[kind], k) for k in KEYS + ("synapses", "spikes")} for kind in runs}
                for kind in runs:
                    history[kind].append((summary[kind]["synapses"], summary[kind]))
                b, n = summary["bridge"], summary["native"]
                results[key] = {"backend": backend, "n": size, "repeats": count, "runs": runs, "summary": summary,
                                "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                                "estimate_before": estimate,
                                "sim_ratio": b["simulate_s"] / n["simulate_s"],
                                "setup_overhead_s": b["setup_total_s"] - n["setup_total_s"],
                                "setup_allowed_s": max(0.5, 0.1 * n["setup_total_s"]),
                                "mem_ratio": b["maxrss_mib"] / n["maxrss_mib"],
                                "wall_ratio": b["wall_s"] / n["wall_s"],
                                "bytes_per_synapse": {k: summary[k]["maxrss_mib"] * 2**20 / summary[k]["synapses"]
                                                      for k in summary}}
                write_json(f"{args.out}.json", {"machine": before, "args": vars(args), "results": results})
    text = table(results)
    print(text)
    save_results(args.out, before, args, results, text,
                 lambda res, path: plot(res, path, args.model, args.duration))
    return 0


def table(results: dict) -> str:
    headers = ["backend", "N or scale", "synapses", "repeats", "wall bridge s", "wall native s", "setup bridge s",
               "setup native s", "sim bridge s", "sim native s", "sim ratio", "RSS bridge MiB", "RSS native MiB",
               "mem ratio", "note"]
    rows = []
    for r in results.values():
        if "skipped" in r:
            rows.append([r["backend"], r["n"], f"{r['synapses_expected']:.3g}", 0] + [None] * 10 + [r["skipped"]])
            continue
        b, n = r["summary"]["bridge"], r["summary"]["native"]
        rows.append([r["backend"], r["n"], f"{b['synapses']:.3g}", r["repeats"], b["wall_s"], n["wall_s"],
                     b["setup_total_s"], n["setup_total_s"], b["simulate_s"], n["simulate_s"], r["sim_ratio"],
                     b["maxrss_mib"], n["maxrss_mib"], r["mem_ratio"], ""])
    return markdown_table(headers, rows)


def plot(results: dict, path, model: str = "ei", duration_ms: float = 1000.0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    colours = {"nest": "C0", "neuron": "C1", "brian2": "C2"}
    for backend, colour in colours.items():
        done = [r for r in results.values() if r["backend"] == backend and "summary" in r]
        if not done:
            continue
        ns = [r["n"] for r in done]
        for ax, key, label in zip(axes, ("wall_s", "simulate_s", "maxrss_mib"),
                                  ("wall time s (whole run)", "simulation time s", "peak RSS MiB")):
            ax.plot(ns, [r["summary"]["bridge"][key] for r in done], "o-", color=colour, label=f"{backend} bridge")
            ax.plot(ns, [r["summary"]["native"][key] for r in done], "s--", color=colour, label=f"{backend} native")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("scale (1 = 80 000 cells)" if model == "bg" else "N neurons")
            ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    title = (f"basal-ganglia network ({duration_ms:g} ms)" if model == "bg" else "E/I network scaling (p = 0.1, 1 s)")
    fig.suptitle(f"{title}: bridge (solid) vs native scripts (dashed)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
