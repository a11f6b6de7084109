"""Runs on several MPI ranks, for real: MPICH's mpiexec starting 2 worker processes (this machine has 2
cores), NEURON exchanging spikes between them, their parts merged by the parent.

Skipped, with the reason, where no MPI is installed (the README's set-up installs MPICH through the
``test`` extra, so they run wherever the README's two commands ran).  NEST over MPI is tested in
``tests/test_nest_mpi.py`` (it needs NEST built from source).
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import bridge
from bridge.backends import runner
from bridge.backends.mpi import find_mpi_library, find_mpiexec
from bridge.errors import BackendFailure
from conftest import MODELS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "models"))
from ei_network import document as ei_document  # noqa: E402

MPI_MISSING = ("no mpiexec next to this Python or on PATH" if find_mpiexec() is None
               else "no MPI library for NEURON" if find_mpi_library() is None else None)
needs_mpi = pytest.mark.skipif(MPI_MISSING is not None, reason=f"MPI not installed: {MPI_MISSING} "
                               "(pip install -e '.[mpi]')")


def bridge_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "bridge.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=env)


def ei_model(n: int, duration: str = "300 ms"):
    """The benchmark E/I network with V_m of a few cells of each population recorded every step."""
    doc = ei_document(n)
    doc["simulation"]["duration"] = duration
    doc["recordings"]["E_v"] = {"population": "E", "variables": ["V_m", "g_ex", "g_in"], "indices": [0, 1, n // 2, n - n // 5 - 1]}
    doc["recordings"]["I_v"] = {"population": "I", "variables": ["V_m"], "indices": [0, n // 5 - 1]}
    return bridge.from_dict(doc, f"ei_{n}.yaml")


def assert_identical(a, b):
    assert a.spike_trains.keys() == b.spike_trains.keys() and a.signals.keys() == b.signals.keys()
    for population in a.spike_trains:
        for cell, (x, y) in enumerate(zip(a.spike_trains[population], b.spike_trains[population])):
            assert np.array_equal(x, y), f"{population}[{cell}]: {x} != {y}"
    for key in a.signals:
        assert a.signals[key].indices == b.signals[key].indices
        assert np.array_equal(a.signals[key].times, b.signals[key].times)
        assert np.array_equal(a.signals[key].values, b.signals[key].values), key  # bitwise


@needs_mpi
def test_neuron_on_two_ranks_gives_the_same_spikes_and_traces_bitwise():
    model = ei_model(1000)
    one, two = bridge.simulate(model, "neuron"), bridge.simulate(model, "neuron", ranks=2)
    assert sum(len(t) for t in one.spike_trains["E"]) > 500  # a network that is active
    assert_identical(one, two)
    assert two.metadata["ranks"] == 2 and len(two.metadata["maxrss_mib_per_rank"]) == 2


@needs_mpi
def test_ranks_from_the_model_file_and_the_command_line(tmp_path):
    """simulation.ranks in the file runs on 2 ranks; --ranks overrides it; the saved spikes agree."""
    path = tmp_path / "ei.yaml"
    import yaml

    doc = ei_document(400)
    doc["simulation"].update(duration="200 ms", ranks=2)
    path.write_text(yaml.safe_dump(doc))
    assert bridge.load(path).simulation.ranks == 2
    two, one = tmp_path / "two.npz", tmp_path / "one.npz"
    done = bridge_cli("run", path, "--backend", "neuron", "--out", two)
    assert done.returncode == 0, done.stderr
    done = bridge_cli("run", path, "--backend", "neuron", "--ranks", "1", "--out", one)
    assert done.returncode == 0, done.stderr
    assert_identical(bridge.Result.load(one), bridge.Result.load(two))
    assert bridge.Result.load(two).metadata["ranks"] == 2 and "ranks" not in bridge.Result.load(one).metadata


def tie_model(weights_pa: tuple[float, float, float]):
    """Three identical DC-driven cells that fire in the same steps onto one target through weights
    ``weights_pa``: the target's I_syn_ex jumps by their sum, whose last bit depends on the order."""
    cell = {"tau_m": "10 ms", "C_m": "250 pF", "E_L": "0 mV", "V_reset": "0 mV", "V_th": "15 mV", "t_ref": "2 ms",
            "tau_syn_ex": "3 ms", "tau_syn_in": "3 ms"}
    names = ("a", "b", "c")
    return bridge.from_dict({
        "name": "tie", "simulation": {"duration": "30 ms", "dt": "0.1 ms"},
        "populations": {**{n: {"type": "lif_psc_exp", "parameters": cell} for n in names},
                        "t": {"type": "lif_psc_exp", "parameters": {**cell, "V_th": "1000 mV"}}},
        "stimuli": {f"dc_{n}": {"type": "dc_step", "target": n, "amplitude": "500 pA"} for n in names},
        "projections": {f"{n}_t": {"source": n, "target": "t", "weight": f"{w!r} pA", "delay": "1 ms"}
                        for n, w in zip(names, weights_pa)},
        "recordings": {"i": {"population": "t", "variables": ["I_syn_ex"]}, "s": {"population": "a", "spikes": True}}})


@needs_mpi
def test_simultaneous_events_are_summed_in_source_order_on_any_number_of_ranks():
    """Rank 0 owns a and b, rank 1 c and the target: without the delay offsets (see
    bridge.backends.neuron.gids) rank 1 queues its local c before a and b arrive by the spike
    exchange, and 1 + 1e-16 + 1e-16 = 1 where 1e-16 + 1e-16 + 1 = 1.0000000000000002 (measured: the
    runs then differ by 2.2e-16 pA).  With them both sum a, b, c in gid order."""
    model = tie_model((1e-16, 1e-16, 1.0))
    one, two = bridge.simulate(model, "neuron"), bridge.simulate(model, "neuron", ranks=2)
    first_spike = one.spike_trains["a"][0][0]
    times, current = one.signal("t", "I_syn_ex")
    k = int(np.flatnonzero(np.isclose(times, first_spike + 1.0))[0])  # the arrival step
    assert current[k] == (1e-16 + 1e-16) + 1.0 == 1.0000000000000002
    assert np.array_equal(current, two.signal("t", "I_syn_ex")[1])


@needs_mpi
def test_bad_rank_requests_are_one_line_each(tmp_path):
    depression = MODELS / "tsodyks_depression.yaml"
    cases = [
        (["--backend", "neuron", "--ranks", "0"], 2, "command line: --ranks: 0 ranks (expected a whole number of MPI ranks >= 1)"),
        (["--backend", "neuron", "--ranks", "3"], 2, "command line: --ranks: 3 ranks for 2 cells (expected at most one rank per cell (2))"),
        (["--backend", "reference", "--ranks", "2"], 3, "unsupported on reference: 2 MPI ranks (the reference solver runs in one process; it has no MPI)"),
        (["--backend", "brian2", "--ranks", "2"], 3, "unsupported on brian2: 2 MPI ranks (Brian2 runs a network in one process"),
        (["--backend", "neuron", "--ranks", "2"], 3, "unsupported on neuron: projection pre_post with delay 0.1 ms on 2 MPI ranks"),
    ]
    for args, code, line in cases:
        done = bridge_cli("run", depression, *args)
        assert done.returncode == code, (args, done.stderr)
        errors = [ln for ln in done.stderr.splitlines() if ln.startswith("bridge:")]
        assert len(errors) == 1 and errors[0].startswith(f"bridge: {line}"), (args, done.stderr)
        assert "Traceback" not in done.stderr
    slow = ["--backend", "neuron", "--ranks", "2", "--set", "projections.pre_post.delay=1 ms"]
    env = dict(os.environ, BRIDGE_MPIEXEC=str(tmp_path / "no-mpiexec"))
    done = bridge_cli("run", depression, *slow, env=env)
    assert done.returncode == 3 and done.stderr.strip().splitlines()[-1].startswith(
        "bridge: unsupported on neuron: 2 MPI ranks need mpiexec, and there is none"), done.stderr
    (tmp_path / "libmpi.so").write_bytes(b"not a library")
    env = dict(os.environ, MPI_LIB_NRN_PATH=str(tmp_path / "libmpi.so"))
    done = bridge_cli("run", depression, *slow, env=env)
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"bridge: unsupported on neuron: NEURON could not load the MPI library {tmp_path / 'libmpi.so'} "
        "(MPI_LIB_NRN_PATH): it ran as 1 of 2 ranks"), done.stderr
    compare = bridge_cli("compare", depression, "--backends", "brian2", "--ranks", "2")
    assert compare.returncode == 5 and "unsupported: 2 MPI ranks (Brian2 runs a network" in compare.stderr + compare.stdout


def _processes_of(job_dir: str) -> list[int]:
    """Processes (any user) whose command line mentions ``job_dir`` (the workers of one run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if job_dir.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@needs_mpi
def test_a_rank_that_dies_fails_the_run_with_exit_4_and_leaves_no_process():
    kill_a_rank("neuron")


def kill_a_rank(backend: str) -> None:
    """Start the E/I network on 2 ranks of ``backend``, SIGKILL rank 1 while it builds or runs: the run
    fails with exit 4 and says so, and no process or file of it is left."""
    model = ei_model(1000, duration="20000 ms")
    job = runner.Job(model, backend, ranks=2)
    process, workdir = job.process, job.workdir
    deadline = time.monotonic() + 120
    while len([n for n in os.listdir(workdir) if n.startswith("pid.")]) < 2:
        assert process.poll() is None and time.monotonic() < deadline, "the ranks did not start"
        time.sleep(0.1)
    victim = int((Path(workdir) / "pid.1").read_text())
    time.sleep(1.0)  # building the network
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(BackendFailure) as failure:
        job.result()
    message = str(failure.value)
    assert failure.value.exit_code == 4
    assert message.startswith(f"{backend} failed on 2 MPI ranks: an MPI rank was killed by signal 9"), message
    time.sleep(0.5)
    assert _processes_of(workdir) == [] and process.poll() is not None
    assert not os.path.exists(workdir)


def test_the_job_a_worker_gets_holds_no_connections_or_trains():
    """The parent pickles the description, not the drawn network: the E/I network with a million
    cells (1e11 connections, a million Poisson trains) travels in a few kB, like the one with 1000."""
    from bridge import limits

    with limits.using(max_memory="100 TiB"):  # the limit is one process's: not what this test is about
        small, large = (len(pickle.dumps(runner.job_for(bridge.from_dict(ei_document(n)), "neuron")))
                        for n in (1000, 1_000_000))
    assert large < 20_000 and abs(large - small) < 200


def test_a_rank_draws_exactly_its_share_of_the_network():
    """Connections and trains drawn for any set of targets are those of the whole network onto them
    (streams per block of targets), so any partition gives the same network."""
    from bridge.backends.partition import Partition

    model = bridge.from_dict(ei_document(2000))
    for projection in model.projections.values():
        every = projection.connector.pairs()
        for ranks in (2, 3):
            for rank in range(ranks):
                mine = Partition(rank, ranks).owned_array(model, projection.target)
                drawn = projection.connector.pairs(mine)
                expected = every[np.isin(every[:, 1], mine)]
                assert np.array_equal(drawn, expected), (projection.name, rank, ranks)
    drive = model.stimuli["drive_E"]
    chosen = np.array([3, 255, 256, 1500])
    for train, index in zip(drive.trains_of(chosen), chosen):
        assert np.array_equal(train, drive.trains[index])
