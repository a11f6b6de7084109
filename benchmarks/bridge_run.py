"""One benchmark run through bridge, as a user would do it: load the model, ``bridge.simulate`` (which
runs the backend in its own worker process).  Prints one ``BRIDGE {json}`` line with the backend's
timings and the peak RSS of the worker (its own, as reported in the result) and of this process.

    python benchmarks/bridge_run.py BACKEND tsodyks | ei N [RANKS] | bg SCALE DURATION_MS

``bg`` is models/bg_healthy.yaml at ``scale`` SCALE for DURATION_MS.  With RANKS the worker runs on
that many MPI ranks; the record then also has the peak memory of each
rank and their sum.  The parent's peak is read before it counts the synapses (which draws them).
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "models"))


def main() -> int:
    backend, model_name = sys.argv[1], sys.argv[2]
    started = time.perf_counter()
    import bridge

    if model_name == "tsodyks":
        model = bridge.load(os.path.join(ROOT, "models", "tsodyks_depression.yaml"))
    elif model_name == "bg":
        model = bridge.load(os.path.join(ROOT, "models", "bg_healthy.yaml"),
                            overrides=[f"scale={sys.argv[3]}", f"simulation.duration={sys.argv[4]} ms"])
    else:
        from ei_network import document

        model = bridge.from_dict(document(int(sys.argv[3])), f"ei_network_{sys.argv[3]}")
    ranks = int(sys.argv[4]) if model_name == "ei" and len(sys.argv) > 4 else 1
    loaded = time.perf_counter()
    result = bridge.simulate(model, backend, ranks=ranks)
    finished = time.perf_counter()
    parent_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    spikes = sum(len(t) for trains in result.spike_trains.values() for t in trains)
    synapses = sum(len(p.pairs) for p in model.projections.values())
    meta = result.metadata
    record = {"setup_s": meta.get("setup_s"), "simulate_s": meta.get("simulate_s"), "worker_wall_s": meta.get("wall_s"),
              "load_s": loaded - started, "simulate_call_s": finished - loaded, "spikes": spikes, "synapses": synapses,
              "compiled": meta.get("compiled"), "compile_s": meta.get("compile_s"),
              # the worker's own peak, like the native scripts' RUSAGE_SELF; the peak of all descendants
              # (compilers included, on a cold run) is kept as descendants_maxrss_mib
              "maxrss_mib": meta.get("maxrss_mib"),
              "descendants_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
              "parent_maxrss_mib": parent_peak, "ranks": ranks,
              "maxrss_mib_per_rank": meta.get("maxrss_mib_per_rank"), "maxrss_mib_total": meta.get("maxrss_mib_total")}
    print("BRIDGE " + json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
