"""Agreement metrics between two results: analog traces, spike trains, per-event amplitudes.

Spike-train similarity uses Elephant (van Rossum distance, spike time tiling coefficient) rather
than hand-written versions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import Model
from ..result import Result


@dataclass
class AnalogMetrics:
    """Differences of one sampled variable (all cells), in the signal's unit."""

    max_abs: float
    rms: float
    normalised: float          # max_abs / range of the reference
    worst_time: float          # ms
    worst_index: int           # cell (or connection) index
    reference_range: float
    samples: int
    reference_magnitude: float = 0.0   # max |x_ref|
    excluded: int = 0                  # samples left out around spikes whose times differ


def common_samples(a_times: np.ndarray, b_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices into ``a_times`` and ``b_times`` of the sample times both share (to 1e-9 ms)."""
    a_keys = np.round(np.asarray(a_times) * 1e6).astype(np.int64)
    b_keys = np.round(np.asarray(b_times) * 1e6).astype(np.int64)
    _, ia, ib = np.intersect1d(a_keys, b_keys, return_indices=True)
    return ia, ib


def analog_metrics(reference: Result, other: Result, key: tuple[str, str],
                   excluded: dict[int, list[tuple[float, float]]] | None = None
                   ) -> tuple[AnalogMetrics, np.ndarray, np.ndarray]:
    """Compare one signal on the common sample times; returns (metrics, times, difference array).

    ``excluded`` maps a column to time intervals ``[start, stop)`` (ms) whose samples are left out
    (their difference counts as 0; see :func:`bridge.harness.compare.judge`).
    """
    ref, oth = reference.signals[key], other.signals[key]
    ia, ib = common_samples(ref.times, oth.times)
    columns = [oth.indices.index(i) for i in ref.indices]
    times = ref.times[ia]
    diff = oth.values[ib][:, columns] - ref.values[ia]
    left_out = 0
    if excluded:
        diff = diff.copy()
        for column, intervals in excluded.items():
            inside = np.zeros(len(times), dtype=bool)
            for start, stop in intervals:
                inside |= (times >= start - 1e-9) & (times < stop - 1e-9)
            left_out += int(np.count_nonzero(inside))
            diff[inside, column] = 0.0
    absdiff = np.abs(diff)
    flat = int(np.argmax(absdiff)) if absdiff.size else 0
    row, column = np.unravel_index(flat, absdiff.shape) if absdiff.size else (0, 0)
    span = float(np.ptp(ref.values)) if ref.values.size else 0.0
    max_abs = float(absdiff.max()) if absdiff.size else 0.0
    return AnalogMetrics(
        max_abs=max_abs,
        rms=float(np.sqrt(np.mean(diff ** 2))) if diff.size else 0.0,
        normalised=max_abs / span if span > 0 else (0.0 if max_abs == 0 else float("inf")),
        worst_time=float(times[row]) if times.size else float("nan"),
        worst_index=int(ref.indices[column]) if ref.indices else 0,
        reference_range=span,
        samples=int(diff.shape[0]),
        reference_magnitude=float(np.max(np.abs(ref.values))) if ref.values.size else 0.0,
        excluded=left_out,
    ), times, diff


@dataclass
class SpikeMetrics:
    """Spike-train differences of one population (all cells)."""

    count_reference: int
    count_other: int
    max_count_difference: int
    max_offset: float                   # ms, largest |t_other - t_ref| among matched spikes
    worst_time: float                   # ms, reference time of the worst spike (or first unmatched)
    worst_index: int
    unmatched: int                      # spikes of either run with no partner within the window
    sttc: float                         # mean spike time tiling coefficient (1 = identical)
    van_rossum: float                   # mean van Rossum distance (tau = 10 ms)
    #: cell -> (earlier, later) spike times (ms) of each matched pair whose times differ, and
    #: (t, t) for each unmatched spike
    mismatched: dict[int, list[tuple[float, float]]] = field(default_factory=dict)


def match_spikes(a: np.ndarray, b: np.ndarray, window: float) -> tuple[list[tuple[float, float]], list[float]]:
    """Pair spikes of two sorted trains in order, each pair within ``window`` ms; return the pairs
    and the unpaired times."""
    pairs, unpaired = [], []
    i = j = 0
    while i < len(a) and j < len(b):
        if abs(b[j] - a[i]) <= window + 1e-9:
            pairs.append((a[i], b[j]))
            i += 1
            j += 1
        elif a[i] < b[j]:
            unpaired.append(a[i])
            i += 1
        else:
            unpaired.append(b[j])
            j += 1
    unpaired.extend(a[i:])
    unpaired.extend(b[j:])
    return pairs, unpaired


def spike_metrics(reference: Result, other: Result, population: str, window: float, duration: float) -> SpikeMetrics:
    import neo
    import quantities as pq
    from elephant.spike_train_correlation import spike_time_tiling_coefficient
    from elephant.spike_train_dissimilarity import van_rossum_distance

    ref_trains, oth_trains = reference.spikes(population), other.spikes(population)
    worst = (0.0, float("nan"), 0)
    unmatched, sttcs, distances, max_count = 0, [], [], 0
    mismatched: dict[int, list[tuple[float, float]]] = {}
    for index, (a, b) in enumerate(zip(ref_trains, oth_trains)):
        a, b = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
        max_count = max(max_count, abs(len(a) - len(b)))
        pairs, unpaired = match_spikes(a, b, window)
        unmatched += len(unpaired)
        differing = [(min(x, y), max(x, y)) for x, y in pairs if abs(x - y) > 1e-9] + [(t, t) for t in unpaired]
        if differing:
            mismatched[index] = differing
        for x, y in pairs:
            if abs(y - x) > worst[0]:
                worst = (abs(y - x), x, index)
        if unpaired and worst[0] < float("inf"):
            worst = (float("inf"), float(unpaired[0]), index)
        stop = max(duration, a.max(initial=0), b.max(initial=0)) * pq.ms
        sa, sb = neo.SpikeTrain(a * pq.ms, t_stop=stop), neo.SpikeTrain(b * pq.ms, t_stop=stop)
        if len(a) and len(b):
            sttcs.append(float(spike_time_tiling_coefficient(sa, sb, dt=max(window, 1e-6) * pq.ms)))
        elif len(a) == len(b):
            sttcs.append(1.0)
        distances.append(float(van_rossum_distance([sa, sb], time_constant=10 * pq.ms)[0, 1]))
    return SpikeMetrics(
        count_reference=int(sum(len(t) for t in ref_trains)),
        count_other=int(sum(len(t) for t in oth_trains)),
        max_count_difference=max_count,
        max_offset=worst[0],
        worst_time=worst[1],
        worst_index=worst[2],
        unmatched=unmatched,
        sttc=float(np.mean(sttcs)) if sttcs else 1.0,
        van_rossum=float(np.mean(distances)) if distances else 0.0,
        mismatched=mismatched,
    )


def event_amplitudes(result: Result, model: Model, projection_name: str, reference_spikes: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """Jump of the target's receptor variable at each arrival of a presynaptic spike, for
    projections with one source and one target cell whose receptor variable is recorded.

    Returns (arrival times in ms, jumps) or None when the projection does not qualify.
    ``reference_spikes`` maps a source name to its spike times (from the reference run or the
    stimulus trains), so that every backend is measured at the same times.
    """
    projection = model.projections[projection_name]
    target = model.populations[projection.target].neuron_type
    if projection.synapse.synapse_type.continuous or len(projection.pairs) != 1 or not target.receptors:
        return None
    key = (projection.target, projection.jump(target)[0])
    if key not in result.signals or projection.source not in reference_spikes:
        return None
    sig = result.signals[key]
    dt = model.simulation.dt
    interval = sig.times[1] - sig.times[0] if len(sig.times) > 1 else dt
    if abs(interval - dt) > 1e-9:
        return None
    cell = int(projection.pairs[0, 1])
    if cell not in sig.indices:
        return None
    values = sig.values[:, sig.indices.index(cell)]
    # several spikes on one grid point arrive together: one jump
    arrivals = np.unique(np.asarray(reference_spikes[projection.source], dtype=float)) + projection.delay
    index = np.round(arrivals / dt).astype(int) - 1  # sample k is at (k+1)*dt
    keep = (index >= 1) & (index < len(values))
    index = index[keep]
    return arrivals[keep], values[index] - values[index - 1]
