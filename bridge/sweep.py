"""Parameter sweeps of a model: every combination of swept values (and variants) run in parallel
processes, each against its control, with a table and a plot of one read-out.

    bridge sweep models/spine_4xhfs.yaml --set "network.protocol.frequency=10 Hz,20 Hz,50 Hz,100 Hz" --backend neuron

or from Python::

    from bridge.sweep import sweep
    result = sweep("models/spine_4xhfs.yaml", ["network.protocol.frequency=10 Hz,20 Hz,50 Hz,100 Hz"],
                   backend="neuron")
    print(result.markdown())
    result.plot("sweep.png")

* A swept ``--set PATH=V1,V2,...`` lists values separated by commas (commas inside ``[...]`` or
  ``{...}`` do not split); a ``--set`` with one value is a fixed override.  Several swept paths make a
  grid (every combination); ``variants`` (names from the model file's ``variants:``, or ``base`` and
  ``control``) are one more dimension.  Any field can be swept, rate constants through their
  multipliers: ``network.reactions.NAME.scale`` (or ``forward_scale``/``reverse_scale``).
* Every point is validated before anything runs (invalid input: :class:`~bridge.errors.ModelError`).
* Controls: each point's control is the same model without stimulation (every injection rate and
  protocol flux 0, :func:`bridge.model.variants.control_overrides`).  Runs are identified by what they
  simulate (network, rates, injections, duration, dt, recordings), so a control shared by many points
  (a sweep over a protocol parameter) runs once, and a sweep over a rate runs one control per value.
* Each run is a fresh worker process (:mod:`bridge.backends.runner`), ``jobs`` at a time.
* The table: per point, the read-out at the protocol onset and at the end, the change against the
  onset and against the control (in %), the true peak of Ca (every solver step) and the run time;
  see :mod:`bridge.network_summary` for the definitions.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .errors import BridgeError, ModelError
from .model import Model
from .model.variants import control_overrides, variant_overrides
from .network_summary import Summary, summarise
from .outputs import atomic_file
from .result import Result


@dataclass
class Point:
    """One run of the sweep: ``values`` (swept path -> value text), ``variant`` (or None), the model."""

    values: dict[str, str]
    variant: str | None
    model: Model
    key: str
    control_key: str | None = None

    @property
    def label(self) -> str:
        parts = ([self.variant] if self.variant else []) + [f"{_short(p)}={v}" for p, v in self.values.items()]
        return ", ".join(parts) or "base"


@dataclass
class SweepResult:
    """Runs of a sweep (see the module docstring): ``results``/``errors`` by run key, the read-out."""

    source: str
    backend: str
    readout: str
    paths: list[str]
    points: list[Point]
    controls: dict[str, Model]
    results: dict[str, Result] = field(default_factory=dict)
    errors: dict[str, BridgeError] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self, point: Point) -> Summary | None:
        """The point's :class:`Summary` against its control (None if the point failed)."""
        if point.key not in self.results:
            return None
        control = self.results.get(point.control_key) if point.control_key else None
        return summarise(point.model, self.results[point.key], control)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per point: swept values, variant, read-out at onset/end, changes (%), Ca peak, time."""
        rows = []
        for point in self.points:
            row: dict[str, Any] = {"variant": point.variant or "", **{_short(p): v for p, v in point.values.items()}}
            summary = self.summary(point)
            if summary is None:
                error = self.errors.get(point.key)
                row.update(error=str(error) if error else "not run")
                rows.append(row)
                continue
            r = summary.row(self.readout)
            row.update({f"{self.readout} at onset ({r.unit})": r.onset, f"{self.readout} at end ({r.unit})": r.end,
                        "change vs onset (%)": 100 * r.change, "change vs control (%)": 100 * r.change_vs_control,
                        "control drift (%)": 100 * r.control_drift})
            ca = next((x for x in summary.rows if x.variable == "Ca"), None)
            if ca is not None:
                row["Ca peak (nM)"] = ca.peak
            row["run (s)"] = self.seconds.get(point.key, math.nan)
            rows.append(row)
        return rows

    def columns(self) -> list[str]:
        names: list[str] = []
        for row in self.rows():
            names += [k for k in row if k not in names]
        if not any(p.variant for p in self.points):
            names.remove("variant")
        return names

    def markdown(self) -> str:
        """The table in markdown."""
        columns = self.columns()
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in self.rows():
            lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
        return "\n".join(lines)

    def write_csv(self, path: str) -> None:
        """The table as CSV (written atomically)."""
        import csv

        columns = self.columns()
        with atomic_file(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in self.rows():
                writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])

    def plot(self, path: str) -> None:
        """The read-out's change against the swept parameter (or per variant), and its time courses."""
        from .network_plot import plot_sweep

        plot_sweep(self, path)


def _short(path: str) -> str:
    """A swept path as a column name: the last two parts (``protocol.frequency``)."""
    return ".".join(path.split(".")[-2:])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.4g}"
    return str(value).replace("|", "\\|")


def split_values(text: str) -> list[str]:
    """``"1,2,[3, 4]"`` -> ``["1", "2", "[3, 4]"]``: commas inside brackets or braces do not split."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{("
        depth -= char in "]})"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def parse_sets(sets: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Split ``--set`` arguments into fixed overrides and swept ``{path: [values]}``."""
    fixed: list[str] = []
    swept: dict[str, list[str]] = {}
    for item in sets:
        if "=" not in item:
            raise ModelError(f"override {item!r} has no '='", "--set", "PATH=VALUE or PATH=V1,V2,...", "command line")
        path, _, text = item.partition("=")
        values = split_values(text)
        if any(v == "" for v in values):
            raise ModelError(f"{item!r} has an empty value", "--set", "PATH=V1,V2,... without empty values",
                             "command line")
        if len(values) == 1:
            fixed.append(item)
        elif path.strip() in swept:
            raise ModelError(f"{path.strip()!r} is swept twice", "--set", "each path swept once", "command line")
        else:
            swept[path.strip()] = values
    return fixed, swept


def run_key(model: Model) -> str:
    """What a run simulates, hashed: network (species, reactions and rates, injections, injectable
    species, volume), duration, dt and recordings (not names, notes or protocol labels)."""
    network = model.network
    recordings = sorted((r.name, tuple(r.variables), r.interval, r.start, r.stop, r.population)
                        for r in model.recordings.values())
    content: Any = [model.simulation.duration, model.simulation.dt, recordings, model.name]
    if network is not None:
        content += [sorted(network.species.items()), network.volume, network.injected_species,
                    [(r.name, sorted(r.reactants.items()), sorted(r.products.items()), r.forward, r.reverse,
                      sorted(r.forward_powers.items()), sorted(r.reverse_powers.items())) for r in network.reactions],
                    [(i.species, i.onset, i.duration, i.rate) for i in network.injections]]
    else:
        content.append(json.dumps(model.document, sort_keys=True, default=str))
    return hashlib.sha256(repr(content).encode()).hexdigest()[:16]


def plan(source: str, sets: Sequence[str] = (), variants: Sequence[str] | None = None, readout: str | None = None,
         control: bool = True) -> SweepResult:
    """Validate every point of the sweep (and its control) without running anything."""
    from .model import from_dict, load, read_document
    from .model.loader import apply_overrides

    document = read_document(source)
    fixed, swept = parse_sets(sets)
    paths = list(swept)
    points: list[Point] = []
    controls: dict[str, Model] = {}
    for variant in (list(variants) if variants else [None]):
        base = variant_overrides(document, variant, source) if variant else []
        for combination in itertools.product(*swept.values()):
            values = dict(zip(paths, combination))
            model = load(source, base + fixed + [f"{p}={v}" for p, v in values.items()])
            if model.network is None:
                raise ModelError("the model has no 'network' section", "network", "a reaction-network model "
                                 "(bridge sweep reports read-outs against the protocol onset and a control)", source)
            point = Point(values, variant, model, run_key(model))
            if control and model.network is not None and model.network.stimulation_onset is not None:
                ctrl = from_dict(apply_overrides(model.document, control_overrides(model.document, source), source),
                                 source)
                point.control_key = run_key(ctrl)
                if point.control_key != point.key:
                    controls.setdefault(point.control_key, ctrl)
            points.append(point)
    if not points:
        raise ModelError("nothing to run", "--set", "PATH=V1,V2,... or --variant A,B", "command line")
    chosen = readout or _default_readout(points[0].model)
    for point in points:
        recorded = {v for r in point.model.recordings.values() for v in r.variables}
        if chosen not in recorded:
            raise ModelError(f"{chosen!r} is not recorded", "--readout", "one of " + ", ".join(sorted(recorded)),
                             "command line")
    return SweepResult(source, "", chosen, paths, points, controls)


def _default_readout(model: Model) -> str:
    """g_ampa when recorded, else the first recorded read-out, else the first recorded variable."""
    recorded = [v for r in model.recordings.values() for v in r.variables]
    readouts = set(model.network.readouts) if model.network is not None else set()
    if "g_ampa" in recorded:
        return "g_ampa"
    return next((v for v in recorded if v in readouts), recorded[0])


def run(sweep: SweepResult, backend: str, jobs: int | None = None, dt: float | None = None,
        options: dict[str, Any] | None = None, progress: Callable[[str], None] | None = None) -> SweepResult:
    """Run every distinct model of ``sweep`` (points and controls), ``jobs`` at a time; ``progress``
    gets a line per finished run (a display of :mod:`bridge.progress_display` also shows the
    running ones)."""
    from .backends.runner import Spec, run_all

    sweep.backend = backend
    todo: dict[str, Spec] = {}
    for key, model in sweep.controls.items():
        todo.setdefault(key, Spec(model, backend, dt, options, "control"))
    for point in sweep.points:
        todo.setdefault(point.key, Spec(point.model, backend, dt, options, point.label))
    done = 0

    def finished(key: str, outcome: Result | BridgeError, seconds: float) -> None:
        nonlocal done
        if isinstance(outcome, BridgeError):
            sweep.errors[key] = outcome
            status = f"FAILED ({outcome})"
        else:
            sweep.results[key] = outcome
            status = "done"
        sweep.seconds[key] = seconds
        done += 1
        if progress:
            progress(f"[{done}/{len(todo)}] {todo[key].label}: {status} in {seconds:.1f} s")

    run_all(todo, jobs, progress if hasattr(progress, "update") else None, finished)
    return sweep


def sweep(source: str, sets: Sequence[str] = (), backend: str = "neuron", variants: Sequence[str] | None = None,
          readout: str | None = None, control: bool = True, jobs: int | None = None, dt: float | None = None,
          options: dict[str, Any] | None = None, progress: Callable[[str], None] | None = None) -> SweepResult:
    """Plan (validate) and run a sweep; see the module docstring."""
    return run(plan(source, sets, variants, readout, control), backend, jobs, dt, options, progress)


def write(sweep: SweepResult, directory: str) -> list[str]:
    """Write ``sweep.csv``, ``sweep.md``, ``sweep.png`` and each run's ``runs/<n>.npz`` into
    ``directory`` (created; refused when it already holds files); return the file names.  The
    names are bridge's own (numbered runs; ``runs/index.json`` says which is which), every file
    written atomically."""
    if os.path.isdir(directory) and os.listdir(directory):
        raise ModelError(f"{directory!r} already holds files", "--out", "a new or empty directory "
                         "(nothing is overwritten)", "command line")
    os.makedirs(os.path.join(directory, "runs"), exist_ok=True)
    sweep.write_csv(os.path.join(directory, "sweep.csv"))
    with atomic_file(os.path.join(directory, "sweep.md"), "w", encoding="utf-8") as handle:
        handle.write(sweep.markdown() + "\n")
    sweep.plot(os.path.join(directory, "sweep.png"))
    files = ["sweep.csv", "sweep.md", "sweep.png"]
    names = {p.key: p.label for p in sweep.points}
    names.update({k: "control" for k in sweep.controls})
    index = []
    for n, (key, result) in enumerate(sweep.results.items()):
        name = f"runs/{n:02d}.npz"
        result.save(os.path.join(directory, name))
        index.append({"file": name, "run": names.get(key, key)})
        files.append(name)
    with atomic_file(os.path.join(directory, "runs", "index.json"), "w", encoding="utf-8") as handle:
        json.dump(index, handle, indent=1)
    return files + ["runs/index.json"]


__all__ = ["Point", "SweepResult", "parse_sets", "plan", "run", "run_key", "split_values", "sweep", "write"]
