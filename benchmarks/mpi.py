"""MPI ranks: the E/I network (benchmarks/models/ei_network.py) on NEURON and NEST with 1 and 2 ranks,
through bridge (``bridge.simulate(..., ranks=R)``) and through the native scripts started the usual way
(``mpiexec -n R python benchmarks/native/<backend>_native.py ei N``; one rank: plain ``python``); warm
caches, fresh processes, alternating.  Measured: wall time, simulation time, peak memory of each rank
and in total, and for bridge the peak of the parent process (which holds the model description only:
it must not grow with the network).

    python benchmarks/mpi.py [--sizes 4000,16000] [--ranks 1,2] [--backends neuron,nest]
                             [--kinds bridge,native] [--repeats 3] [--out mpi]

NEST on 2 ranks needs NEST built with MPI (scripts/build-nest-mpi); without it NEST is skipped with
the reason.  Writes benchmarks/results/OUT.json and OUT.md.  This machine has 2 cores, so 2 ranks is
the largest measured configuration.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

from _bench import (NATIVE, RESULTS, ROOT, PYTHON, log, machine, markdown_table, median, run_measured,
                    write_json)

sys.path.insert(0, str(ROOT))
from bridge.backends.mpi import command  # noqa: E402  (starts mpiexec as bridge does)
from bridge.backends.nest.install import detect as nest_install  # noqa: E402

BRIDGE_RUN = str(ROOT / "benchmarks" / "bridge_run.py")


def run(kind: str, backend: str, n: int, ranks: int, cache: str) -> dict:
    if kind == "bridge":
        return run_measured([PYTHON, BRIDGE_RUN, backend, "ei", str(n), str(ranks)], "BRIDGE ", cache)
    argv = [PYTHON, str(ROOT / "benchmarks" / "native" / NATIVE[backend]), "ei", str(n)]
    env = dict(os.environ)
    if ranks > 1:
        argv, env = command(ranks, argv)
    if backend == "nest" and nest_install().python_path:  # the source-built NEST, as bridge uses it
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(nest_install().python_path), env.get("PYTHONPATH")]))
    return run_measured(argv, "NATIVE ", cache, ROOT / "benchmarks" / "native", env=env)


def skip_reason(backend: str, ranks: int) -> str | None:
    if backend == "nest" and ranks > 1 and not nest_install().mpi:
        return f"NEST on {ranks} ranks: {nest_install().summary()}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4000,16000")
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--backends", default="neuron,nest")
    parser.add_argument("--kinds", default="bridge,native")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="mpi")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rank_counts = [int(r) for r in args.ranks.split(",")]
    kinds = args.kinds.split(",")
    before = machine()
    cache = os.environ.get("BRIDGE_CACHE_DIR") or tempfile.mkdtemp(prefix="bridge-mpi-bench-")
    results: dict = {}
    skipped: dict = {}
    for backend in args.backends.split(","):
        for kind in kinds:
            run(kind, backend, 1000, 1, cache)  # warm: compile the mechanisms once
        for n in sizes:
            for repeat in range(args.repeats):
                for ranks in rank_counts:  # alternating, so drifts of the machine hit all alike
                    reason = skip_reason(backend, ranks)
                    if reason:
                        skipped[f"{backend}/{ranks}"] = reason
                        continue
                    for kind in kinds if repeat % 2 == 0 else kinds[::-1]:
                        record = run(kind, backend, n, ranks, cache)
                        results.setdefault(f"{backend}/{kind}/{n}/{ranks}", []).append(record)
                        log(f"{backend} {kind} N={n} ranks={ranks} #{repeat + 1}: wall {record['wall_s']:.1f} s, "
                            f"simulate {record['simulate_s']:.1f} s, per rank "
                            f"{record.get('maxrss_mib_per_rank') or record['maxrss_mib']} MiB")
    rows = []
    for key, records in results.items():
        backend, kind, n, ranks = key.split("/")
        per_rank = [max(r.get("maxrss_mib_per_rank") or [r["maxrss_mib"]]) for r in records]
        total = [r.get("maxrss_mib_total") or r["maxrss_mib"] for r in records]
        synapses = records[0]["synapses"]
        rows.append([backend, kind, int(n), int(ranks), f"{synapses:.3g}", len(records), median(records, "wall_s"),
                     median(records, "simulate_s"), median(records, "setup_total_s"), sorted(per_rank)[len(per_rank) // 2],
                     sorted(total)[len(total) // 2], median(records, "parent_maxrss_mib"),
                     sorted(total)[len(total) // 2] * 2**20 / synapses])
    text = markdown_table(["backend", "kind", "N", "ranks", "synapses", "runs", "wall s", "simulate s", "setup s",
                           "peak per rank MiB", "peak total MiB", "parent MiB", "B per synapse (total)"], rows)
    text += "".join(f"\n\nskipped {key}: {reason}" for key, reason in skipped.items())
    write_json(f"{args.out}.json", {"machine": before, "machine_after": machine(), "args": vars(args),
                                    "results": results, "skipped": skipped, "table": text})
    (RESULTS / f"{args.out}.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
