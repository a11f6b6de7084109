"""Run one model on several backends (each in its own subprocess, in parallel) and judge agreement."""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from ..backends.registry import available_backends
from ..backends.runner import finish, start
from ..model import Model, load
from ..errors import BackendFailure, ModelError, UnsupportedError
from ..result import Result
from .metrics import analog_metrics, event_amplitudes, spike_metrics
from .tolerances import analog_tolerance, spike_tolerance

REFERENCE = "reference"


@dataclass
class Check:
    """One judged observable of one backend against another (normally the reference)."""

    backend: str
    against: str
    observable: str          # "post.V_m", "pre.spikes", "pre_post.events"
    kind: str                # "analog" | "spikes" | "events"
    passed: bool
    worst: float             # the judged deviation (max |diff|, or max spike offset in ms)
    limit: float             # what it was judged against
    unit: str
    worst_time: float        # ms
    worst_index: int
    metrics: dict = field(default_factory=dict)
    note: str = ""


@dataclass
class Comparison:
    """Everything ``bridge compare`` found for one model."""

    model: Model
    results: dict[str, Result]
    unsupported: dict[str, str]
    failed: dict[str, str]
    checks: list[Check]
    wall_s: float = 0.0
    convergence: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        flagged = any(row.get("flag") for row in self.convergence)
        return not self.failed and all(c.passed for c in self.checks) and not flagged


def split_overrides(overrides: Iterable[str], backends: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Separate global overrides ``path=value`` from per-backend ones ``backend:path=value``."""
    common, specific = [], {b: [] for b in backends}
    for override in overrides:
        head, sep, rest = override.partition(":")
        if sep and head in specific and "=" in rest and "=" not in head:
            specific[head].append(rest)
        else:
            common.append(override)
    return common, specific


#: start order when several backends wait for a core: the ones with the longest fixed start-up
#: first (Brian2 imports for about 1 s and loads its compiled code; the reference integrates at
#: tight tolerance), so that the short runs fill the other cores meanwhile
START_ORDER = ("brian2", REFERENCE, "neuron", "nest")


def run_backends(models: dict[str, Model], dt: float | None = None, jobs: int | None = None,
                 progress: Callable[[str], None] | None = None, options: dict | None = None,
                 on_result: Callable[[str, Result], None] | None = None, reuse_reference: bool = True
                 ) -> tuple[dict[str, Result], dict[str, str], dict[str, str]]:
    """Run ``models[backend]`` on each backend, at most ``jobs`` subprocesses at a time.

    ``on_result(backend, result)`` is called as each run finishes, while the others still run.  With
    ``reuse_reference`` a cached reference result of the same run is used instead of running it
    again (see :mod:`bridge.harness.reference_cache`).
    Returns (results, unsupported reasons, failure messages), each keyed by backend.
    """
    from . import reference_cache

    jobs = jobs or os.cpu_count() or 1
    options = options or {}
    results, unsupported, failed = {}, {}, {}
    done = 0

    def finished(name: str, status: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(f"[{done}/{len(models)}] {name}: {status}")

    def accept(name: str, result: Result) -> None:
        results[name] = result
        if on_result:
            on_result(name, result)

    cached = reference_cache.load(models[REFERENCE], dt, options.get(REFERENCE)) \
        if reuse_reference and REFERENCE in models else None
    if cached is not None:
        accept(REFERENCE, cached)
        finished(REFERENCE, "reused from the cache (--rerun-reference to run it again)")
    rank = {name: i for i, name in enumerate(START_ORDER)}
    queue = sorted((name for name in models if name not in results), key=lambda n: rank.get(n, len(rank)))
    running: list[tuple[str, object, float]] = []
    while queue or running:
        while queue and len(running) < jobs:
            name = queue.pop(0)
            running.append((name, start(models[name], name, dt, options.get(name)), time.perf_counter()))
        # take whichever run finished first (waiting for the oldest left a core idle meanwhile)
        entry = next((entry for entry in running if entry[1][0].poll() is not None), None)
        if entry is None:
            time.sleep(0.01)
            continue
        running.remove(entry)
        name, handle, began = entry
        try:
            result = finish(handle)
        except UnsupportedError as exc:
            unsupported[name] = exc.reason
            finished(name, f"unsupported: {exc.reason}")
        except ModelError:
            raise
        except BackendFailure as exc:
            failed[name] = str(exc)
            finished(name, "FAILED")
        else:
            finished(name, f"ok ({time.perf_counter() - began:.1f} s)")
            if name == REFERENCE:
                reference_cache.store(models[name], result, dt, options.get(name))
            accept(name, result)
    return {name: results[name] for name in models if name in results}, unsupported, failed


def judge(model: Model, reference: Result, other: Result, backend: str, against: str = REFERENCE) -> list[Check]:
    """Compare ``other`` with ``reference`` on every recorded observable."""
    checks: list[Check] = []
    duration = model.simulation.duration
    mismatched: dict[str, dict] = {}
    for population in reference.spike_trains:
        if population not in other.spike_trains:
            continue
        tol = spike_tolerance(model, population, backend)
        m = spike_metrics(reference, other, population, tol.window, duration)
        mismatched[population] = m.mismatched
        # matched pairs lie within the window by construction, so only counts and leftovers decide
        allowed_unmatched = tol.count * len(reference.spikes(population))
        passed = m.max_count_difference <= tol.count and m.unmatched <= allowed_unmatched
        checks.append(Check(backend, against, f"{population}.spikes", "spikes", passed, m.max_offset, tol.window,
                            "ms", m.worst_time, m.worst_index, metrics=vars(m) | {"mismatched": None}, note=tol.note))
    for key, sig in reference.signals.items():
        if key not in other.signals:
            continue
        observable = f"{key[0]}.{key[1]}"
        tol = analog_tolerance(model, observable, sig.unit, backend)
        masks = mismatched.get(key[0])
        if masks:
            masks = {sig.indices.index(i): t for i, t in masks.items() if i in sig.indices}
        m, times, diff = analog_metrics(reference, other, key, masks, tol.settle)
        limit = tol.limit(m.reference_range)
        exceeding = np.flatnonzero(np.abs(diff).max(axis=1) > limit) if diff.size else []
        first = float(times[exceeding[0]]) if len(exceeding) else None
        checks.append(Check(backend, against, observable, "analog", m.max_abs <= limit, m.max_abs, limit, sig.unit,
                            m.worst_time, m.worst_index, metrics=vars(m) | {"first_exceeding_time": first},
                            note=tol.note))
    sources = {name: list(trains[0]) for name, trains in reference.spike_trains.items() if len(trains) == 1}
    sources.update({name: list(s.trains[0]) for name, s in model.spike_sources().items() if s.size == 1})
    for name in model.projections:
        a = event_amplitudes(reference, model, name, sources)
        b = event_amplitudes(other, model, name, sources)
        if a is None or b is None or len(a[1]) == 0:
            continue
        observable = f"{name}.events"
        target = model.populations[model.projections[name].target].neuron_type
        unit = target.weight_unit
        tol = analog_tolerance(model, observable, unit, backend)
        n = min(len(a[1]), len(b[1]))
        diff = np.abs(b[1][:n] - a[1][:n])
        worst = int(np.argmax(diff))
        limit = tol.limit(float(np.ptp(a[1])) if len(a[1]) > 1 else abs(float(a[1][0])))
        exceeding = np.flatnonzero(diff > limit)
        checks.append(Check(backend, against, observable, "events", float(diff[worst]) <= limit, float(diff[worst]),
                            limit, unit, float(a[0][worst]), worst,
                            metrics={"events": n, "reference": a[1].tolist(), "other": b[1].tolist(),
                                     "first_exceeding_time": float(a[0][exceeding[0]]) if len(exceeding) else None},
                            note=tol.note))
    return checks


def compare(path_or_model: str | os.PathLike | Model, backends: Sequence[str] | None = None,
            overrides: Iterable[str] = (), pairwise: bool = False, dt: float | None = None,
            progress: Callable[[str], None] | None = None, options: dict | None = None,
            reference: Result | None = None, reuse_reference: bool = True) -> Comparison:
    """Run a model on ``backends`` (default: all known) and compare each with the reference
    (and every pair when ``pairwise``).  ``overrides`` may be ``backend:path=value`` to perturb
    one backend only.  A ``reference`` result already computed for the same model and dt is reused;
    so is a cached one unless ``reuse_reference`` is False."""
    backends = list(backends or available_backends())
    if REFERENCE not in backends and reference is None:
        backends.insert(0, REFERENCE)
    common, specific = split_overrides(overrides, backends)
    if isinstance(path_or_model, Model):
        base = path_or_model
        models = {b: base if not specific[b] else _reload(base, specific[b]) for b in backends}
    else:
        base = load(path_or_model, common)
        models = {b: load(path_or_model, common + specific[b]) if specific[b] else base for b in backends}
    began = time.perf_counter()
    # each backend is judged as soon as it and the reference are in, while the others still run
    arrived: dict[str, Result] = {REFERENCE: reference} if reference is not None else {}
    judged: dict[str, list[Check]] = {}

    def on_result(name: str, result: Result) -> None:
        arrived[name] = result
        if REFERENCE in arrived:
            for other in arrived:
                if other != REFERENCE and other not in judged:
                    judged[other] = judge(base, arrived[REFERENCE], arrived[other], other)

    results, unsupported, failed = run_backends(models, dt, progress=progress, options=options,
                                                on_result=on_result, reuse_reference=reuse_reference)
    if reference is not None:
        results = {REFERENCE: reference, **results}
    checks = [check for name in results for check in judged.get(name, [])]
    if pairwise:
        names = [n for n in results if n != REFERENCE]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                checks += judge(base, results[a], results[b], b, against=a)
    return Comparison(base, results, unsupported, failed, checks, time.perf_counter() - began, options=options or {})


def _reload(model: Model, overrides: list[str]) -> Model:
    from ..model import apply_overrides, from_dict

    return from_dict(apply_overrides(model.document, overrides, model.source), model.source)


def convergence(comparison: Comparison, factors: Sequence[int] = (1, 2, 4),
                progress: Callable[[str], None] | None = None, reuse_reference: bool = True) -> list[dict]:
    """Rerun the non-reference backends and the reference at dt/f for each factor and report the
    max error per analog observable and the observed order log2(e_k / e_{k+1}).

    A backend whose error does not shrink (e_{k+1} > 0.75 e_k) while above 1e-9 of the signal's
    range is flagged, even when it is within tolerance.
    """
    model = comparison.model
    backends = [b for b in comparison.results if b != REFERENCE]
    errors: dict[tuple[str, str], list[float]] = {}
    ranges: dict[tuple[str, str], float] = {}
    for factor in factors:
        dt = model.simulation.dt / factor
        if factor == 1:
            results = comparison.results
        else:
            results, _, failed = run_backends({b: model for b in [REFERENCE] + backends}, dt=dt, progress=progress,
                                              options=comparison.options, reuse_reference=reuse_reference)
            if REFERENCE not in results:
                raise BackendFailure(f"reference failed at dt = {dt:g} ms: {failed.get(REFERENCE)}")
        for backend in backends:
            if backend not in results:
                continue
            for key in results[REFERENCE].signals:
                if key not in results[backend].signals:
                    continue
                m, _, _ = analog_metrics(results[REFERENCE], results[backend], key)
                errors.setdefault((backend, f"{key[0]}.{key[1]}"), []).append(m.max_abs)
                ranges[(backend, f"{key[0]}.{key[1]}")] = m.reference_range
    rows = []
    for (backend, observable), errs in errors.items():
        floor = 1e-9 * max(ranges[(backend, observable)], 1e-300)
        orders = [math.log2(a / b) if a > 0 and b > 0 else float("nan") for a, b in zip(errs, errs[1:])]
        flag = any(b > 0.75 * a and a > floor for a, b in zip(errs, errs[1:]))
        rows.append({"backend": backend, "observable": observable,
                     "dt_ms": [model.simulation.dt / f for f in factors][: len(errs)],
                     "max_abs_error": errs, "orders": orders, "flag": flag})
    comparison.convergence = rows
    return rows


def default_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
