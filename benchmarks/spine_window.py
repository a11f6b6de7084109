"""Observability cost (issue #18): does a 1 ms recording window over the 4xHFS stimulation, plus the
true peak of every recorded variable over every solver step, slow the full 4xHFS run by more than 2x?

Cases (models/spine_4xhfs.yaml, 5000 s, each run a fresh process, NEURON warm):

* ``before``: the code and model of the commit before issue #18 (``--base``, default 8b3e367, exported
  with ``git archive`` into a temporary directory): 8 variables sampled every 10 s, no peak tracking;
* ``no window``: today's code and model without its ``stimulation`` recording (12 variables every 10 s;
  the peaks over every step are tracked);
* ``1 ms window``: today's model as shipped: also 5 variables (Ca, CaMKII_phospho, cAMP, PKA_active,
  PKC_active) every 1 ms over 4040-4060 s (20 001 samples each).

``--repeats`` warm runs of each NEURON case, alternating; median simulate time (``result.metadata``)
and process wall time; ratios against ``before`` and ``no window``.  Reported too: the Ca maximum of
the samples and the true Ca peak (every step).  With ``--reference``, the reference solver runs the
window case and a case sampling Ca every 1 ms over the whole 5000 s (5e6 samples) once each, with the
worker's peak memory: the solver now keeps only the recorded species (before issue #18 it stored all
204 species at every sample: 5e6 x 204 x 8 B = 8.2 GB for that case).

    python benchmarks/spine_window.py [--repeats 3] [--reference] [--base 8b3e367]

Writes benchmarks/results/spine_window.json and spine_window.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import PYTHON, ROOT, log, machine, markdown_table, median, write_json, RESULTS

TAG = "WINDOW "


def run_child(backend: str, model_path: str) -> int:
    """Child mode: one run; prints one ``WINDOW {json}`` line."""
    import bridge

    model = bridge.load(model_path)
    result = bridge.simulate(model, backend)
    _, ca = result.signal("spine", "Ca")
    peak = (result.metadata.get("extremes") or {}).get("spine.Ca", {})
    assert os.path.dirname(os.path.dirname(bridge.__file__)) == os.getcwd(), "another bridge than the case's"
    samples = sum(len(s.times) for s in result.signals.values())
    print(TAG + json.dumps({"simulate_s": result.metadata.get("simulate_s"), "maxrss_mib": result.metadata.get("maxrss_mib"),
                            "ca_sampled_max_nM": float(ca.max()), "ca_peak_nM": peak.get("max"),
                            "ca_peak_t_ms": peak.get("t_max"), "samples": samples}), flush=True)
    return 0


def measured(command: list[str], env: dict, cache: str) -> dict:
    """One run with ``env`` (PYTHONPATH, and the working directory as ``cwd``: the worker process
    ``python -m bridge.backends.worker`` puts its working directory first on sys.path)."""
    env = dict(env)
    cwd = env.pop("cwd")
    environment = dict(os.environ, BRIDGE_CACHE_DIR=cache, PYTHONUNBUFFERED="1", **env)
    started = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=cwd, timeout=3600)
    wall = time.perf_counter() - started
    lines = [ln for ln in process.stdout.splitlines() if ln.startswith(TAG)]
    if process.returncode or not lines:
        raise RuntimeError(f"{command} failed:\n{(process.stdout + process.stderr)[-3000:]}")
    return {**json.loads(lines[-1][len(TAG):]), "wall_s": wall}


def prepare(base: str, workdir: Path) -> dict[str, tuple[Path, dict]]:
    """Model files and PYTHONPATHs of the cases."""
    import yaml

    old = workdir / "before"
    old.mkdir()
    archive = subprocess.run(["git", "archive", base, "bridge", "models/spine_4xhfs.yaml"], cwd=str(ROOT),
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    document = yaml.safe_load((ROOT / "models" / "spine_4xhfs.yaml").read_text())
    document["recordings"].pop("stimulation")
    no_window = workdir / "no_window.yaml"
    no_window.write_text(yaml.safe_dump(document, sort_keys=False))
    whole = yaml.safe_load((ROOT / "models" / "spine_4xhfs.yaml").read_text())
    whole["recordings"]["stimulation"] = {"population": "spine", "variables": ["Ca"], "interval": "1 ms"}
    whole_path = workdir / "ca_every_ms.yaml"
    whole_path.write_text(yaml.safe_dump(whole, sort_keys=False))
    here = {"PYTHONPATH": str(ROOT), "cwd": str(ROOT)}
    return {"before": (old / "models" / "spine_4xhfs.yaml", {"PYTHONPATH": str(old), "cwd": str(old)}),
            "no window": (no_window, here), "1 ms window": (ROOT / "models" / "spine_4xhfs.yaml", here),
            "Ca every 1 ms, whole run": (whole_path, here)}


def main() -> int:
    if sys.argv[1:2] == ["--run"]:
        return run_child(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference", action="store_true", help="also the reference solver's cases (~2 min)")
    parser.add_argument("--base", default="8b3e367", help="the commit before issue #18")
    args = parser.parse_args()
    before_machine = machine()
    script = str(ROOT / "benchmarks" / "spine_window.py")
    with tempfile.TemporaryDirectory(prefix="bench-window-") as workdir, \
            tempfile.TemporaryDirectory(prefix="bench-window-cache-") as cache:
        cases = prepare(args.base, Path(workdir))
        neuron_cases = ["before", "no window", "1 ms window"]
        runs: dict[str, list[dict]] = {c: [] for c in cases}
        for case in neuron_cases:  # warm-up: compiles the mechanism once per code version (not measured)
            log(f"warm-up {case}")
            measured([PYTHON, script, "--run", "neuron", str(cases[case][0])], cases[case][1], cache)
        for i in range(args.repeats):
            for case in (neuron_cases if i % 2 == 0 else neuron_cases[::-1]):
                log(f"neuron {case} {i + 1}/{args.repeats}")
                runs[case].append(measured([PYTHON, script, "--run", "neuron", str(cases[case][0])], cases[case][1],
                                           cache))
        reference = {}
        if args.reference:
            for case in ("1 ms window", "Ca every 1 ms, whole run"):
                log(f"reference {case}")
                reference[case] = measured([PYTHON, script, "--run", "reference", str(cases[case][0])], cases[case][1],
                                           cache)
    summary = {c: {k: median(r, k) for k in ("simulate_s", "wall_s", "maxrss_mib", "ca_sampled_max_nM",
                                             "ca_peak_nM", "samples")} for c, r in runs.items() if r}
    base = summary["before"]["simulate_s"]
    rows = [[c, len(runs[c]), s["simulate_s"], s["simulate_s"] / base, s["simulate_s"] / summary["no window"]["simulate_s"],
             s["wall_s"], s["maxrss_mib"], s["samples"], s["ca_sampled_max_nM"], s["ca_peak_nM"]]
            for c, s in summary.items()]
    text = markdown_table(["NEURON case", "runs", "simulate s (median)", "vs before", "vs no window", "process wall s",
                           "peak RSS MiB", "samples", "Ca max of samples (nM)", "true Ca peak (nM)"], rows)
    if reference:
        text += "\n\n" + markdown_table(
            ["reference case", "simulate s", "peak RSS MiB", "samples", "Ca max of samples (nM)", "true Ca peak (nM)"],
            [[c, r["simulate_s"], r["maxrss_mib"], r["samples"], r["ca_sampled_max_nM"], r["ca_peak_nM"]]
             for c, r in reference.items()])
    print(text)
    write_json("spine_window.json", {"machine": before_machine, "machine_after": machine(), "args": vars(args),
                                     "runs": runs, "summary": summary, "reference": reference, "table": text})
    (RESULTS / "spine_window.md").write_text(text + "\n")
    log(f"wrote {RESULTS / 'spine_window.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
