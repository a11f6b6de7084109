"""MPI ranks: the E/I network (benchmarks/models/ei_network.py) on NEURON with 1 and 2 ranks through
bridge (``bridge.simulate(..., ranks=R)``, warm caches, fresh processes, alternating): wall time,
simulation time, peak memory of each rank and in total, and the peak of the parent process (which
holds the model description only: it must not grow with the network).

    python benchmarks/mpi.py [--sizes 4000,16000] [--ranks 1,2] [--repeats 3]

Writes benchmarks/results/mpi.json and mpi.md (with the per-synapse memory and the extrapolation to
1M neurons).  This machine has 2 cores, so 2 ranks is the largest measured configuration.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

from _bench import log, machine, markdown_table, median, run_measured, write_json, RESULTS, PYTHON, ROOT

BRIDGE_RUN = str(ROOT / "benchmarks" / "bridge_run.py")


def run(n: int, ranks: int, cache: str) -> dict:
    return run_measured([PYTHON, BRIDGE_RUN, "neuron", "ei", str(n), str(ranks)], "BRIDGE ", cache)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4000,16000")
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rank_counts = [int(r) for r in args.ranks.split(",")]
    before = machine()
    cache = os.environ.get("BRIDGE_CACHE_DIR") or tempfile.mkdtemp(prefix="bridge-mpi-bench-")
    run(1000, 1, cache)  # warm: compile the mechanisms once
    results: dict = {}
    for n in sizes:
        for repeat in range(args.repeats):
            for ranks in rank_counts:  # alternating, so drifts of the machine hit both alike
                record = run(n, ranks, cache)
                results.setdefault(f"{n}/{ranks}", []).append(record)
                log(f"N={n} ranks={ranks} #{repeat + 1}: wall {record['wall_s']:.1f} s, simulate "
                    f"{record['simulate_s']:.1f} s, per rank {record['maxrss_mib_per_rank'] or record['maxrss_mib']} MiB, "
                    f"parent {record['parent_maxrss_mib']:.0f} MiB")
    rows = []
    for key, records in results.items():
        n, ranks = (int(x) for x in key.split("/"))
        per_rank = [max(r["maxrss_mib_per_rank"] or [r["maxrss_mib"]]) for r in records]
        total = [r["maxrss_mib_total"] or r["maxrss_mib"] for r in records]
        synapses = records[0]["synapses"]
        rows.append([n, ranks, f"{synapses:.3g}", len(records), median(records, "wall_s"), median(records, "simulate_s"),
                     median(records, "setup_total_s"), sorted(per_rank)[len(per_rank) // 2],
                     sorted(total)[len(total) // 2], median(records, "parent_maxrss_mib"),
                     sorted(total)[len(total) // 2] * 2**20 / synapses])
    text = markdown_table(["N", "ranks", "synapses", "runs", "wall s", "simulate s", "setup s", "peak per rank MiB",
                           "peak total MiB", "parent MiB", "B per synapse (total)"], rows)
    write_json("mpi.json", {"machine": before, "machine_after": machine(), "args": vars(args), "results": results,
                            "table": text})
    (RESULTS / "mpi.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
