"""Adapter overhead: each backend runs the same model through bridge and through a hand-written
native script (``benchmarks/native/``), alternating, in the same session.

Models: ``tsodyks`` (models/tsodyks_depression.yaml) and ``ei`` (benchmarks/models/ei_network.py,
N neurons, 1 s).  For each (backend, model): ``--cold`` runs of each kind with an empty cache
directory (code generation and compilation included), then one unmeasured warm-up of each, then
``--repeats`` warm runs of each, bridge and native alternating (the one going first alternates too).
Every run is a fresh process; reported: setup (process wall time minus simulation time: interpreter,
imports, model building, code generation, compilation, results), simulation time, peak RSS of the
simulating process, and how many files a warm run added to the cache (must be 0).

    python benchmarks/overhead.py [--backends nest,neuron,brian2] [--models tsodyks,ei] [--n 1000]
                                  [--repeats 5] [--cold 1]

Writes benchmarks/results/overhead.json, overhead.png and the overhead section of results/README.md.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

from _bench import RESULTS, log, machine, markdown_table, median, run_one, save_results, write_json

SIM_TARGET, MEM_TARGET, SETUP_ABS, SETUP_REL = 1.05, 1.10, 0.5, 0.10


def summarise(bridge: list[dict], native: list[dict]) -> dict:
    """Medians of both kinds and the ratios the issue sets targets for."""
    b = {k: median(bridge, k) for k in ("setup_total_s", "simulate_s", "maxrss_mib", "wall_s", "setup_s",
                                         "parent_maxrss_mib", "load_s")}
    n = {k: median(native, k) for k in ("setup_total_s", "simulate_s", "maxrss_mib", "wall_s", "setup_s")}
    overhead = b["setup_total_s"] - n["setup_total_s"]
    allowed = max(SETUP_ABS, SETUP_REL * n["setup_total_s"])
    out = {"bridge": b, "native": n, "sim_ratio": b["simulate_s"] / n["simulate_s"],
           "setup_overhead_s": overhead, "setup_allowed_s": allowed,
           "mem_ratio": b["maxrss_mib"] / n["maxrss_mib"], "wall_ratio": b["wall_s"] / n["wall_s"]}
    out["meets"] = {"simulation": out["sim_ratio"] <= SIM_TARGET, "setup": overhead <= allowed,
                    "memory": out["mem_ratio"] <= MEM_TARGET}
    return out


def measure(backend: str, model: str, n: int, repeats: int, cold: int, warm_dir: str) -> dict:
    entry: dict = {"cold": {"bridge": [], "native": []}, "warm": {"bridge": [], "native": []}}
    for i in range(cold):
        order = ("bridge", "native") if i % 2 == 0 else ("native", "bridge")
        for kind in order:
            with tempfile.TemporaryDirectory(prefix=f"bench-cold-{kind}-{backend}-") as cache:
                log(f"{backend} {model} cold {kind} {i + 1}/{cold}")
                entry["cold"][kind].append(run_one(kind, backend, model, n, cache))
    for kind in ("bridge", "native"):  # fill the warm cache (not measured)
        log(f"{backend} {model} warm-up {kind}")
        run_one(kind, backend, model, n, f"{warm_dir}/{kind}")
    for i in range(repeats):
        order = ("bridge", "native") if i % 2 == 0 else ("native", "bridge")
        for kind in order:
            log(f"{backend} {model} warm {kind} {i + 1}/{repeats}")
            entry["warm"][kind].append(run_one(kind, backend, model, n, f"{warm_dir}/{kind}"))
    entry["warm_summary"] = summarise(entry["warm"]["bridge"], entry["warm"]["native"])
    entry["cold_summary"] = summarise(entry["cold"]["bridge"], entry["cold"]["native"]) if cold else None
    entry["warm_compiled_nothing"] = all(r["new_cache_files"] == 0 for k in ("bridge", "native")
                                         for r in entry["warm"][k])
    return entry


def table(results: dict) -> str:
    headers = ["backend", "model", "cache", "setup bridge s", "setup native s", "overhead s (allowed)",
               "sim bridge s", "sim native s", "sim ratio", "RSS bridge MiB", "RSS native MiB", "mem ratio",
               "warm compiles nothing", "targets missed"]
    rows = []
    for key, entry in results.items():
        backend, model = key.split("/")
        for cache in ("cold", "warm"):
            s = entry.get(f"{cache}_summary")
            if not s:
                continue
            missed = [k for k, ok in s["meets"].items() if not ok]
            rows.append([backend, model, cache, s["bridge"]["setup_total_s"], s["native"]["setup_total_s"],
                         f"{s['setup_overhead_s']:.2f} ({s['setup_allowed_s']:.2f})", s["bridge"]["simulate_s"],
                         s["native"]["simulate_s"], s["sim_ratio"], s["bridge"]["maxrss_mib"],
                         s["native"]["maxrss_mib"], s["mem_ratio"],
                         ("yes" if entry["warm_compiled_nothing"] else "NO") if cache == "warm" else "",
                         ", ".join(missed) or "none"])
    return markdown_table(headers, rows)


def plot(results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    keys = list(results)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    x = np.arange(len(keys))
    for ax, (metric, label) in zip(axes, [("setup_total_s", "setup s (warm)"), ("simulate_s", "simulation s (warm)"),
                                          ("maxrss_mib", "peak RSS MiB (warm)")]):
        b = [results[k]["warm_summary"]["bridge"][metric] for k in keys]
        n = [results[k]["warm_summary"]["native"][metric] for k in keys]
        ax.bar(x - 0.2, b, 0.4, label="bridge")
        ax.bar(x + 0.2, n, 0.4, label="native")
        ax.set_xticks(x, keys, rotation=30, ha="right")
        ax.set_ylabel(label)
        ax.set_yscale("log")
        ax.legend()
    fig.suptitle("Adapter overhead: bridge vs native scripts (median of warm repeats)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="nest,neuron,brian2")
    parser.add_argument("--models", default="tsodyks,ei")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold", type=int, default=1)
    parser.add_argument("--out", default="overhead")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other (backend, model) entries of an existing results file")
    args = parser.parse_args()
    before = machine()
    results = {}
    if args.merge and (RESULTS / f"{args.out}.json").exists():
        import json

        results = json.loads((RESULTS / f"{args.out}.json").read_text())["results"]
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as warm:
        for backend in args.backends.split(","):
            for model in args.models.split(","):
                results[f"{backend}/{model}"] = measure(backend, model, args.n, args.repeats, args.cold,
                                                        f"{warm}/{backend}")
                results[f"{backend}/{model}"]["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
                write_json(f"{args.out}.json", {"machine": before, "args": vars(args), "results": results})
    text = table(results)
    print(text)
    save_results(args.out, before, args, results, text, plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
