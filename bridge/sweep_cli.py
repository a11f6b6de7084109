"""The ``bridge sweep`` command (the sweep itself is :mod:`bridge.sweep`)."""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

from .errors import EXIT_OK


def add_parser(commands, add_backend_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``sweep`` to the command line's sub-commands."""
    sweep = commands.add_parser(
        "sweep", help="run a model over swept values (and variants), each against its control, in parallel; "
        "table and plot of a read-out's change")
    sweep.add_argument("model", metavar="MODEL")
    sweep.add_argument("--set", action="append", default=[], metavar="PATH=V1,V2,...",
                       help="swept field with comma-separated values (several make a grid), or a fixed override "
                       "PATH=VALUE; rate constants by network.reactions.NAME.scale (repeatable)")
    sweep.add_argument("--variant", metavar="A,B,...", help="variants to run (the model file's variants:, or base, "
                       "control); one more sweep dimension")
    sweep.add_argument("--backend", default="neuron", help="neuron (default), reference or brian2")
    sweep.add_argument("--jobs", type=int, metavar="N", help="runs at a time (default: the number of cores)")
    sweep.add_argument("--readout", metavar="NAME", help="the read-out of the table and plot (default g_ampa, "
                       "else the first recorded read-out)")
    sweep.add_argument("--no-control", action="store_true", help="do not run the controls (no 'vs control')")
    sweep.add_argument("--out", metavar="DIR", help="write sweep.csv, sweep.md, sweep.png and every run's .npz "
                       "into DIR (never overwritten)")
    sweep.add_argument("--plot", metavar="FILE", help="save the plot (.png)")
    sweep.add_argument("--dt", type=float, metavar="MS", help="override the time step (ms)")
    sweep.add_argument("--force", action="store_true", help="overwrite an existing --plot file")
    add_backend_options(sweep)


def command(args, options: dict | None, print_warnings: Callable) -> int:
    """Plan (validate every point), run, print the table, write the outputs; ``options`` are the
    backend's settings, ``print_warnings(model, backend)`` prints its cautions."""
    from .sweep import plan, run, write

    variants = [v.strip() for v in args.variant.split(",") if v.strip()] if args.variant else None
    planned = plan(args.model, args.set, variants, args.readout, control=not args.no_control)
    print_warnings(planned.points[0].model, args.backend)
    runs = len({p.key for p in planned.points} | set(planned.controls))
    print(f"sweeping {args.model}: {len(planned.points)} points, {len(planned.controls)} controls, {runs} runs on "
          f"{args.backend} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    from .progress_display import for_stream

    display = for_stream(sys.stderr)
    try:
        result = run(planned, args.backend, args.jobs, args.dt, options, progress=display)
    finally:
        display.close()
    print(f"{len(result.results)} runs in {time.perf_counter() - started:.1f} s; change of {result.readout} at the "
          "end of the run:")
    print(result.markdown())
    if args.out:
        files = write(result, args.out)
        print(f"wrote {os.path.join(args.out, 'sweep.csv')} (+ {len(files) - 1} files)")
    if args.plot:
        result.plot(args.plot)
        print(f"plotted {args.plot}")
    if result.errors:
        return max(error.exit_code for error in result.errors.values())
    return EXIT_OK
