"""Progress display (issue #17, class 4): every backend reports its phases and, while integrating,
the simulated time, speed and ETA, in ``run`` and ``compare``; plain lines when not on a terminal,
tqdm bars on one; and watching a run never changes its result."""
from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import numpy as np
import pytest

import bridge
from bridge.progress_display import LineDisplay

from processes import ROOT, environment, start_bridge

MODEL = ROOT / "models" / "tsodyks_depression.yaml"
#: an hour of simulated time, sampled every 100 ms: runs stopped once they show what is tested
LONG = ["--set", "simulation.duration=4000000 ms", "--set", "recordings.post_v.interval=100 ms"]
#: a progress line of an integrating run: simulated time / total, share, speed, ETA
INTEGRATING = r"{}: integrating [0-9.e+]+/4e\+06 ms \(\d+ %\), [0-9.e+]+ ms/s, ETA \d+"
#: the phases each backend goes through, in order (besides "compiling" where code is new)
PHASES = {"reference": ["building the network", "integrating"],
          "nest": ["building the network", "integrating"],
          "neuron": ["generating code", "building the network", "integrating"],
          "brian2": ["building the network", "generating code", "integrating"]}


def read_until(process: subprocess.Popen, pattern: str, timeout: float = 240.0) -> str:
    """Standard error of ``process`` up to the first line matching ``pattern`` (or the end)."""
    seen, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stderr], [], [], 1.0)
        if ready:
            line = process.stderr.readline()
            seen += line
            if re.search(pattern, line):
                return seen
    return seen


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == 143


@pytest.mark.parametrize("backend", ["reference", "nest", "neuron", "brian2"])
def test_run_shows_phases_then_time_speed_and_eta_in_plain_lines(tmp_path, backend):
    env = environment(tmp_path, BRIDGE_PROGRESS_DELAY="0", BRIDGE_PROGRESS_EVERY="0.5")
    process = start_bridge("run", MODEL, "--backend", backend, *LONG, tmp=tmp_path, env=env)
    try:
        seen = read_until(process, INTEGRATING.format(backend))
    finally:
        stop(process)
    assert re.search(INTEGRATING.format(backend), seen), seen
    phases = [m.group(1) for m in re.finditer(rf"^{backend}: ([a-z ]+?)(?: \(\d+ s\)| \d)", seen, re.M)]
    assert [p for p in dict.fromkeys(phases) if p not in ("starting", "compiling")] == PHASES[backend], seen
    assert "compiling" not in phases or backend in ("neuron", "brian2")
    assert "\r" not in seen   # plain lines: nothing redrawn


def test_compare_shows_the_progress_of_every_running_backend(tmp_path):
    env = environment(tmp_path, BRIDGE_PROGRESS_DELAY="0", BRIDGE_PROGRESS_EVERY="0.5")
    process = start_bridge("compare", MODEL, "--backends", "neuron", *LONG, tmp=tmp_path, env=env)
    try:
        seen = read_until(process, INTEGRATING.format("neuron"))
        seen += read_until(process, INTEGRATING.format("reference"))
    finally:
        stop(process)
    for backend in ("reference", "neuron"):
        assert re.search(INTEGRATING.format(backend), seen), seen


def test_a_first_run_shows_the_compiling_phase(tmp_path):
    """An empty cache: NEURON compiles the model's mechanisms, and says so."""
    env = environment(tmp_path, BRIDGE_PROGRESS_DELAY="0", BRIDGE_CACHE_DIR=str(tmp_path / "cache"))
    process = start_bridge("run", MODEL, "--backend", "neuron", *LONG, tmp=tmp_path, env=env)
    try:
        seen = read_until(process, INTEGRATING.format("neuron").split(" \\(")[0])
    finally:
        stop(process)
    assert re.search(r"^neuron: generating code.*\nneuron: compiling.*\nneuron: building the network", seen, re.M), seen


def test_a_terminal_gets_progress_bars(tmp_path):
    """On a terminal (a pseudo-terminal here) the display is a tqdm bar redrawn in place."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 rows, 120 columns
    env = environment(tmp_path, BRIDGE_PROGRESS_DELAY="0", TERM="xterm")
    env.pop("BRIDGE_PROGRESS", None)
    process = subprocess.Popen([sys.executable, "-m", "bridge.cli", "run", str(MODEL), "--backend", "nest", *LONG],
                               stdin=follower, stdout=follower, stderr=follower, env=env, cwd=ROOT)
    os.close(follower)
    seen, deadline = b"", time.monotonic() + 120
    try:
        while time.monotonic() < deadline and not re.search(rb"ms/s, ETA \d", seen):
            if select.select([leader], [], [], 1.0)[0]:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    break
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        os.close(leader)
    text = seen.decode(errors="replace")
    assert re.search(r"nest: integrating +\d+%\|.*\| [0-9.e+]+/4e\+06 ms, [0-9.e+]+ ms/s, ETA \d", text), text
    assert "\r" in text and process.returncode == 143


@pytest.mark.parametrize("backend", ["reference", "nest", "neuron", "brian2"])
def test_watching_a_run_does_not_change_its_result(backend):
    """Backends integrate in pieces while progress is displayed (NEST and NEURON's fixed step): the
    samples and spikes are bit for bit those of one piece."""
    model = bridge.load(ROOT / "models" / "cond_lif_poisson_tm.yaml")
    alone = bridge.simulate(model, backend)
    watched = bridge.simulate(model, backend, display=LineDisplay(io.StringIO(), delay=0))
    if backend in ("nest", "neuron"):
        assert alone.metadata["progress_pieces"] <= 2 < watched.metadata["progress_pieces"]
    assert alone.signals.keys() == watched.signals.keys() and alone.signals
    for key, signal_ in alone.signals.items():
        assert np.array_equal(signal_.times, watched.signals[key].times)
        assert np.array_equal(signal_.values, watched.signals[key].values)
    for population, trains in alone.spike_trains.items():
        assert all(np.array_equal(a, b) for a, b in zip(trains, watched.spike_trains[population]))
