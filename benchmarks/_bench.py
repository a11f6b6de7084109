"""Shared helpers of the benchmark scripts: one measured run in a fresh subprocess, the machine
description, medians and the markdown table."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PYTHON = sys.executable
NATIVE = {"nest": "nest_native.py", "neuron": "neuron_native.py", "brian2": "brian2_native.py"}
#: native scripts of the basal-ganglia network (NEST has no model of its cells)
NATIVE_BG = {"neuron": "neuron_bg.py", "brian2": "brian2_bg.py"}


def run_one(kind: str, backend: str, model: str, n: float, cache: str, timeout: float = 3600,
            duration_ms: float | None = None) -> dict:
    """One run in a fresh process: ``kind`` is ``bridge`` or ``native``; ``model`` ``tsodyks``, ``ei``
    (``n`` neurons) or ``bg`` (the basal-ganglia network at scale ``n`` for ``duration_ms``); ``cache``
    the directory holding compiled code (BRIDGE_CACHE_DIR / NATIVE_CACHE_DIR).  See
    :func:`run_measured` for the record."""
    if kind == "bridge":
        command = [PYTHON, str(ROOT / "benchmarks" / "bridge_run.py"), backend, model]
    elif model == "bg":
        command = [PYTHON, str(ROOT / "benchmarks" / "native" / NATIVE_BG[backend])]
    else:
        command = [PYTHON, str(ROOT / "benchmarks" / "native" / NATIVE[backend]), model]
    if model == "ei":
        command.append(str(n))
    elif model == "bg":
        command += [str(n), str(duration_ms)]
    cwd = ROOT / "benchmarks" / "native" if kind == "native" else ROOT
    return run_measured(command, "BRIDGE " if kind == "bridge" else "NATIVE ", cache, cwd, timeout)


def run_measured(command: list[str], tag: str, cache: str, cwd: Path = ROOT, timeout: float = 3600,
                 env: dict | None = None) -> dict:
    """Run ``command`` in a fresh process with BRIDGE_CACHE_DIR = NATIVE_CACHE_DIR = ``cache``.  Returns
    the JSON record of its last line starting with ``tag`` plus the process wall time,
    ``setup_total_s`` = wall - simulate (interpreter start, imports, model building, code generation,
    compilation, result handling: everything but the simulation), the files it added to the cache
    and the load average.  ``env``: the environment (default this process's).  A command run on
    several MPI ranks prints a record per rank: see :func:`combine_ranks`."""
    env = dict(os.environ if env is None else env, BRIDGE_CACHE_DIR=cache, NATIVE_CACHE_DIR=cache,
               PYTHONUNBUFFERED="1")
    before = cache_files(cache)
    started = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=str(cwd))
    wall = time.perf_counter() - started
    lines = [ln for ln in process.stdout.splitlines() if ln.startswith(tag)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command[1:])} failed ({process.returncode}):\n"
                           + "\n".join((process.stdout + process.stderr).strip().splitlines()[-20:]))
    records = [json.loads(line[len(tag):]) for line in lines]
    record = records[-1] if records[-1].get("rank") is None else combine_ranks(records)
    record.update(wall_s=wall, setup_total_s=wall - record["simulate_s"],
                  new_cache_files=cache_files(cache) - before, load_average=os.getloadavg()[0])
    return record


def combine_ranks(records: list[dict]) -> dict:
    """One record of a native script run on several MPI ranks, from each rank's own: the slowest
    rank's times, spikes and synapses summed, the peak memory of each rank and their sum."""
    ranks = records[0].get("ranks", 1)
    if sorted(r["rank"] for r in records) != list(range(ranks)):
        raise RuntimeError(f"expected one record from each of {ranks} ranks, got ranks {[r['rank'] for r in records]}")
    per_rank = [r["maxrss_mib"] for r in sorted(records, key=lambda r: r["rank"])]
    return {**records[0], "setup_s": max(r["setup_s"] for r in records),
            "simulate_s": max(r["simulate_s"] for r in records), "spikes": sum(r["spikes"] for r in records),
            "synapses": sum(r["synapses"] for r in records), "maxrss_mib": max(per_rank),
            "maxrss_mib_per_rank": per_rank if ranks > 1 else None,
            "maxrss_mib_total": sum(per_rank) if ranks > 1 else None}


def cache_files(directory: str) -> int:
    """Number of files under ``directory`` (a warm run must add none: it compiles nothing)."""
    return sum(len(files) for _, _, files in os.walk(directory)) if os.path.isdir(directory) else 0


def versions() -> dict:
    out = {}
    for module in ("nest", "neuron", "brian2", "numpy", "Cython"):
        try:
            from importlib import metadata

            out[module] = metadata.version({"nest": "nest-simulator"}.get(module, module))
        except Exception as exc:  # pragma: no cover - informational only
            out[module] = f"unknown ({exc})"
    return out


def machine() -> dict:
    """Cores, memory, CPU model, Python and simulator versions, load average now."""
    memory = cpu = None
    try:
        memory = next(int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal")) / 2**20
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    return {"cores": os.cpu_count(), "memory_gib": round(memory, 1) if memory else None, "cpu": cpu,
            "os": platform.platform(), "python": platform.python_version(), "gcc": gcc[0] if gcc else None,
            "versions": versions(), "load_average": os.getloadavg()}


def median(records: list[dict], key: str) -> float | None:
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(values) if values else None


def write_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def save_results(out: str, before: dict, args, results: dict, text: str, plot) -> None:
    """Write ``out``.json (machine before/after, arguments, results, table), ``out``.md and the
    ``out``.png drawn by ``plot(results, path)`` under benchmarks/results."""
    write_json(f"{out}.json", {"machine": before, "machine_after": machine(), "args": vars(args),
                               "results": results, "table": text})
    (RESULTS / f"{out}.md").write_text(text + "\n")
    plot(results, RESULTS / f"{out}.png")
    log(f"wrote {RESULTS / (out + '.json')}")


def markdown_table(headers: list[str], rows: list[list]) -> str:
    def fmt(v):
        if v is None:
            return "—"
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
