"""Spine model (issue #9, item 4): the full 4xHFS protocol (models/spine_4xhfs.yaml: 204 species,
262 reactions, 5000 s) on NEURON (generated KINETIC mechanism, compiled .mod, CVODE) and on the
reference solver (SciPy BDF, sparse analytic Jacobian), each run a fresh process.

For each backend: ``--cold`` runs with an empty cache directory (NEURON only: it generates and
compiles the mechanism; the reference compiles nothing, so its cold run would only repeat a warm one
at a minute each), then one unmeasured NEURON warm-up filling the shared warm cache, then
``--repeats`` warm runs of each backend, alternating (the one going first alternates too).  The
reference takes about a minute per run and NEURON about 10 s, so the default of 3 repeats costs
about 4 minutes; both solvers are deterministic (the repeats give identical traces, checked below),
so the repeats only measure timing noise on a shared machine.

Every run is ``python benchmarks/spine.py --run BACKEND MODEL`` in a fresh process: it loads the model
and calls ``bridge.simulate`` (which runs the backend in its own worker process) and prints one
``SPINE {json}`` line.  Reported per backend (median of the warm repeats): the process wall time,
the backend's own set-up and simulation times (``result.metadata``: NEURON ``setup_s`` = generating,
compiling or loading the mechanism and instantiating it, ``compile_s``, ``compiled``; reference
``setup_s`` = 0, the integration is all of ``simulate_s``), everything but the simulation
(wall - simulate), the peak RSS of the worker process and how many files a warm run added to the
cache (must be 0).  Agreement: g_ampa (pS) just before the protocol (t = 4040 s) and at the end
(5000 s) with its relative change on each backend, and max |NEURON - reference| of g_ampa over the
5000 s as a fraction of the reference's range.

No run time of the original implementation is listed: the repository holds no source for one.

    python benchmarks/spine.py [--backends neuron,reference] [--repeats 3] [--cold 1]

Writes benchmarks/results/spine.json, spine.png and spine.md (the Spine model section of
results/README.md, via report.py).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

from _bench import PYTHON, ROOT, log, machine, markdown_table, median, run_measured, save_results

MODEL = ROOT / "models" / "spine_4xhfs.yaml"
ONSET_MS = 4_040_000  # protocol onset (first train) in models/spine_4xhfs.yaml
TAG = "SPINE "


def run_child(backend: str, model_path: str) -> int:
    """Child mode: one run as a user would do it; prints one ``SPINE {json}`` line."""
    import resource

    started = time.perf_counter()
    import bridge

    model = bridge.load(model_path)
    loaded = time.perf_counter()
    result = bridge.simulate(model, backend)
    finished = time.perf_counter()
    t, g = result.signal("spine", "g_ampa")
    meta = {k: v for k, v in result.metadata.items() if isinstance(v, (bool, int, float, str)) or v is None}
    record = {"setup_s": meta.get("setup_s"), "simulate_s": meta.get("simulate_s"), "worker_wall_s": meta.get("wall_s"),
              "compiled": meta.get("compiled"), "compile_s": meta.get("compile_s"), "load_s": loaded - started,
              "simulate_call_s": finished - loaded, "metadata": meta,
              "maxrss_mib": meta.get("maxrss_mib"),  # the worker's own peak (see bridge_run.py)
              "descendants_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
              "parent_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
              "t_ms": [float(x) for x in t], "g_ampa_pS": [float(x) for x in g.ravel()]}
    print(TAG + json.dumps(record), flush=True)
    return 0


def run_one(backend: str, cache: str) -> dict:
    """One run of ``spine.py --run BACKEND`` in a fresh process with BRIDGE_CACHE_DIR = ``cache``."""
    return run_measured([PYTHON, str(ROOT / "benchmarks" / "spine.py"), "--run", backend, str(MODEL)], TAG, cache)


def g_ampa_change(record: dict) -> dict:
    """g_ampa at the protocol onset and at the end, and the relative change."""
    import numpy as np

    t, g = np.asarray(record["t_ms"]), np.asarray(record["g_ampa_pS"])
    before = float(g[np.searchsorted(t, ONSET_MS)])
    return {"t_before_ms": float(t[np.searchsorted(t, ONSET_MS)]), "t_end_ms": float(t[-1]),
            "before_pS": before, "end_pS": float(g[-1]), "change": float(g[-1] / before - 1)}


def max_deviation(a: dict, b: dict) -> float:
    """max |a - b| of g_ampa as a fraction of b's range (same sample times required)."""
    import numpy as np

    assert a["t_ms"] == b["t_ms"], "different sample times"
    ga, gb = np.asarray(a["g_ampa_pS"]), np.asarray(b["g_ampa_pS"])
    return float(np.max(np.abs(ga - gb)) / np.ptp(gb))


def summarise(runs: list[dict]) -> dict:
    keys = ("wall_s", "setup_s", "simulate_s", "setup_total_s", "compile_s", "maxrss_mib", "parent_maxrss_mib",
            "load_s", "worker_wall_s", "load_average")
    return {k: median(runs, k) for k in keys}


def code_state() -> dict:
    """The commit measured and the files of bridge/ that differed from it (the tree is shared)."""
    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], capture_output=True, text=True, cwd=str(ROOT)).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "modified": git("status", "--porcelain", "--", "bridge").splitlines()}


def table(results: dict) -> str:
    headers = ["backend", "cache", "runs", "process wall s", "backend setup s", "simulate s", "wall - simulate s",
               "peak RSS MiB", "compiled / new cache files", "g_ampa 4040 s -> 5000 s (pS)", "change"]
    rows = []
    for backend, entry in results["backends"].items():
        for cache in ("cold", "warm"):
            runs = entry[cache]
            if not runs:
                continue
            s = entry[f"{cache}_summary"]
            files = sorted({r["new_cache_files"] for r in runs})
            compiled = sorted({str(r["compiled"]).lower() for r in runs if r["compiled"] is not None})
            g = entry["g_ampa"]
            rows.append([backend, cache, len(runs), s["wall_s"], s["setup_s"], s["simulate_s"], s["setup_total_s"],
                         s["maxrss_mib"], f"{'/'.join(compiled) or '—'} / {','.join(map(str, files))}",
                         f"{g['before_pS']:.2f} -> {g['end_pS']:.2f}", f"{100 * g['change']:+.1f} %"])
    text = markdown_table(headers, rows)
    agreement = results.get("agreement")
    if agreement:
        text += (f"\n\nAgreement: max |NEURON - reference| of g_ampa over the 5000 s = "
                 f"{agreement['g_ampa_max_deviation_of_range']:.2e} of the reference's range; repeats identical: "
                 + ", ".join(f"{b} {'yes' if e['repeats_identical'] else 'NO'}"
                             for b, e in results["backends"].items()) + ".")
    return text


def plot(results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    backends = list(results["backends"])
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    ax = axes[0]
    x = np.arange(len(backends))
    parts = [("setup_total_s", "wall - simulate (start, imports, set-up, results)"), ("simulate_s", "simulate")]
    bottom = np.zeros(len(backends))
    for key, label in parts:
        values = np.array([results["backends"][b]["warm_summary"][key] for b in backends])
        ax.bar(x, values, 0.5, bottom=bottom, label=label)
        bottom += values
    for i, b in enumerate(backends):
        walls = [r["wall_s"] for r in results["backends"][b]["warm"]]
        ax.plot([i] * len(walls), walls, "k.", label="process wall, each run" if i == 0 else None)
    ax.set_xticks(x, [f"{b} (warm)" for b in backends])
    ax.set_ylabel("seconds (median of warm runs)")
    ax.set_title("Full 4xHFS (5000 s): wall time per run")
    ax.legend(fontsize=8)
    ax = axes[1]
    first = {b: results["backends"][b]["warm"][0] for b in backends}
    for b, style in zip(backends, ("-", "--", ":")):
        t = np.asarray(first[b]["t_ms"]) / 1000
        ax.plot(t, first[b]["g_ampa_pS"], style, label=b)
    ax.set_xlim(4000, 5000)
    ax.axvline(ONSET_MS / 1000, color="grey", lw=0.5)
    ax.set_xlabel("t (s)")
    ax.set_ylabel("g_ampa (pS)")
    ax.set_title("g_ampa around the protocol (onset 4040 s)")
    ax.legend()
    ax = axes[2]
    if {"neuron", "reference"} <= set(backends):
        t = np.asarray(first["reference"]["t_ms"]) / 1000
        r, n = np.asarray(first["reference"]["g_ampa_pS"]), np.asarray(first["neuron"]["g_ampa_pS"])
        ax.semilogy(t, np.abs(n - r) / np.ptp(r) + 1e-18)
        ax.set_xlabel("t (s)")
        ax.set_ylabel("|NEURON - reference| / range of g_ampa")
        ax.set_title("Agreement over the whole run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    if sys.argv[1:2] == ["--run"]:  # child mode: spine.py --run BACKEND MODEL
        return run_child(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="neuron,reference")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs of each backend")
    parser.add_argument("--cold", type=int, default=1, help="runs with an empty cache (NEURON only)")
    parser.add_argument("--out", default="spine")
    args = parser.parse_args()
    before, code = machine(), code_state()
    backends = args.backends.split(",")
    entries = {b: {"cold": [], "warm": []} for b in backends}
    if "neuron" in backends:
        for i in range(args.cold):
            with tempfile.TemporaryDirectory(prefix="bench-spine-cold-") as cache:
                log(f"neuron cold {i + 1}/{args.cold}")
                entries["neuron"]["cold"].append(run_one("neuron", cache))
    with tempfile.TemporaryDirectory(prefix="bench-spine-warm-") as warm:
        log("warm-up neuron (fills the cache; not measured)")
        run_one("neuron" if "neuron" in backends else backends[0], warm)
        for i in range(args.repeats):
            for backend in (backends if i % 2 == 0 else backends[::-1]):
                log(f"{backend} warm {i + 1}/{args.repeats}")
                entries[backend]["warm"].append(run_one(backend, warm))
    for backend, entry in entries.items():
        runs = entry["warm"]
        entry["warm_summary"] = summarise(runs)
        entry["cold_summary"] = summarise(entry["cold"]) if entry["cold"] else None
        entry["warm_compiled_nothing"] = all(r["new_cache_files"] == 0 and not r["compiled"] for r in runs)
        entry["g_ampa"] = g_ampa_change(runs[0])
        entry["repeats_identical"] = all(r["g_ampa_pS"] == runs[0]["g_ampa_pS"] for r in entry["cold"] + runs)
    results = {"model": str(MODEL.relative_to(ROOT)), "backends": entries, "code": code,
               "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    if {"neuron", "reference"} <= set(backends):
        results["agreement"] = {"g_ampa_max_deviation_of_range": max_deviation(entries["neuron"]["warm"][0],
                                                                                 entries["reference"]["warm"][0])}
    text = table(results)
    print(text)
    save_results(args.out, before, args, results, text, plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
