"""Cold vs warm run time of the code-generating backends (NEURON mechanisms, Brian2 code).

For each backend: one run with an empty cache directory (cold: generates and compiles), then
``--repeats`` runs reusing it (warm: must compile nothing).  Each run is a fresh subprocess, as in
normal use.  Prints a table and writes ``benchmarks/results/cold_warm.json``.

    python benchmarks/cold_warm.py [--model models/tsodyks_depression.yaml] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_run(model_path: str, backend: str, cache: str) -> dict:
    os.environ["BRIDGE_CACHE_DIR"] = cache  # inherited by the backend subprocess
    import bridge

    started = time.perf_counter()
    result = bridge.simulate(bridge.load(model_path), backend)
    return {"wall_s": time.perf_counter() - started, "setup_s": result.metadata.get("setup_s"),
            "simulate_s": result.metadata.get("simulate_s")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "tsodyks_depression.yaml"))
    parser.add_argument("--backends", default="neuron,brian2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cold_warm.json"))
    args = parser.parse_args()
    rows = {}
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix=f"bridge-cold-{backend}-") as cache:
            print(f"{backend}: cold run ...", file=sys.stderr, flush=True)
            cold = timed_run(args.model, backend, cache)
            warm = []
            for i in range(args.repeats):
                print(f"{backend}: warm run {i + 1}/{args.repeats} ...", file=sys.stderr, flush=True)
                warm.append(timed_run(args.model, backend, cache))
        rows[backend] = {"cold": cold, "warm_runs": warm,
                         "warm_median": {k: statistics.median(r[k] for r in warm) for k in cold}}
    print(f"{'backend':<8} {'':<6} {'setup s':>9} {'simulate s':>11} {'wall s':>9}")
    for backend, row in rows.items():
        for label, r in (("cold", row["cold"]), ("warm", row["warm_median"])):
            print(f"{backend:<8} {label:<6} {r['setup_s']:>9.2f} {r['simulate_s']:>11.2f} {r['wall_s']:>9.2f}")
    machine = {"cores": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
               "load_average": os.getloadavg()}
    Path(args.out).write_text(json.dumps({"model": os.path.relpath(args.model, ROOT), "machine": machine, "results": rows}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
