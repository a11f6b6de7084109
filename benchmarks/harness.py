"""Harness: ``bridge compare`` on three backends (nest, neuron, brian2; plus the reference) against
each backend run alone with ``bridge run``; warm caches, every command a fresh process, alternating,
``--repeats`` times.  The target: compare's wall time <= 1.2x the slowest single backend.

``compare`` is the normal repeated comparison, which reuses the cached reference result of the
warm-up run (the reference is deterministic; see bridge/harness/reference_cache.py);
``compare, reference rerun`` passes ``--rerun-reference`` and so runs all four processes.

    python benchmarks/harness.py [--models models/tsodyks_depression.yaml,models/cond_lif_poisson_tm.yaml]
                                 [--repeats 3]

Writes benchmarks/results/harness.json, harness.png and harness.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _bench import ROOT, log, machine, markdown_table, save_results

BRIDGE = os.path.join(os.path.dirname(sys.executable), "bridge")
BACKENDS = ("nest", "neuron", "brian2")


def timed(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(ROOT))
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: backends disagree, still a complete run
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="models/tsodyks_depression.yaml,models/cond_lif_poisson_tm.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="harness")
    args = parser.parse_args()
    before = machine()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-harness-") as cache:
        env = dict(os.environ, BRIDGE_CACHE_DIR=cache)
        for model in args.models.split(","):
            compare = [BRIDGE, "compare", model, "--backends", ",".join(BACKENDS)]
            commands = {"compare": compare, "compare_rerun": compare + ["--rerun-reference"],
                        **{b: [BRIDGE, "run", model, "--backend", b] for b in BACKENDS + ("reference",)}}
            log(f"{model}: warm-up")
            timed(compare, env)
            runs: dict[str, list[float]] = {what: [] for what in commands}
            for i in range(args.repeats):
                order = list(commands) if i % 2 == 0 else list(reversed(commands))
                for what in order:
                    log(f"{model}: {what} {i + 1}/{args.repeats}")
                    runs[what].append(timed(commands[what], env))
            medians = {k: statistics.median(v) for k, v in runs.items()}
            slowest = max(BACKENDS, key=lambda b: medians[b])
            results[model] = {"runs": runs, "median_s": medians, "slowest_backend": slowest,
                              "ratio_to_slowest": medians["compare"] / medians[slowest],
                              "rerun_ratio_to_slowest": medians["compare_rerun"] / medians[slowest],
                              "sum_of_singles_s": sum(medians[b] for b in BACKENDS + ("reference",)),
                              "meets": medians["compare"] / medians[slowest] <= 1.2}
    headers = ["model", "compare s", "compare, reference rerun s", "nest s", "neuron s", "brian2 s", "reference s",
               "slowest alone", "compare / slowest", "rerun / slowest", "sum of singles s", "target <= 1.2"]
    rows = [[m, r["median_s"]["compare"], r["median_s"]["compare_rerun"], r["median_s"]["nest"],
             r["median_s"]["neuron"], r["median_s"]["brian2"], r["median_s"]["reference"], r["slowest_backend"],
             r["ratio_to_slowest"], r["rerun_ratio_to_slowest"], r["sum_of_singles_s"],
             "met" if r["meets"] else "MISSED"] for m, r in results.items()]
    text = markdown_table(headers, rows)
    print(text)
    save_results(args.out, before, args, results, text, plot)
    return 0


def plot(results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = ["compare", "compare_rerun", *BACKENDS, "reference"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(len(labels))
    for k, (model, r) in enumerate(results.items()):
        ax.bar(x + (k - 0.5) * 0.4, [r["median_s"][label] for label in labels], 0.4, label=os.path.basename(model))
    ax.set_xticks(x, ["bridge compare\n(3 + cached ref.)", "compare\n--rerun-reference",
                      *(f"bridge run\n{b}" for b in BACKENDS), "bridge run\nreference"])
    ax.set_ylabel("wall time s (median)")
    ax.legend()
    ax.set_title("bridge compare vs each backend alone")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
