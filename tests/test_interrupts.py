"""Interrupts (issue #17, class 3): SIGINT and SIGTERM sent to a real ``bridge run`` / ``bridge
compare`` while its workers integrate stop every worker and remove every temporary file; the exit
code is 128 + the signal number.  A parent killed outright (SIGKILL) takes its worker with it, and
the next run removes the job directory it left."""
from __future__ import annotations

import io
import signal
import subprocess
import sys
import time

import pytest

import bridge
from bridge.backends import runner
from bridge.progress_display import LineDisplay

from processes import ROOT, environment, processes_mentioning, start_bridge, wait_for, workers

MODEL = ROOT / "models" / "tsodyks_depression.yaml"
#: an hour of simulated time, sampled every 100 ms: a run that goes on far longer than any test
LONG = ["--set", "simulation.duration=4000000 ms", "--set", "recordings.post_v.interval=100 ms"]


def _integrating(process: subprocess.Popen, tmp, count: int) -> None:
    """Wait until ``count`` workers of ``process`` run under ``tmp``, then a little longer so that
    they are inside the simulators' integration loops."""
    assert wait_for(lambda: len(workers(tmp)) >= count or process.poll() is not None, timeout=180), \
        "no worker started"
    assert process.poll() is None, process.communicate()
    time.sleep(4.0)


@pytest.mark.parametrize("command, signum, count", [
    (["run", MODEL, "--backend", "nest"], signal.SIGINT, 1),
    (["run", MODEL, "--backend", "reference"], signal.SIGTERM, 1),
    (["compare", MODEL, "--backends", "nest,neuron"], signal.SIGINT, 2),
    (["compare", MODEL, "--backends", "nest"], signal.SIGTERM, 2),
])
def test_a_signal_stops_every_worker_and_removes_every_temporary_file(tmp_path, command, signum, count):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "result.npz"
    process = start_bridge(*command, *LONG, *(["--out", out] if command[0] == "run" else []), tmp=tmp)
    _integrating(process, tmp, count)
    running = workers(tmp)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, stderr
    assert f"interrupted by {signal.Signals(signum).name}" in stderr and "Traceback" not in stderr
    assert not any(pid in processes_mentioning("bridge.backends.worker") for pid in running)
    assert workers(tmp) == []
    assert list(tmp.iterdir()) == []          # job files, results, worker output, compiler scratch: all gone
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp]


def test_a_worker_dies_with_its_killed_parent_and_the_next_run_removes_its_files(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    process = start_bridge("run", MODEL, "--backend", "nest", *LONG, tmp=tmp)
    _integrating(process, tmp, 1)
    orphan = workers(tmp)
    process.kill()  # SIGKILL: the parent cannot clean up anything
    process.communicate()
    assert wait_for(lambda: not any(pid in processes_mentioning("bridge.backends.worker") for pid in orphan), 10)
    left = [p.name for p in tmp.iterdir()]
    assert len(left) == 1 and left[0].startswith(f"bridge-run-{process.pid}-")
    done = subprocess.run([sys.executable, "-m", "bridge.cli", "run", MODEL, "--backend", "nest"], cwd=ROOT,
                          env=environment(tmp), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert list(tmp.iterdir()) == []


def test_ctrl_c_in_the_python_api_stops_the_worker(tmp_path, monkeypatch):
    """``bridge.simulate`` interrupted (KeyboardInterrupt, as Ctrl-C raises it) leaves no worker and
    no job directory."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    model = bridge.load(MODEL, ["simulation.duration=40000000 ms", "recordings.post_v.interval=100 ms"])

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 6.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            bridge.simulate(model, "nest", display=LineDisplay(io.StringIO()))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert workers(tmp_path) == [] and list(tmp_path.iterdir()) == []
    assert not runner._LIVE
