"""The ``bridge`` command line.

Exit codes (:data:`bridge.errors.EXIT_CODES`): 0 success, 1 backends disagree, 2 invalid input
(including an unknown backend name, a bad option, an unusable output destination or a model above
a resource limit), 3 unsupported on a (required) backend, 4 a backend failed, 5 nothing was
compared (``bridge compare`` in which no backend besides the reference produced a checked result),
6 an internal error (a bug: one line asking to report it; ``--debug`` shows the traceback), 130 / 143
interrupted by SIGINT / SIGTERM (the workers are stopped and temporary files removed first).

Every output destination (``--out``, ``--plot``, ``--report``) is checked before anything runs
(:mod:`bridge.outputs`), and so are backend options, ``--dt`` and ``--threads``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from typing import Sequence

from .errors import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, BridgeError, ModelError
from .outputs import check_directory, check_distinct, check_file

#: where to report a bug (the one-line message of an internal error)
REPORT_BUGS = "please report it with the command and the model file (bridge --debug ... shows the traceback)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bridge", description="Run one neuron-model description on "
                                     "NEST, NEURON, Brian2 and a reference solver.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check model files (exit 0 valid, 2 invalid)")
    validate.add_argument("models", nargs="+", metavar="MODEL", help="model file(s), YAML or JSON")
    validate.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                          help="override a field, e.g. projections.pre_post.synapse.U=0.4")
    validate.add_argument("--variants", action="store_true", help="also check every variant of each file")
    _add_limits(validate)

    run = commands.add_parser("run", help="run a model on one backend")
    run.add_argument("model", metavar="MODEL")
    run.add_argument("--backend", default="reference", help="reference (default), nest, neuron or brian2")
    run.add_argument("--out", metavar="FILE", help="save the result (.npz or .csv)")
    run.add_argument("--plot", metavar="FILE", help="save a plot of the result (.png)")
    run.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                     help="override a field, e.g. projections.pre_post.synapse.U=0.4 (repeatable)")
    run.add_argument("--dt", type=float, metavar="MS", help="override the time step (ms)")
    run.add_argument("--threads", type=int, metavar="N", help="threads for backends that use them (NEST)")
    run.add_argument("--ranks", type=int, metavar="N", help="MPI ranks (NEURON; NEST built with MPI): the run starts "
                     "under mpiexec, each rank simulating its share of the cells (default: the model's "
                     "simulation.ranks, 1)")
    run.add_argument("--force", action="store_true", help="overwrite existing --out/--plot files")
    run.add_argument("--variant", metavar="NAME", help="a variant of the model file (its variants: section, or "
                     "base / control for a reaction network), applied before --set")
    run.add_argument("--summary", action="store_true", help="reaction networks: read-outs at the protocol onset "
                     "and at the end, their change, true peaks (every solver step)")
    run.add_argument("--control", action="store_true", help="reaction networks: also run the control (no "
                     "stimulation) in parallel and give the changes against it (implies --summary)")
    _add_backend_options(run)

    compare = commands.add_parser("compare", help="run a model on several backends and judge agreement "
                                  "(exit 0 agree, 1 disagree, 2 invalid input, 3 a required backend "
                                  "refuses the model, 4 a backend failed, 5 nothing compared)")
    compare.add_argument("model", metavar="MODEL")
    compare.add_argument("--backends", metavar="LIST",
                         help="comma-separated backends (default: all; the reference always runs)")
    compare.add_argument("--require", metavar="LIST",
                         help="comma-separated backends that must be compared: one that refuses the model "
                              "or fails makes the run fail (they are run even if not in --backends)")
    compare.add_argument("--report", metavar="DIR", help="write report.json and PNG plots into DIR")
    compare.add_argument("--set", action="append", default=[], metavar="[BACKEND:]PATH=VALUE",
                         help="override a field for all backends, or for one with a BACKEND: prefix")
    compare.add_argument("--pairwise", action="store_true", help="also compare every pair of backends")
    compare.add_argument("--convergence", action="store_true",
                         help="rerun at dt, dt/2, dt/4 and report the observed order of convergence")
    compare.add_argument("--dt", type=float, metavar="MS", help="override the time step (ms)")
    compare.add_argument("--ranks", type=int, metavar="N", help="MPI ranks for every backend but the reference "
                         "(which runs in one process); backends without MPI are reported as refusing")
    compare.add_argument("--rerun-reference", action="store_true",
                         help="run the reference solver even if the cache holds its result for this exact "
                              "model, dt, options and bridge version")
    compare.add_argument("--force", action="store_true", help="write the report into a --report directory "
                         "that already holds files (replacing bridge's own)")
    compare.add_argument("--variant", metavar="NAME", help="a variant of the model file (its variants: section), "
                         "applied before --set")
    compare.add_argument("--statistics", action="store_true",
                         help="networks: compare statistics of the spike trains (rates, ISI CV, LV, Fano factor, "
                              "pairwise correlations, population-rate spectra) against the seed-to-seed spread "
                              "of the ensemble backend instead of spike by spike")
    compare.add_argument("--seeds", type=int, metavar="K",
                         help="with --statistics: run every backend with K seeds (default 5, at least 3)")
    compare.add_argument("--ensemble", metavar="BACKEND", default=None,
                         help="with --statistics: the backend whose seed-to-seed spread is the bound (default: reference)")
    compare.add_argument("--jobs", type=int, metavar="N", help="with --statistics: runs at a time (default: cores)")
    _add_backend_options(compare)

    from .sweep_cli import add_parser as add_sweep_parser

    add_sweep_parser(commands, _add_backend_options)

    commands.add_parser("info", help="list backends, their versions and what each supports")

    neurord = commands.add_parser("import-neurord", help="convert a single-compartment NeuroRD model "
                                  "(reactions, initial conditions, stimulation) into a model file")
    neurord.add_argument("reactions", metavar="REACTIONS.xml")
    neurord.add_argument("initial", metavar="IC.xml")
    neurord.add_argument("stimulation", metavar="STIM.xml", nargs="?", help="injections (optional)")
    neurord.add_argument("--out", required=True, metavar="FILE.yaml", help="the model file to write")
    neurord.add_argument("--volume", metavar="QUANTITY",
                         help="compartment volume, e.g. '0.5 um**3' (default: mesh_general.out next to REACTIONS)")
    neurord.add_argument("--duration", default="1000 ms", metavar="QUANTITY", help="simulated time (default 1000 ms)")
    neurord.add_argument("--interval", default="1000 ms", metavar="QUANTITY", help="recording interval")
    neurord.add_argument("--name", help="model name (default: the stimulation file's name)")
    neurord.add_argument("--network-name", default="spine", help="network name, the owner in recording keys")
    neurord.add_argument("--species", metavar="LIST", help="comma-separated species: keep only these and the "
                         "reactions among them (a sub-network)")
    neurord.add_argument("--record", metavar="LIST", help="comma-separated variables to record "
                         "(default: Ca and every read-out)")
    neurord.add_argument("--description", default="", help="text put first in the model's description")
    neurord.add_argument("--protocol", metavar="NAME", help="group the co-timed injections into one "
                         "network.protocol block called NAME")
    neurord.add_argument("--force", action="store_true", help="overwrite an existing --out file")

    catalog = commands.add_parser("catalog", help="list model types with their parameters, units, defaults "
                                  "and equations")
    catalog.add_argument("types", nargs="*", metavar="TYPE", help="only these types (default: all)")
    catalog.add_argument("--model", metavar="FILE", help="list the types FILE declares (its 'types:' and "
                         "included type files) instead of the built-in ones")
    for command in commands.choices.values():
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the traceback of an internal error")
    return parser


def _add_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-memory", metavar="SIZE", help="refuse a model whose estimated memory is above SIZE, "
                        "e.g. '64 GiB' (default: $BRIDGE_MAX_MEMORY, else the machine's physical memory)")
    parser.add_argument("--max-steps", metavar="N", help="refuse a run of more than N time steps (duration / dt; "
                        "default: $BRIDGE_MAX_STEPS, else 1e9)")


def _add_backend_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--option", action="append", default=[], metavar="BACKEND.KEY=VALUE",
                        help="backend setting, e.g. brian2.target=numpy, brian2.method=rk4, neuron.cvode=true")
    parser.add_argument("--neuron-cvode", action="store_true", help="NEURON: use CVODE (same as neuron.cvode=true)")
    parser.add_argument("--brian2-target", metavar="TARGET", help="Brian2: numpy, cython (default) or cpp_standalone")
    parser.add_argument("--brian2-method", metavar="METHOD", help="Brian2: integration method for every group")
    _add_limits(parser)


def _backend_options(args) -> dict[str, dict]:
    """Collect ``--option backend.key=value`` and the shortcuts into {backend: {key: value}}, each
    checked against what its backend declares (:mod:`bridge.backends.options`)."""
    from .backends.registry import check_backend_names
    from .backends.runner import checked_options
    from .documents import load_yaml

    items = list(args.option)
    if args.neuron_cvode:
        items.append("neuron.cvode=true")
    if args.brian2_target:
        items.append(f"brian2.target={args.brian2_target}")
    if args.brian2_method:
        items.append(f"brian2.method={args.brian2_method}")
    options: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        backend, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise ModelError(f"option {item!r} is malformed", "--option", "BACKEND.KEY=VALUE",
                             source="command line")
        check_backend_names([backend], "--option", "command line")
        try:
            parsed = load_yaml(value)
        except Exception:  # noqa: BLE001 - not YAML: the text itself (then checked as the option's type)
            parsed = value
        options.setdefault(backend, {})[name] = parsed
    return {backend: checked_options(backend, values, "command line") for backend, values in options.items()}


def _limits(args):
    """The resource limits of ``--max-memory`` / ``--max-steps`` (:mod:`bridge.limits`)."""
    from . import limits

    memory, steps = getattr(args, "max_memory", None), getattr(args, "max_steps", None)
    base = limits.current()
    return limits.Limits(limits.parse_size(memory) if memory is not None else base.max_memory,
                         limits.parse_count(steps) if steps is not None else base.max_steps)


def _dt(args) -> float | None:
    from .backends.runner import check_dt

    return check_dt(args.dt, "--dt", "command line")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    from . import interrupts, limits

    args = _parser().parse_args(argv)
    debug = args.debug or bool(os.environ.get("BRIDGE_DEBUG"))
    commands = {"validate": _validate, "run": _run, "compare": _compare, "info": _info, "catalog": _catalog,
                "import-neurord": _import_neurord, "sweep": _sweep}
    with interrupts.handled():
        try:
            with limits.using(_limits(args)):
                return commands[args.command](args)
        except BridgeError as exc:
            print(f"bridge: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt as exc:
            from .backends.runner import stop_all

            signum = interrupts.signal_number(exc)
            stop_all(signum)
            print(f"bridge: interrupted by {interrupts.signal_name(signum)}: workers stopped, temporary files "
                  "removed", file=sys.stderr)
            return 128 + signum
        except MemoryError:
            if debug:
                traceback.print_exc()
            print("bridge: out of memory (the model's estimate was below --max-memory: lower the limit, or "
                  f"{REPORT_BUGS})", file=sys.stderr)
            return EXIT_INTERNAL
        except Exception as exc:  # noqa: BLE001 - everything else is a bug in bridge: one line, own code
            if debug:
                traceback.print_exc()
            print(f"bridge: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                  f"- this is a bug in bridge; {REPORT_BUGS}", file=sys.stderr)
            return EXIT_INTERNAL


def _validate(args) -> int:
    from .harness.tolerances import check_tolerances
    from .model import load

    status = EXIT_OK
    for path in args.models:
        try:
            model = load(path, args.set)
            check_tolerances(model)  # what bridge compare would refuse, refused here too
        except ModelError as exc:
            print(exc.line(), file=sys.stderr)
            status = EXIT_INVALID
            continue
        if args.variants and not _valid_variants(path, model, args.set):
            status = EXIT_INVALID
            continue
        if "statistics" in model.document:  # checked against this run (bridge run ignores the section)
            from .harness.ensemble import statistics_spec

            try:
                statistics_spec(model)
            except ModelError as exc:
                print(exc.line(), file=sys.stderr)
                status = EXIT_INVALID
                continue
        network = (f"network {model.network.name!r} with {len(model.network.species)} species and "
                   f"{len(model.network.reactions)} reactions, ") if model.network is not None else ""
        print(f"{path}: ok ({network}{len(model.populations)} populations, {len(model.stimuli)} stimuli, "
              f"{len(model.projections)} projections, {model.simulation.duration:g} ms at dt {model.simulation.dt:g} ms; "
              f"estimated {model.estimate.summary()})")
        _print_scaling(model)
    return status


def _print_scaling(model) -> None:
    """What the model's ``scale`` did, when it is not 1 (see :mod:`bridge.model.scaling`)."""
    scale = model.document.get("scale", 1)
    if scale == 1:
        return
    cells = sum(p.size for p in model.populations.values())
    print(f"  scale {scale:g}: {cells} cells ({', '.join(f'{n} {p.size}' for n, p in model.populations.items())})")
    for name, projection in model.projections.items():
        if projection.weight_factor != 1:
            print(f"  scale {scale:g}: {name} connects every source cell, weight x {projection.weight_factor:.3g} "
                  "to keep the mean input")


def _valid_variants(path: str, model, overrides: list[str]) -> bool:
    """Load every variant of ``model`` (from ``path``); print each invalid one (one line)."""
    from .model import load
    from .model.variants import variant_names, variant_overrides

    ok = True
    for name in variant_names(model.document):
        try:
            load(path, variant_overrides(model.document, name, path) + list(overrides))
        except ModelError as exc:
            print(f"{exc.line()} [variant {name}]", file=sys.stderr)
            ok = False
    return ok


def _saving(path: str, option: str):
    """A ModelError for an output that could not be written after all (a full disk, a race)."""
    class Saving:
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, tb):
            if isinstance(exc, OSError):
                raise ModelError(f"cannot write {path!r}: {exc.strerror or exc}", option,
                                 "a writable destination with space left", source="command line") from None
            return False
    return Saving()


def _run(args) -> int:
    from .backends.runner import simulate
    from .model import load
    from .progress_display import for_stream

    check_file(args.out, "--out", args.force, (".npz", ".csv"))
    check_file(args.plot, "--plot", args.force)
    check_distinct({"--out": args.out, "--plot": args.plot})
    _backend_list(args.backend, "--backend")
    options = _backend_options(args).get(args.backend)
    dt = _dt(args)
    _check_ranks(args.ranks)
    overrides = list(args.set)
    if args.threads is not None:
        if args.threads < 1:
            raise ModelError(f"{args.threads} is not a number of threads", "--threads", "an integer >= 1",
                             source="command line")
        overrides.append(f"simulation.threads={args.threads}")
    if args.variant:
        from .model import read_document
        from .model.variants import variant_overrides

        overrides = variant_overrides(read_document(args.model), args.variant, args.model) + overrides
    model = load(args.model, overrides)
    if (args.summary or args.control) and model.network is None:
        raise ModelError("the model has no 'network' section", "--summary" if args.summary else "--control",
                         "a reaction-network model", source=args.model)
    if args.ranks is not None:
        from .backends.mpi import check_ranks

        check_ranks(model, args.backend, args.ranks, "--ranks", "command line")
    _print_warnings(model, args.backend)
    print(f"running {model.name}{' (' + args.variant + ')' if args.variant else ''} on {args.backend} "
          f"({model.simulation.duration:g} ms) ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    display = for_stream(sys.stderr)
    control = None
    try:
        if args.control and model.network is not None:
            from .network_summary import run_with_control

            result, control = run_with_control(model, args.backend, dt, options, display)
        else:
            result = simulate(model, args.backend, dt=dt, options=options, display=display, ranks=args.ranks)
    finally:
        display.close()
    elapsed = time.perf_counter() - started
    print(f"{model.name} on {args.backend}: done in {elapsed:.2f} s "
          f"(set-up {result.metadata.get('setup_s', float('nan')):.2f} s, "
          f"simulation {result.metadata.get('simulate_s', float('nan')):.2f} s)")
    extremes = result.metadata.get("extremes") or {}
    for (owner, variable), sig in result.signals.items():
        peak = extremes.get(f"{owner}.{variable}")
        true_peak = f"; true peak {peak['max']:.6g} at {peak['t_max']:.6g} ms (every solver step)" if peak else ""
        print(f"  {owner}.{variable}: {len(sig.times)} samples x {len(sig.indices)} cells, "
              f"range {sig.values.min():.6g} .. {sig.values.max():.6g} {sig.unit}{true_peak}")
    for population, trains in result.spike_trains.items():
        counts = [len(t) for t in trains]
        print(f"  {population}: {sum(counts)} spikes in {len(trains)} cells")
    if model.network is not None and (args.summary or args.control):
        from .network_summary import format_summary, summarise

        print(format_summary(summarise(model, result, control)))
        if control is None:
            print("  (--control: also the change against the same model without stimulation)")
    if args.out:
        with _saving(args.out, "--out"):
            result.save(args.out)
        print(f"  saved {args.out}")
    if args.plot:
        with _saving(args.plot, "--plot"):
            if model.network is not None:
                from .network_plot import plot_network_run

                plot_network_run([result], model, args.plot, title=f"{model.name} on {args.backend}")
            else:
                from .plotting import plot_results

                plot_results([result], args.plot, title=f"{model.name} on {args.backend}")
        print(f"  plotted {args.plot}")
    return EXIT_OK


def _print_warnings(model, backend: str) -> None:
    """The backend's cautions about this run (e.g. its cost), before it starts."""
    from .backends.registry import get_backend

    try:
        warnings = get_backend(backend).warnings(model)
    except BridgeError:
        return  # an unknown backend is reported by the run itself
    for warning in warnings:
        print(f"bridge: warning: {warning}", file=sys.stderr, flush=True)


def _sweep(args) -> int:
    from .sweep_cli import command

    check_file(args.plot, "--plot", args.force)
    check_directory(args.out, "--out")
    _backend_list(args.backend, "--backend")
    if args.jobs is not None and args.jobs < 1:
        raise ModelError(f"{args.jobs} is not a number of jobs", "--jobs", "an integer >= 1", source="command line")
    args.dt = _dt(args)
    return command(args, _backend_options(args).get(args.backend), _print_warnings)


def _compare(args) -> int:
    from .harness import compare, convergence, table, write
    from .progress_display import for_stream

    check_directory(args.report, "--report", args.force)
    backends = _backend_list(args.backends, "--backends")
    required = _backend_list(args.require, "--require") or []
    overrides = list(args.set)
    if args.variant:
        from .model import read_document
        from .model.variants import variant_overrides

        overrides = variant_overrides(read_document(args.model), args.variant, args.model) + overrides
    if args.statistics:
        return _compare_statistics(args, backends, required, overrides)
    for option, given in (("--seeds", args.seeds is not None), ("--ensemble", args.ensemble is not None),
                          ("--jobs", args.jobs is not None)):
        if given:
            raise ModelError(f"{option} without --statistics", option, "--statistics (statistical comparison)",
                             source="command line")
    _check_ranks(args.ranks)
    options, dt = _backend_options(args), _dt(args)
    print(f"comparing {args.model} ...", file=sys.stderr, flush=True)
    display = for_stream(sys.stderr)
    try:
        try:
            comparison = compare(args.model, backends, overrides, pairwise=args.pairwise, dt=dt, progress=display,
                                 options=options, reuse_reference=not args.rerun_reference, require=required,
                                 ranks=args.ranks)
        except ModelError as exc:
            if exc.path == "ranks":  # the count of --ranks, checked against the model's cells
                raise ModelError(exc.message, "--ranks", exc.expected, source="command line") from None
            raise
        if args.convergence:
            convergence(comparison, progress=display, reuse_reference=not args.rerun_reference)
    finally:
        display.close()
    print(table(comparison))
    _write_report(comparison, args.report, write)
    return comparison.exit_code


def _compare_statistics(args, backends: list[str] | None, required: list[str], overrides: list[str]) -> int:
    """``bridge compare --statistics``: seeds x backends, judged against the ensemble's seed spread."""
    from .harness.compare import REFERENCE
    from .harness.ensemble import MIN_SEEDS, compare_statistics
    from .harness.statistics_report import table, write
    from .progress_display import for_stream

    for option, given in (("--pairwise", args.pairwise), ("--convergence", args.convergence), ("--dt", args.dt)):
        if given:
            raise ModelError(f"{option} with --statistics", option, "either a statistical comparison or " + option,
                             source="command line")
    ensemble = args.ensemble or REFERENCE
    _backend_list(ensemble, "--ensemble")
    seeds = 5 if args.seeds is None else args.seeds
    if seeds < MIN_SEEDS:
        raise ModelError(f"{seeds} seed(s) are too few for the test", "--seeds",
                         f"at least {MIN_SEEDS} seeds (the seed-to-seed spread needs them)", source="command line")
    print(f"comparing the statistics of {args.model} over {seeds} seeds ...", file=sys.stderr, flush=True)
    options = _backend_options(args)
    display = for_stream(sys.stderr)
    try:
        comparison = compare_statistics(args.model, backends, seeds, overrides, ensemble=ensemble, options=options,
                                        progress=display, require=required, jobs=args.jobs,
                                        reuse_reference=not args.rerun_reference)
    finally:
        display.close()
    print(table(comparison))
    _write_report(comparison, args.report, write)
    return comparison.exit_code


def _write_report(comparison, directory: str | None, write) -> None:
    """Write ``comparison``'s report into ``directory`` (if given) with ``write`` and say where."""
    if directory:
        with _saving(directory, "--report"):
            files = write(comparison, directory)
        print(f"report: {os.path.join(directory, files[0])} (+ {len(files) - 1} plots)")


def _check_ranks(ranks: int | None) -> None:
    """``--ranks`` must be a number of MPI ranks >= 1 (whether the backend and the model can use them
    is checked when the run starts)."""
    if ranks is not None and ranks < 1:
        raise ModelError(f"{ranks} ranks", "--ranks", "a whole number of MPI ranks >= 1", source="command line")


def _backend_list(text: str | None, option: str) -> list[str] | None:
    """Backend names of a comma-separated ``option`` value; an unknown or empty name is invalid input."""
    from .backends.registry import check_backend_names

    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise ModelError(f"{text!r} has an empty backend name", option, "comma-separated backend names",
                         source="command line")
    check_backend_names(names, option, "command line")
    return names


def _import_neurord(args) -> int:
    from .model import from_dict
    from .model.neurord import dump, import_neurord
    from .outputs import atomic_file

    check_file(args.out, "--out", args.force)

    def listed(text: str | None) -> list[str] | None:
        return [item.strip() for item in text.split(",") if item.strip()] if text else None

    document = import_neurord(args.reactions, args.initial, args.stimulation, volume=args.volume,
                              duration=args.duration, interval=args.interval, name=args.name,
                              network_name=args.network_name, keep_species=listed(args.species),
                              record=listed(args.record), description=args.description, protocol=args.protocol)
    try:
        model = from_dict(document, source=args.out)  # the result must be a valid model
    except ModelError as exc:
        if exc.path == "network.volume":
            raise ModelError(exc.message, "--volume", exc.expected, source="command line") from None
        raise
    with _saving(args.out, "--out"), atomic_file(args.out, "w", encoding="utf-8") as handle:
        handle.write(dump(document))
    network = model.network
    print(f"{args.out}: {len(network.species)} species, {len(network.reactions)} reactions, "
          f"{len(network.injections)} injection pulses, volume {network.volume:g} um**3")
    return EXIT_OK


def _info(args) -> int:
    from .backends.registry import available_backends, get_backend
    from .catalog import STIMULI, builtin_types

    kinds = [*builtin_types().values(), *STIMULI.values()]
    print("backend     version                         built-in types it runs")
    for name in available_backends():
        try:
            backend = get_backend(name)
            version = backend.version()
        except Exception as exc:  # a backend whose simulator is missing still gets listed
            print(f"{name:<11} unavailable: {type(exc).__name__}: {exc}")
            continue
        refused = {kind.name: backend.type_problem(kind) for kind in kinds}
        runs = [kind.name for kind in kinds if not refused[kind.name]]
        print(f"{name:<11} {version:<31} {', '.join(runs)}")
        for type_name, reason in refused.items():
            if reason:
                print(f"{'':<43} unsupported {type_name}: {reason}")
    print("Types a model declares run wherever their declaration allows: reference, neuron and brian2 "
          "generate code from the equations; nest needs a 'native: nest' mapping (bridge does not generate NESTML "
          "models yet).")
    _info_mpi()
    return EXIT_OK


def _info_mpi() -> None:
    """What runs on several MPI ranks here (`--ranks N`), and which NEST this is."""
    from .backends.mpi import find_mpi_library, find_mpiexec
    from .backends.nest.install import detect

    mpiexec, library = find_mpiexec(), find_mpi_library()
    print(f"MPI: mpiexec {mpiexec or 'not found'}; library for NEURON {library or 'not found'}")
    print(f"  neuron: --ranks N {'yes' if mpiexec and library else 'no'}")
    nest = detect()
    print(f"  nest: {nest.summary()}; --ranks N {'yes' if mpiexec and nest.mpi else 'no'}")
    print("  reference, brian2: one process (no MPI)")


def _catalog(args) -> int:
    from .catalog import STIMULI, builtin_types
    from .catalog.declare import type_summary

    if args.model:
        from .model import load

        everything = dict(load(args.model).types)
        if not everything:
            print(f"{args.model}: declares no types (the built-in ones: bridge catalog)")
            return EXIT_OK
    else:
        everything = {**builtin_types(), **STIMULI}
    unknown = [t for t in args.types if t not in everything]
    if unknown:
        raise ModelError(f"unknown type {unknown[0]!r}", "TYPE", "one of " + ", ".join(everything),
                         source=args.model or "command line")
    for name, kind in everything.items():
        if args.types and name not in args.types:
            continue
        native = ", ".join(f"{k}: {v.model}" for k, v in kind.native.items())
        origin = "" if kind.source == "built-in" else f"; declared in {kind.source}"
        print(f"{name} ({kind.kind}{'; ' + native if native else ''}{origin})")
        if kind.kind == "stimulus":
            print(f"    {kind.doc}")
            for p in kind.parameters:
                default = "required" if p.default is None else f"{p.default:g}"
                print(f"    {p.name:<12} {p.unit or '1':<10} {default:<10} {p.doc}")
            continue
        for line in type_summary(kind):
            print(line)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
