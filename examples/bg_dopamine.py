"""Healthy vs dopamine-depleted basal ganglia (models/bg_healthy.yaml and its variant
dopamine_depleted) on one backend: firing rate and relative beta-band (12-30 Hz) power of every
population, mean ± SD over seeds, and the change.

    python examples/bg_dopamine.py --backend neuron --seeds 3
    python examples/bg_dopamine.py --backend brian2 --seeds 3 --set scale=0.1

Each (state, seed) runs in its own process, as many at a time as there are cores; the statistics are
those of ``bridge compare --statistics`` (the model's ``statistics:`` window and bands, all seven
populations here, silent ones included).  Prints one table; ``--json FILE`` also writes the numbers.
"""
from __future__ import annotations

import argparse
import json
import pathlib
from dataclasses import replace

import numpy as np

import bridge
from bridge.harness.ensemble import run_seeds, statistics_spec
from bridge.harness.statistics import measure_run
from bridge.model import read_document
from bridge.model.variants import variant_overrides

MODEL = pathlib.Path(__file__).resolve().parents[1] / "models" / "bg_healthy.yaml"
STATES = ("healthy", "dopamine_depleted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="neuron")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    variant = variant_overrides(read_document(MODEL), "dopamine_depleted", str(MODEL))
    overrides = {"healthy": list(args.set), "dopamine_depleted": variant + list(args.set)}
    base = bridge.load(MODEL, args.set)
    populations = list(base.populations)
    spec = replace(statistics_spec(base), populations={p: ("rate", "spectrum") for p in populations})
    first = base.simulation.seed
    seeds = list(range(first, first + args.seeds))
    found: dict = {state: {} for state in STATES}
    for state in STATES:
        def on_result(backend, seed, result, seconds, state=state):
            found[state][seed] = measure_run(result, spec)
            print(f"{state} seed {seed}: {seconds:.0f} s", flush=True)

        _, failed = run_seeds([args.backend], seeds, lambda b, s, state=state: bridge.load(
            MODEL, overrides[state] + [f"simulation.seed={s}"]), on_result, {})
        if failed:
            raise SystemExit(f"{state}: {failed}")
    table = summarise(found, populations, seeds)
    cells = ", ".join(f"{p} {base.populations[p].size}" for p in populations)
    print(f"\n{base.name} on {args.backend}: {args.seeds} seeds, scale {base.document.get('scale', 1)} ({cells}), "
          f"window {spec.start:g}-{spec.stop:g} ms; mean ± SD over seeds")
    print(f"{'population':<11} {'rate healthy Hz':>16} {'rate depleted Hz':>17} {'change':>8} "
          f"{'beta healthy':>14} {'beta depleted':>14}")
    for p in populations:
        row = table[p]
        print(f"{p:<11} {_pm(row['rate']['healthy']):>16} {_pm(row['rate']['dopamine_depleted']):>17} "
              f"{_change(row['rate']):>8} {_pm(row['beta_power']['healthy']):>14} "
              f"{_pm(row['beta_power']['dopamine_depleted']):>14}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"backend": args.backend, "seeds": seeds,
                                                       "overrides": args.set, "table": table}, indent=2))


def summarise(found: dict, populations: list[str], seeds: list[int]) -> dict:
    """population -> statistic -> state -> {mean, sd, values} (None where a run had no data)."""
    table: dict = {}
    for p in populations:
        for statistic in ("rate", "beta_power"):
            for state in STATES:
                # a silent population's rate is 0 Hz here (the comparison calls it "not enough data")
                values = [_value(found[state][s][p].measured[statistic], statistic) for s in seeds]
                present = [v for v in values if v is not None]
                table.setdefault(p, {}).setdefault(statistic, {})[state] = {
                    "mean": float(np.mean(present)) if present else None,
                    "sd": float(np.std(present, ddof=1)) if len(present) > 1 else None, "values": values}
    return table


def _value(measured, statistic: str) -> float | None:
    if measured.value is None and statistic == "rate" and len(measured.samples):
        return 0.0
    return measured.value


def _pm(entry: dict) -> str:
    if entry["mean"] is None:
        return "—"
    if entry["mean"] == 0 and not any(entry["values"]):
        return "0 (silent)"
    return f"{entry['mean']:.3g} ± {entry['sd']:.2g}" if entry["sd"] is not None else f"{entry['mean']:.3g}"


def _change(entry: dict) -> str:
    a, b = entry["healthy"]["mean"], entry["dopamine_depleted"]["mean"]
    if a is None or b is None or a == 0:
        return "—"
    return f"{100 * (b / a - 1):+.0f} %"


if __name__ == "__main__":
    main()
