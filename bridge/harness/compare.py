"""Run one model on several backends (each in its own subprocess, in parallel) and judge agreement."""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from ..backends.registry import available_backends, check_backend_names
from ..backends.runner import Spec, run_all
from ..model.timestep import check_dt
from ..model import Model, load
from ..model.timestep import with_dt
from ..errors import (EXIT_BACKEND_FAILED, EXIT_DISAGREE, EXIT_NOTHING_COMPARED, EXIT_OK, EXIT_UNSUPPORTED,
                      BackendFailure, BridgeError, ModelError, UnsupportedError)
from ..result import Result
from .metrics import analog_metrics, event_amplitudes, spike_metrics
from .tolerances import SOLVER_RTOL, analog_tolerance, check_tolerances, spike_tolerance

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


#: exit code of each verdict, of ``bridge compare`` and ``bridge compare --statistics`` alike
VERDICT_EXIT = {"AGREE": EXIT_OK, "DISAGREE": EXIT_DISAGREE, "FAILED": EXIT_BACKEND_FAILED,
                "UNSUPPORTED": EXIT_UNSUPPORTED, "NOTHING COMPARED": EXIT_NOTHING_COMPARED,
                "NOT ENOUGH DATA": EXIT_NOTHING_COMPARED}


def missing_required(required: Sequence[str], compared: Sequence[str], unsupported: dict[str, str],
                     failed: dict[str, str]) -> dict[str, str]:
    """Required backends that were not compared: name -> why."""
    why = {**{b: f"unsupported: {r}" for b, r in unsupported.items()}, **{b: "failed" for b in failed}}
    return {b: why.get(b, "nothing was compared") for b in required if b not in compared}


def verdict_of(disagree: bool, failed: dict, unsupported: dict, missing: dict, compared_any: bool) -> str:
    """``DISAGREE``, ``FAILED``, ``UNSUPPORTED`` (a required backend refused), ``NOTHING COMPARED`` or
    ``AGREE``, in that order of precedence (shared by both kinds of comparison)."""
    if disagree:
        return "DISAGREE"
    if failed:
        return "FAILED"
    if any(b in unsupported for b in missing):
        return "UNSUPPORTED"
    if not compared_any or missing:
        return "NOTHING COMPARED"
    return "AGREE"


@dataclass
class Comparison:
    """Everything ``bridge compare`` found for one model.

    Its :attr:`verdict` is ``AGREE`` only when something was compared and everything compared
    agrees: a backend that failed, a required backend that refused the model or compared nothing,
    and a comparison in which no backend besides the reference produced a checked result are never
    an agreement (see :attr:`exit_code`)."""

    model: Model
    results: dict[str, Result]
    unsupported: dict[str, str]
    failed: dict[str, str]
    checks: list[Check]
    wall_s: float = 0.0
    convergence: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    required: tuple[str, ...] = ()

    @property
    def compared(self) -> list[str]:
        """Backends with at least one judged observable."""
        return list(dict.fromkeys(c.backend for c in self.checks))

    @property
    def missing(self) -> dict[str, str]:
        """Required backends that were not compared: name -> why."""
        return missing_required(self.required, self.compared, self.unsupported, self.failed)

    @property
    def verdict(self) -> str:
        """``AGREE``, ``DISAGREE``, ``FAILED`` (a backend failed), ``UNSUPPORTED`` (a required
        backend refused the model) or ``NOTHING COMPARED``."""
        disagree = not all(c.passed for c in self.checks) or any(row.get("flag") for row in self.convergence)
        return verdict_of(disagree, self.failed, self.unsupported, self.missing, bool(self.checks))

    @property
    def exit_code(self) -> int:
        """Exit code of ``bridge compare`` for this verdict (see :mod:`bridge.errors`)."""
        return VERDICT_EXIT[self.verdict]

    @property
    def passed(self) -> bool:
        return self.verdict == "AGREE"

    def explanation(self) -> list[str]:
        """Why the verdict is not ``AGREE``, one line per reason (empty when it is)."""
        lines = [f"required backend {b} was not compared ({why})" for b, why in self.missing.items()]
        lines += [f"backend {b} failed" for b in self.failed]
        if not self.checks:
            others = [b for b in self.results if b != REFERENCE]
            lines.append("nothing was compared: " + ("no backend besides the reference produced a result"
                                                     if not others else
                                                     f"{', '.join(others)} recorded nothing the reference did"))
        return lines


def split_overrides(overrides: Iterable[str], backends: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Separate global overrides ``path=value`` from per-backend ones ``backend:path=value``."""
    from ..model.loader import override_list

    common, specific = [], {b: [] for b in backends}
    for override in override_list(overrides, "compare()"):
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
                 on_result: Callable[[str, Result], None] | None = None, reuse_reference: bool = True,
                 ranks: int | None = None) -> tuple[dict[str, Result], dict[str, str], dict[str, str]]:
    """Run ``models[backend]`` on each backend, at most ``jobs`` runs at a time.

    ``ranks`` (default: each model's ``simulation.ranks``) MPI ranks for every backend but the
    reference, which always runs in one process; a backend that cannot use them is reported as
    refusing the model.

    ``on_result(backend, result)`` is called as each run finishes, while the others still run.  With
    ``reuse_reference`` a cached reference result of the same run is used instead of running it
    again (see :mod:`bridge.harness.reference_cache`).  ``progress`` gets a line per finished run;
    a display of :mod:`bridge.progress_display` also shows the running ones.
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

    def arrived(name: str, outcome: Result | BridgeError, seconds: float) -> None:
        if isinstance(outcome, UnsupportedError):
            unsupported[name] = outcome.reason
            finished(name, f"unsupported: {outcome.reason}")
        elif isinstance(outcome, BackendFailure):
            failed[name] = str(outcome)
            finished(name, "FAILED")
        elif isinstance(outcome, BridgeError):  # invalid input: no comparison at all
            raise outcome
        else:
            finished(name, f"ok ({seconds:.1f} s)")
            if name == REFERENCE:
                reference_cache.store(models[name], outcome, dt, options.get(name))
            accept(name, outcome)

    run_all({name: Spec(models[name], name, dt, options.get(name), ranks=1 if name == REFERENCE else ranks)
             for name in queue}, jobs,
            progress if hasattr(progress, "update") else None, arrived)
    return {name: results[name] for name in models if name in results}, unsupported, failed


def excluded_intervals(mismatched: dict[int, list[tuple[float, float]]], spikes: dict[int, list[float]],
                       located: bool, dt: float, settle: float) -> dict[int, list[tuple[float, float]]]:
    """Per cell, the time intervals ``[start, stop)`` (ms) left out of an analog comparison around
    spikes (see :mod:`.tolerances`).  ``mismatched``: cell -> (earlier, later) times of spikes whose
    times differ (:class:`~.metrics.SpikeMetrics`); ``spikes``: cell -> every spike time of both runs.

    For ``located`` threshold types: the step before each spike (the sample on the upswing, whose
    value the crossing time decides) and, for spike times that differ, from one step before the
    earlier to the later one.  With ``settle`` > 0: from the earlier of two differing times to
    ``settle`` ms after the later one."""
    excluded: dict[int, list[tuple[float, float]]] = {}
    if located:
        for cell, times in spikes.items():
            excluded.setdefault(cell, []).extend((t - dt, t) for t in times)
        for cell, pairs in mismatched.items():
            excluded.setdefault(cell, []).extend((earlier - dt, later) for earlier, later in pairs)
    if settle > 0:
        for cell, pairs in mismatched.items():
            excluded.setdefault(cell, []).extend((earlier, later + settle) for earlier, later in pairs)
    return excluded


def _located(model: Model, owner: str) -> bool:
    """True when ``owner`` is a population of a ``located`` threshold type."""
    population = model.populations.get(owner)
    return population is not None and population.neuron_type.threshold is not None \
        and population.neuron_type.threshold_detection == "located"


def _spikes_of_both(reference: Result, other: Result, population: str) -> dict[int, list[float]]:
    """Cell -> spike times (ms) of both runs; empty when either did not record them."""
    if population not in reference.spike_trains or population not in other.spike_trains:
        return {}
    return {cell: [*a, *b] for cell, (a, b) in enumerate(zip(reference.spike_trains[population],
                                                               other.spike_trains[population]))}


def judge(model: Model, reference: Result, other: Result, backend: str, against: str = REFERENCE) -> list[Check]:
    """Compare ``other`` with ``reference`` on every recorded observable (tolerances: :mod:`.tolerances`)."""
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
        located = _located(model, key[0])
        spikes = _spikes_of_both(reference, other, key[0]) if located else {}
        excluded = excluded_intervals(mismatched.get(key[0], {}), spikes, located, model.simulation.dt, tol.settle)
        excluded = {sig.indices.index(i): v for i, v in excluded.items() if i in sig.indices}
        m, times, diff = analog_metrics(reference, other, key, excluded)
        limit = tol.limit(m.reference_range, m.reference_magnitude)
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
        limit = tol.limit(float(np.ptp(a[1])) if len(a[1]) > 1 else abs(float(a[1][0])), float(np.max(np.abs(a[1]))))
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
            reference: Result | None = None, reuse_reference: bool = True, require: Sequence[str] = (),
            ranks: int | None = None) -> Comparison:
    """Run a model on ``backends`` (default: all known) and compare each with the reference
    (and every pair when ``pairwise``).  ``overrides`` may be ``backend:path=value`` to perturb
    one backend only.  ``dt`` (ms) overrides the model's time step (see :mod:`bridge.model.timestep`).
    Backends in ``require`` are run too and must be compared (else the verdict is not ``AGREE``).
    A ``reference`` result already computed for the same model and dt is reused; so is a cached one
    unless ``reuse_reference`` is False.  ``ranks``: MPI ranks of every backend but the reference (see
    :func:`run_backends`).  An unknown backend name, option or a bad ``dt`` is a :class:`ModelError`
    before anything runs."""
    check_backend_names(backends or (), "backends", "compare()")
    check_backend_names(require, "require", "compare()")
    options, dt = checked_backend_options(options), check_dt(dt)
    backends = list(dict.fromkeys([*(backends or available_backends()), *require]))
    if REFERENCE not in backends and reference is None:
        backends.insert(0, REFERENCE)
    common, specific = split_overrides(overrides, backends)
    if isinstance(path_or_model, Model):
        base = path_or_model
        models = {b: base if not specific[b] else _reload(base, specific[b]) for b in backends}
    else:
        from ..model.loader import source_path

        base = load(source_path(path_or_model), common)
        models = {b: load(path_or_model, common + specific[b]) if specific[b] else base for b in backends}
    if dt is not None and dt != base.simulation.dt:  # judged at the step it runs at
        rebuilt = {id(m): with_dt(m, dt) for m in models.values()}
        base = with_dt(base, dt) if id(base) not in rebuilt else rebuilt[id(base)]
        models = {b: rebuilt[id(m)] for b, m in models.items()}
    check_tolerances(base)
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

    results, unsupported, failed = run_backends(models, progress=progress, options=options,
                                                on_result=on_result, reuse_reference=reuse_reference, ranks=ranks)
    if reference is not None:
        results = {REFERENCE: reference, **results}
    checks = [check for name in results for check in judged.get(name, [])]
    if pairwise:
        names = [n for n in results if n != REFERENCE]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                checks += judge(base, results[a], results[b], b, against=a)
    return Comparison(base, results, unsupported, failed, checks, time.perf_counter() - began, options=options or {},
                      required=tuple(require))


def checked_backend_options(options: object) -> dict[str, dict]:
    """``options`` ({backend: {key: value}}) with every backend name and option checked
    (:mod:`bridge.backends.options`)."""
    from ..backends.runner import checked_options

    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ModelError(f"{options!r:.80} is not a mapping", "options", "{backend: {option: value}}", "compare()")
    check_backend_names(options, "options", "compare()")
    return {backend: checked_options(backend, values, "compare()") for backend, values in options.items()}


def _reload(model: Model, overrides: list[str]) -> Model:
    from ..model import apply_overrides, from_dict

    return from_dict(apply_overrides(model.document, overrides, model.source), model.source)


def convergence(comparison: Comparison, factors: Sequence[int] = (1, 2, 4),
                progress: Callable[[str], None] | None = None, reuse_reference: bool = True) -> list[dict]:
    """Rerun the non-reference backends and the reference at dt/f for each factor and report, per
    backend and analog observable, the max error against the reference at each dt, the observed
    orders log2(e_k / e_{k+1}) and a status from :func:`convergence_status` (its round-off floor:
    :data:`~.tolerances.SOLVER_RTOL` times max|x_ref|).  Progress lines of each rerun say its dt.
    """
    model = comparison.model
    backends = [b for b in comparison.results if b != REFERENCE]
    steps_ms = [model.simulation.dt / f for f in factors]
    errors: dict[tuple[str, str], list[float]] = {}
    magnitudes: dict[tuple[str, str], float] = {}
    for dt, factor in zip(steps_ms, factors):
        if factor == 1:
            results = comparison.results
        else:
            labelled = (lambda message, dt=dt: progress(f"dt = {dt:g} ms: {message}")) if progress else None
            results, _, failed = run_backends({b: model for b in [REFERENCE] + backends}, dt=dt, progress=labelled,
                                              options=comparison.options, reuse_reference=reuse_reference)
            if REFERENCE not in results:
                raise BackendFailure(f"reference failed at dt = {dt:g} ms: {failed.get(REFERENCE)}")
        for key in results[REFERENCE].signals:
            observable = f"{key[0]}.{key[1]}"
            for backend in backends:
                if key not in comparison.results[backend].signals:
                    continue
                error = math.nan  # no result at this dt
                if backend in results and key in results[backend].signals:
                    m, _, _ = analog_metrics(results[REFERENCE], results[backend], key)
                    error = m.max_abs
                    magnitudes[(backend, observable)] = max(magnitudes.get((backend, observable), 0.0),
                                                            m.reference_magnitude)
                errors.setdefault((backend, observable), []).append(error)
    rows = []
    for (backend, observable), errs in errors.items():
        floor = SOLVER_RTOL * magnitudes.get((backend, observable), 0.0)
        orders = [math.log2(a / b) if a > 0 and b > 0 else float("nan") for a, b in zip(errs, errs[1:])]
        status, flag = convergence_status(errs, floor)
        rows.append({"backend": backend, "observable": observable, "dt_ms": steps_ms[: len(errs)],
                     "max_abs_error": errs, "orders": orders, "round_off": floor, "status": status, "flag": flag})
    comparison.convergence = rows
    return rows


def convergence_status(errors: Sequence[float], floor: float) -> tuple[str, bool]:
    """Judge a series of max errors at decreasing dt: (status, flagged).

    ``NOT CONVERGING`` (flagged) when an error above the round-off ``floor`` is more than 0.75 of
    the one before (it does not shrink), ``no result at some dt`` (flagged) when a run is missing,
    ``at round-off (≤ floor)`` when every error is at or below the floor (nothing to converge: said
    explicitly, not passed silently), else ``converging``."""
    if any(not math.isfinite(e) for e in errors):
        return "no result at some dt", True
    if all(e <= floor for e in errors):
        return f"at round-off (≤ {floor:.3g})", False
    if any(b > floor and b > 0.75 * a for a, b in zip(errors, errors[1:])):
        return "NOT CONVERGING", True
    return "converging", False


def default_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
