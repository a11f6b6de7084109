"""Stimulus types.  Spike sources (spike times, Poisson) can be the source of a projection."""
from __future__ import annotations

from .base import NativeModel, Parameter as P, StimulusType

dc_step = StimulusType(
    name="dc_step",
    doc="Constant current from start (inclusive) to stop (exclusive) into every cell of the target.",
    parameters=(
        P("amplitude", "pA", None, "current"),
        P("start", "ms", 0.0, "onset", nonnegative=True),
        P("stop", "ms", float("inf"), "offset", nonnegative=True),
    ),
    spike_source=False,
    native={"nest": NativeModel("dc_generator")},
)

spike_times = StimulusType(
    name="spike_times",
    doc="Explicit spike trains: 'times' is a list of times (one train) or a list of lists.",
    parameters=(),
    spike_source=True,
    native={"nest": NativeModel("spike_train_injector")},
)

poisson = StimulusType(
    name="poisson",
    doc="'size' independent Poisson trains, drawn once by bridge from the seed (the model's seed "
    "when none is given) and rounded up to the time grid, so every backend receives the same spikes.",
    parameters=(
        P("rate", "Hz", None, "rate of each train", nonnegative=True),
        P("start", "ms", 0.0, "first possible spike", nonnegative=True),
        P("stop", "ms", float("inf"), "last possible spike", nonnegative=True),
    ),
    spike_source=True,
    native={"nest": NativeModel("spike_train_injector")},
)

STIMULI = {t.name: t for t in (dc_step, spike_times, poisson)}
