"""Shared by the native scripts: argument parsing, the E/I parameters, and the JSON line they print."""
from __future__ import annotations

import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from ei_network import PARAMS, sizes, weights  # noqa: E402,F401

STARTED = time.perf_counter()  # process start (after the interpreter itself)


def arguments() -> tuple[str, int]:
    """``tsodyks`` or ``ei N`` from the command line."""
    model = sys.argv[1]
    if model not in ("tsodyks", "ei"):
        sys.exit("usage: SCRIPT tsodyks | ei N")
    return model, int(sys.argv[2]) if model == "ei" else 0


def cache_dir(kind: str) -> str:
    """Where a native script keeps compiled code: ``$NATIVE_CACHE_DIR/<kind>`` (the benchmark empties it
    for cold runs)."""
    root = os.environ.get("NATIVE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "bridge-native")
    path = os.path.join(root, kind)
    os.makedirs(path, exist_ok=True)
    return path


def report(setup_s: float, simulate_s: float, spikes: int, synapses: int, **extra) -> None:
    """Print the timings as one JSON line (peak RSS of this process in MiB)."""
    record = {"setup_s": setup_s, "simulate_s": simulate_s, "spikes": int(spikes), "synapses": int(synapses),
              "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, **extra}
    sys.stdout.write("NATIVE " + json.dumps(record) + "\n")  # one write: MPI ranks share the pipe
    sys.stdout.flush()
