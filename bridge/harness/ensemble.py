"""Statistical comparison of network models: every backend run with K seeds, judged against the
seed-to-seed variability of the model itself (``bridge compare --statistics --seeds K``).

A recurrent network's spike trains diverge between simulators after the first rounding difference, so
spike-by-spike agreement means nothing there; its *statistics* should still agree.  The bound for
"agree" is the model's own variability:

* Every backend (the ensemble backend, by default the reference, and each compared backend) runs the
  model with the seeds ``s, s+1, ..., s+K-1`` (``s`` the model's ``simulation.seed``); a seed draws the
  connectivity and the Poisson inputs, so seed k is the same network realisation on every backend.
* Each run is measured (:mod:`.statistics`): per population one value per statistic (the population's
  mean rate, mean CV, ..., relative band power).
* For each backend B, population and statistic, the K values of B and the K values of the ensemble
  backend E are compared with a two-sample Student t-test: B agrees when

      |mean_B - mean_E| <= t_{1 - alpha/(2m)}(n_B + n_E - 2) * s_p * sqrt(1/n_B + 1/n_E) + atol + rtol*|mean_E|

  with ``s_p`` the pooled seed-to-seed standard deviation, ``m`` the number of statistics judged in the
  whole comparison (Bonferroni) and ``alpha`` = 0.05: if every backend simulated the same model, the
  chance that any statistic is flagged is at most 5 % (for normally distributed seed values).  The band
  ``t * s_p * sqrt(...)`` is the spread of a difference of means that seed-to-seed variability alone
  produces; ``atol``/``rtol`` (default 0) come from the model file's ``tolerances:`` section
  (``stn.rate: {rtol: 0.05}``), for a documented systematic difference.
* Effect sizes are reported beside the test: relative difference of means, Cohen's d (difference /
  s_p), the Kolmogorov-Smirnov test and the Wasserstein distance between the per-cell (per-pair) values
  of all seeds, and for spectra the RMS difference of the seed-mean log spectra (dB) beside the median
  of the same distance between single seeds of the ensemble.
* A statistic with values in fewer than 3 seeds of either backend is "not enough data" (never a pass);
  the verdict is then ``NOT ENOUGH DATA`` unless something disagrees.
"""
from __future__ import annotations

import math
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from ..backends.registry import available_backends, check_backend_names
from ..backends.runner import Job, stop_all, wait
from ..interrupts import signal_number
from ..errors import BackendFailure, ModelError, UnsupportedError
from ..model import Model
from ..model.checker import Checker
from ..model.statistics_spec import StatisticsSpec, parse_statistics
from ..result import Result
from .compare import REFERENCE, VERDICT_EXIT, missing_required, split_overrides, verdict_of
from .statistics import UNITS, PopulationStatistics, measure_run, statistic_names
from .tolerances import check_tolerances, statistic_tolerance

#: family-wise probability that a comparison of identical backends reports a disagreement
ALPHA = 0.05
#: seeds a backend needs with a value of a statistic for it to be judged (and the fewest --seeds)
MIN_SEEDS = 3
AGREE, DISAGREE, NOT_ENOUGH = "agree", "DISAGREE", "not enough data"


@dataclass
class Row:
    """One statistic of one population: ``backend``'s seed values against the ensemble's."""

    backend: str
    against: str
    population: str
    statistic: str
    unit: str
    values: list[float | None]
    ensemble: list[float | None]
    verdict: str = NOT_ENOUGH
    reason: str = ""
    difference: float | None = None    # mean_B - mean_E
    band: float | None = None          # t * s_p * sqrt(1/n_B + 1/n_E)
    limit: float | None = None         # band + atol + rtol * |mean_E|
    p_value: float | None = None       # two-sided, of the t-test (before the Bonferroni correction)
    effect: dict = field(default_factory=dict)
    note: str = ""

    @property
    def mean(self) -> float | None:
        return _mean(self.values)

    @property
    def sd(self) -> float | None:
        return _sd(self.values)

    @property
    def ensemble_mean(self) -> float | None:
        return _mean(self.ensemble)

    @property
    def ensemble_sd(self) -> float | None:
        return _sd(self.ensemble)


def _present(values: Iterable[float | None]) -> np.ndarray:
    return np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)


def _mean(values) -> float | None:
    x = _present(values)
    return float(x.mean()) if len(x) else None


def _sd(values) -> float | None:
    x = _present(values)
    return float(x.std(ddof=1)) if len(x) > 1 else None


@dataclass
class StatisticalComparison:
    """Everything ``bridge compare --statistics`` found.  The verdict is ``AGREE`` only when every
    requested statistic of every compared backend was judged and agrees (see :attr:`verdict`)."""

    model: Model
    spec: StatisticsSpec
    seeds: list[int]
    ensemble: str
    #: backend -> seed -> population -> statistics of that run
    measured: dict[str, dict[int, dict[str, PopulationStatistics]]]
    unsupported: dict[str, str]
    failed: dict[str, str]
    rows: list[Row]
    alpha: float = ALPHA
    wall_s: float = 0.0
    required: tuple[str, ...] = ()
    run_seconds: dict[str, list[float]] = field(default_factory=dict)

    @property
    def judged(self) -> list[Row]:
        return [r for r in self.rows if r.verdict != NOT_ENOUGH]

    @property
    def compared(self) -> list[str]:
        return list(dict.fromkeys(r.backend for r in self.judged))

    @property
    def missing(self) -> dict[str, str]:
        return missing_required(self.required, self.compared, self.unsupported, self.failed)

    @property
    def verdict(self) -> str:
        """``AGREE``, ``DISAGREE`` (a judged statistic is off), ``FAILED`` (a run failed),
        ``UNSUPPORTED`` (a required backend refused), ``NOT ENOUGH DATA`` (a requested statistic could
        not be judged) or ``NOTHING COMPARED``."""
        verdict = verdict_of(any(r.verdict == DISAGREE for r in self.rows), self.failed, self.unsupported,
                             self.missing, bool(self.judged))
        if verdict == "AGREE" and any(r.verdict == NOT_ENOUGH for r in self.rows):
            return "NOT ENOUGH DATA"
        return verdict

    @property
    def exit_code(self) -> int:
        """0 agree, 1 disagree, 3 unsupported, 4 failed, 5 nothing compared or not enough data."""
        return VERDICT_EXIT[self.verdict]

    @property
    def passed(self) -> bool:
        return self.verdict == "AGREE"

    @property
    def tests(self) -> int:
        """Number of statistics judged (the Bonferroni count m)."""
        return len(self.judged)

    def explanation(self) -> list[str]:
        """Why the verdict is not ``AGREE``, one line per reason."""
        lines = [f"{r.backend} {r.population}.{r.statistic}: |difference| {abs(r.difference):.3g} > limit "
                 f"{r.limit:.3g}" for r in self.rows if r.verdict == DISAGREE]
        lines += [f"required backend {b} was not compared ({why})" for b, why in self.missing.items()]
        lines += [f"backend {b} failed: {m.splitlines()[0]}" for b, m in self.failed.items()]
        lines += [f"{r.backend} {r.population}.{r.statistic}: not enough data ({r.reason})"
                  for r in self.rows if r.verdict == NOT_ENOUGH]
        if not self.judged and not any(r.verdict == NOT_ENOUGH for r in self.rows):
            lines.append(f"nothing was compared: no backend besides the ensemble ({self.ensemble}) produced results")
        return lines


def statistics_spec(model: Model) -> StatisticsSpec:
    """The model's ``statistics:`` section (defaults where absent); a :class:`ModelError` when it does
    not fit the model (e.g. the default 4 Hz resolution in a run shorter than 250 ms)."""
    recorded = {r.population for r in model.recordings.values() if r.spikes and not r.projection}
    spiking = {name: name in recorded for name in model.populations}
    if not any(spiking.values()):
        raise ModelError("no population's spikes are recorded", "recordings",
                         "a recording {population: NAME, spikes: true} (statistics need spike trains)", model.source)
    return parse_statistics(model.document.get("statistics"), model.simulation.duration, spiking,
                            Checker(model.source))


def compare_statistics(path_or_model: str | os.PathLike | Model, backends: Sequence[str] | None = None,
                       seeds: int = 5, overrides: Iterable[str] = (), ensemble: str = REFERENCE,
                       options: dict | None = None, progress: Callable[[str], None] | None = None,
                       require: Sequence[str] = (), jobs: int | None = None, reuse_reference: bool = True,
                       alpha: float = ALPHA) -> StatisticalComparison:
    """Run the model with ``seeds`` seeds on ``ensemble`` and every backend of ``backends`` (default:
    all known), measure every run and judge each backend against the ensemble (module docstring).
    ``overrides`` may be ``backend:path=value`` to change one backend only.  Invalid input (too few
    seeds, a statistics section that does not fit, an unknown backend) is a :class:`ModelError`."""
    check_backend_names(backends or (), "backends", "compare_statistics()")
    check_backend_names(require, "require", "compare_statistics()")
    check_backend_names([ensemble], "--ensemble", "compare_statistics()")
    if seeds < MIN_SEEDS:
        raise ModelError(f"{seeds} seed(s) are too few for the test", "--seeds",
                         f"at least {MIN_SEEDS} seeds (the seed-to-seed spread needs them)", "command line")
    names = list(dict.fromkeys([ensemble, *(backends or available_backends()), *require]))
    common, specific = split_overrides(overrides, names)
    load_for = _loader(path_or_model, common, specific)
    base = load_for(ensemble, None)
    spec = statistics_spec(base)
    check_tolerances(base)
    first = base.simulation.seed
    seed_list = [first + k for k in range(seeds)]
    began = time.perf_counter()
    measured: dict[str, dict[int, dict[str, PopulationStatistics]]] = {}
    run_seconds: dict[str, list[float]] = {}

    def on_result(backend: str, seed: int, result: Result, seconds: float) -> None:
        measured.setdefault(backend, {})[seed] = measure_run(result, spec)
        run_seconds.setdefault(backend, []).append(seconds)

    unsupported, failed = run_seeds(names, seed_list, load_for, on_result, options or {}, progress, jobs,
                                    reuse_reference)
    rows = judge_statistics(base, spec, measured, ensemble, seed_list, alpha)
    return StatisticalComparison(base, spec, seed_list, ensemble, measured, unsupported, failed, rows, alpha,
                                 time.perf_counter() - began, tuple(require), run_seconds)


def _loader(path_or_model, common: list[str], specific: dict[str, list[str]]) -> Callable[[str, int | None], Model]:
    """A function building the model of (backend, seed) (seed None: the model's own)."""
    from ..model import apply_overrides, from_dict, load

    def build(backend: str, seed: int | None) -> Model:
        extra = list(specific.get(backend, [])) + ([f"simulation.seed={seed}"] if seed is not None else [])
        if isinstance(path_or_model, Model):
            model = path_or_model
            return from_dict(apply_overrides(model.document, common + extra, model.source), model.source) \
                if common or extra else model
        return load(path_or_model, common + extra)

    return build


#: start order when runs wait for a core: the slow starters first (see compare.START_ORDER)
_START_ORDER = ("brian2", REFERENCE, "neuron", "nest")


def run_seeds(backends: list[str], seeds: list[int], load_for: Callable[[str, int | None], Model],
              on_result: Callable[[str, int, Result, float], None], options: dict,
              progress: Callable[[str], None] | None = None, jobs: int | None = None,
              reuse_reference: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    """Run every (backend, seed), ``jobs`` subprocesses at a time (default: the number of cores); each
    model is built just before its run starts (a full-scale network holds its connections and input
    trains).  A backend that refuses the model is not run for its other seeds.  ``on_result`` gets each
    result as it arrives.  Returns (unsupported reasons, failure messages) by backend."""
    from . import reference_cache

    jobs = jobs or os.cpu_count() or 1
    rank = {name: i for i, name in enumerate(_START_ORDER)}
    queue = [(b, s) for s in seeds for b in sorted(backends, key=lambda n: rank.get(n, len(rank)))]
    total, done = len(queue), 0
    unsupported: dict[str, str] = {}
    failed: dict[str, str] = {}
    running: list[tuple[str, int, Job, Model | None]] = []

    def report(backend: str, seed: int, status: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(f"[{done}/{total}] {backend} seed {seed}: {status}")

    try:
        while queue or running:
            while queue and len(running) < jobs:
                backend, seed = queue.pop(0)
                if backend in unsupported:
                    report(backend, seed, f"unsupported: {unsupported[backend]}")
                    continue
                model = load_for(backend, seed)
                if backend == REFERENCE and reuse_reference:
                    cached = reference_cache.load(model, None, options.get(REFERENCE))
                    if cached is not None:
                        on_result(backend, seed, cached, float(cached.metadata.get("wall_s") or 0.0))
                        report(backend, seed, "reused from the cache (--rerun-reference to run it again)")
                        continue
                job = Job(model, backend, None, options.get(backend), label=f"{backend} seed {seed}")
                running.append((backend, seed, job, model if backend == REFERENCE else None))
                del model
            wait([entry[2] for entry in running], 0.2)
            for entry in [e for e in running if e[2].done()]:
                running.remove(entry)
                backend, seed, job, model = entry
                try:
                    result = job.result()
                except UnsupportedError as exc:
                    unsupported[backend] = exc.reason
                    report(backend, seed, f"unsupported: {exc.reason}")
                except ModelError:
                    raise
                except BackendFailure as exc:
                    failed.setdefault(backend, str(exc))
                    report(backend, seed, "FAILED")
                else:
                    seconds = time.perf_counter() - job.started
                    if model is not None:
                        reference_cache.store(model, result, None, options.get(REFERENCE))
                    on_result(backend, seed, result, seconds)
                    report(backend, seed, f"ok ({seconds:.1f} s)")
    except BaseException as exc:
        stop_all(signal_number(exc) if isinstance(exc, KeyboardInterrupt) else signal.SIGTERM,
                 [entry[2] for entry in running])
        raise
    return unsupported, failed


def judge_statistics(model: Model, spec: StatisticsSpec, measured: dict[str, dict[int, dict[str, PopulationStatistics]]],
                     ensemble: str, seeds: list[int], alpha: float = ALPHA) -> list[Row]:
    """One :class:`Row` per (compared backend, population, statistic), judged as the module says."""
    from scipy import stats as sp

    rows: list[Row] = []
    if ensemble not in measured:
        return rows
    others = [b for b in measured if b != ensemble]
    for backend in others:
        for population, measures in spec.populations.items():
            for statistic in statistic_names(spec, measures):
                rows.append(_row(model, backend, ensemble, population, statistic, measured, seeds))
    judged = [r for r in rows if r.reason == ""]
    m = max(len(judged), 1)
    for row in judged:
        x, y = _present(row.ensemble), _present(row.values)
        n_x, n_y = len(x), len(y)
        df = n_x + n_y - 2
        pooled = math.sqrt(((n_x - 1) * x.var(ddof=1) + (n_y - 1) * y.var(ddof=1)) / df)
        se = pooled * math.sqrt(1 / n_x + 1 / n_y)
        row.difference = float(y.mean() - x.mean())
        row.band = float(sp.t.ppf(1 - alpha / (2 * m), df)) * se
        tolerance = statistic_tolerance(model, population=row.population, statistic=row.statistic, backend=row.backend)
        row.limit = row.band + tolerance.atol + tolerance.rtol * abs(float(x.mean()))
        row.note = tolerance.note
        row.p_value = float(2 * sp.t.sf(abs(row.difference) / se, df)) if se > 0 else (1.0 if row.difference == 0 else 0.0)
        row.verdict = AGREE if abs(row.difference) <= row.limit else DISAGREE
        row.effect["relative_difference"] = row.difference / abs(float(x.mean())) if x.mean() != 0 else None
        row.effect["cohen_d"] = row.difference / pooled if pooled > 0 else None
    for row in rows:
        if row.reason:
            row.verdict = NOT_ENOUGH
        row.effect.update(_distribution_effects(measured, row, seeds, spec.max_frequency))
    return rows


def _row(model: Model, backend: str, ensemble: str, population: str, statistic: str,
         measured: dict, seeds: list[int]) -> Row:
    def values(name: str) -> tuple[list[float | None], list[str]]:
        out, reasons = [], []
        for seed in seeds:
            run = measured.get(name, {}).get(seed)
            if run is None:
                out.append(None)
                reasons.append(f"seed {seed}: no run")
                continue
            item = run[population].measured[statistic]
            out.append(item.value)
            if item.value is None:
                reasons.append(f"seed {seed}: {item.reason}")
        return out, reasons

    mine, my_reasons = values(backend)
    theirs, their_reasons = values(ensemble)
    unit = UNITS.get(statistic, "")
    row = Row(backend, ensemble, population, statistic, unit, mine, theirs)
    lacking = []
    for name, vals, reasons in ((ensemble, theirs, their_reasons), (backend, mine, my_reasons)):
        if len(_present(vals)) < MIN_SEEDS:
            lacking.append(f"{name}: {len(_present(vals))} of {len(seeds)} seeds have a value"
                           + (f" ({reasons[0]})" if reasons else ""))
    row.reason = "; ".join(lacking)
    return row


def _distribution_effects(measured: dict, row: Row, seeds: list[int], max_frequency: float) -> dict:
    """KS test and Wasserstein distance of the pooled per-cell (per-pair) values of all seeds; for band
    powers the RMS difference (dB) of the two backends' seed-mean spectra in (0, ``max_frequency``] Hz,
    and the median of that distance between single seeds of the ensemble (its own spread)."""
    from scipy import stats as sp

    runs = {name: [measured[name][s][row.population] for s in seeds if s in measured.get(name, {})]
            for name in (row.against, row.backend)}
    effects: dict = {}
    if not row.statistic.endswith("_power"):
        pooled = {name: np.concatenate([r.measured[row.statistic].samples for r in found] or [np.empty(0)])
                  for name, found in runs.items()}
        a, b = pooled[row.against], pooled[row.backend]
        if len(a) and len(b):
            test = sp.ks_2samp(a, b, method="asymp")  # exact p-values fail for large samples
            effects.update(ks_statistic=float(test.statistic), ks_p=float(test.pvalue),
                           wasserstein=float(sp.wasserstein_distance(a, b)), samples=[int(len(a)), int(len(b))])
        return effects
    logs = {}
    for name, found in runs.items():
        logs[name] = []
        for r in found:
            if r.power is None:
                continue
            part = r.power[(r.frequencies > 0) & (r.frequencies <= max_frequency + 1e-9)]
            if np.all(part > 0):
                logs[name].append(10 * np.log10(part))
    if logs[row.against] and logs[row.backend]:
        mean_e, mean_b = np.mean(logs[row.against], axis=0), np.mean(logs[row.backend], axis=0)
        effects["spectral_distance_db"] = float(np.sqrt(np.mean((mean_b - mean_e) ** 2)))
        single = [float(np.sqrt(np.mean((a - b) ** 2))) for i, a in enumerate(logs[row.against])
                  for b in logs[row.against][i + 1:]]
        if single:
            effects["ensemble_seed_distance_db"] = float(np.median(single))
    return effects


__all__ = ["ALPHA", "MIN_SEEDS", "Row", "StatisticalComparison", "compare_statistics", "judge_statistics",
           "run_seeds", "statistics_spec"]
