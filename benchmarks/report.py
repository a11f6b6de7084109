"""Assemble benchmarks/results/README.md from the JSON results of overhead.py, scaling.py (the E/I and
the basal-ganglia network), harness.py, spine.py, mpi.py (and cold_warm.py): machine description, the tables, and every ratio against its target.

    python benchmarks/report.py
"""
from __future__ import annotations

import json
import sys

from _bench import RESULTS

NOTES = RESULTS / "NOTES.md"  # hand-written findings, appended verbatim


def load(name: str):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine_text(m: dict) -> str:
    v = m.get("versions", {})
    return (f"{m.get('cores')} cores ({m.get('cpu')}), {m.get('memory_gib')} GiB RAM, {m.get('os')}; "
            f"Python {m.get('python')}, {m.get('gcc')}; NEST {v.get('nest')}, NEURON {v.get('neuron')}, "
            f"Brian2 {v.get('brian2')}, NumPy {v.get('numpy')}, Cython {v.get('Cython')}")


def ratios(overhead, scaling, harness, bg_scaling=None) -> list[str]:
    """Every ratio against its target, per backend and N (warm runs for the overhead benchmark)."""
    from _bench import markdown_table

    rows = []

    def mark(ok):
        return "met" if ok else "MISSED"

    if overhead:
        for key, e in overhead["results"].items():
            backend, model = key.split("/")
            for cache in ("warm", "cold"):
                s = e.get(f"{cache}_summary")
                if s:
                    rows.append([backend, f"{model} ({cache})", f"{s['sim_ratio']:.3f} {mark(s['sim_ratio'] <= 1.05)}",
                                 f"{s['setup_overhead_s']:+.2f} s / {s['setup_allowed_s']:.2f} s {mark(s['setup_overhead_s'] <= s['setup_allowed_s'])}",
                                 f"{s['mem_ratio']:.2f} {mark(s['mem_ratio'] <= 1.1)}",
                                 ("yes" if e["warm_compiled_nothing"] else "NO") if cache == "warm" else ""])
    for data, label in ((scaling, "E/I N"), (bg_scaling, "basal ganglia, scale")):
        for r in (data or {}).get("results", {}).values():
            if "skipped" in r:
                rows.append([r["backend"], f"{label}={r['n']}", "skipped", "skipped", "skipped", r["skipped"]])
                continue
            rows.append([r["backend"], f"{label}={r['n']} (scaling, warm)",
                         f"{r['sim_ratio']:.3f} {mark(r['sim_ratio'] <= 1.05)}",
                         f"{r['setup_overhead_s']:+.2f} s / {r['setup_allowed_s']:.2f} s {mark(r['setup_overhead_s'] <= r['setup_allowed_s'])}",
                         f"{r['mem_ratio']:.2f} {mark(r['mem_ratio'] <= 1.1)}", ""])
    text = ["## Every ratio against its target", "",
            markdown_table(["backend", "model / N", "simulation bridge/native (<= 1.05)",
                            "setup overhead / allowed", "peak memory bridge/native (<= 1.1)", "warm compiles nothing / note"],
                           rows), ""]
    if harness:
        text += ["Harness: " + "; ".join(f"{m}: compare / slowest single backend ({r['slowest_backend']}) = "
                                         f"{r['ratio_to_slowest']:.2f} {mark(r['meets'])} (<= 1.2)"
                                         + (f", with --rerun-reference {r['rerun_ratio_to_slowest']:.2f}"
                                            if "rerun_ratio_to_slowest" in r else "")
                                         for m, r in harness["results"].items()), ""]
    return text


def main() -> int:
    out = ["# Benchmark results", "",
           "Produced by the scripts in `benchmarks/` (see the README's *Benchmarks* section); regenerate this "
           "file with `python benchmarks/report.py`.  All times are wall-clock seconds, memory is the peak "
           "resident set size (max RSS) of the simulating process.  The machine is shared with other work: "
           "bridge and native runs alternate so that load affects both alike; the load average is recorded "
           "with every run in the JSON files.", ""]
    overhead, scaling, harness, spine = load("overhead"), load("scaling"), load("harness"), load("spine")
    bg_scaling = load("bg_scaling")
    for title, data, script in (("Adapter overhead", overhead, "overhead"), ("Scaling", scaling, "scaling"),
                                ("Basal-ganglia network", bg_scaling, "scaling"), ("Harness", harness, "harness"),
                                ("Spine model", spine, "spine"), ("MPI ranks", load("mpi"), "mpi"),
                                ("MPI ranks at N = 16000", load("mpi_16k"), "mpi")):
        if not data:
            out += [f"## {title}", "", "(not run)", ""]
            continue
        m, after = data["machine"], data.get("machine_after", {})
        out += [f"## {title}", "", f"Machine: {machine_text(m)}.  Load average (1, 5, 15 min) at start "
                f"{[round(x, 2) for x in m['load_average']]}, at end {[round(x, 2) for x in after.get('load_average', [])]}.",
                "", f"Command: `python benchmarks/{script}.py` with {data['args']}.", "",
                data.get("table", "(incomplete run)"), ""]
        if title == "Basal-ganglia network":
            out += ["`models/bg_healthy.yaml` at each scale (sizes x scale, p / scale: the in-degrees stay) for the "
                    "duration given, through bridge (`benchmarks/bridge_run.py neuron|brian2 bg SCALE MS`) and the "
                    "native scripts (`benchmarks/native/neuron_bg.py`, `brian2_bg.py`); warm caches.  NEST has no "
                    "model of these cell types.", "", "![bg_scaling](bg_scaling.png)", ""]
        if title.startswith("MPI ranks"):
            out += ["The E/I network on 1 and 2 MPI ranks (`mpiexec -n 2`), through bridge (`bridge.simulate(..., "
                    "ranks=R)`) and the native scripts (`mpiexec -n R python benchmarks/native/<backend>_native.py "
                    "ei N`); per rank = the largest rank's peak RSS, total = their sum, parent = bridge's parent "
                    "process (it holds the description, not the network).", ""]
        if title == "Adapter overhead":
            out += ["Setup = process wall time minus simulation time (interpreter start, imports, model building, "
                    "code generation, compilation, result handling); overhead = bridge setup minus native setup, "
                    "allowed max(0.5 s, 10% of native).  Sim ratio target <= 1.05, memory ratio target <= 1.1.  "
                    "Cold = empty cache directory, 1 run of each; warm = median of the repeats.", "",
                    "![overhead](overhead.png)", ""]
        if title == "Scaling":
            out += ["![scaling](scaling.png)", ""]
        if title == "Harness":
            out += ["![harness](harness.png)", ""]
        if title == "Spine model":
            out += ["`models/spine_4xhfs.yaml` (204 species, 262 reactions, the full 4xHFS protocol, 5000 s) on NEURON "
                    "(generated KINETIC mechanism, CVODE rtol 1e-8, atol 1e-14 nM) and the reference solver (SciPy BDF, "
                    "rtol 1e-10, atol 1e-10 nM), each run a fresh process (`bridge.simulate`, whose worker is a second "
                    "process).  Backend setup and simulate are the worker's `setup_s` and `simulate_s` (the reference "
                    "reports all of its integration as simulate); wall - simulate is everything else (interpreter "
                    "start, imports, loading the model, the worker's start, results).  Peak RSS is the worker's, and "
                    "in the cold run that of the mechanism compilation (nocmodl, gcc) if larger.  Cold = empty cache "
                    "directory (NEURON generates and compiles the mechanism); warm = median of the repeats, "
                    "compiled / new cache files must be false / 0.  g_ampa is read at the protocol onset (4040 s) "
                    "and at the end (5000 s).", "", "![spine](spine.png)", ""]
    window = load("spine_window")
    if window:
        m, after = window["machine"], window.get("machine_after", {})
        out += ["## Spine model: recording windows and true peaks", "",
                f"Machine: {machine_text(m)}.  Load average at start {[round(x, 2) for x in m['load_average']]}, at end "
                f"{[round(x, 2) for x in after.get('load_average', [])]}.", "",
                f"Command: `python benchmarks/spine_window.py` with {window['args']}.", "", window["table"], "",
                "The full 4xHFS on NEURON (warm, median of the repeats, alternating): `before` is the code and model "
                "of the commit before issue #18 (8 variables every 10 s); `no window` today's model without its "
                "1 ms recording (12 variables every 10 s, the true peak of each tracked over every CVODE step); "
                "`1 ms window` the shipped model (5 of them also every 1 ms over 4040-4060 s).  Target: the window "
                "slows the run by at most 2x.  The reference rows (if run): peak memory of the worker with the "
                "window, and sampling Ca every 1 ms over the whole 5000 s (before issue #18 the solver stored all "
                "204 species at every sample: 8.2 GB for that case).", ""]
    out += ratios(overhead, scaling, harness, bg_scaling)
    if NOTES.exists():
        out += [NOTES.read_text()]
    (RESULTS / "README.md").write_text("\n".join(out) + "\n")
    print(f"wrote {RESULTS / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
