"""NEST on several MPI ranks, for real, and which NEST bridge runs.

The PyPI wheel of NEST has no MPI; ``scripts/build-nest-mpi`` builds NEST from source with MPI (into
``.venv/nest-mpi``, or ``$BRIDGE_NEST_PREFIX``).  The tests that need that NEST are skipped, with the
reason, where it is absent (a clean clone: the build takes about 25 min and is not part of the README's
set-up).  What holds with either NEST is tested always: ``bridge info`` tells the truth about MPI (checked
against NEST itself started on 2 ranks), and a NEST without MPI refuses ``--ranks 2`` in one line.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import bridge
from bridge.backends.mpi import command, find_mpiexec
from bridge.backends.nest.install import detect
from conftest import MODELS, ROOT
from test_mpi import assert_identical, bridge_cli, ei_model, kill_a_rank, needs_mpi

NEST = detect()
needs_mpi_nest = pytest.mark.skipif(not (NEST.mpi and find_mpiexec()), reason=(
    f"no NEST with MPI here ({NEST.summary()}); scripts/build-nest-mpi builds one"))


def nest_on_two_ranks() -> subprocess.CompletedProcess:
    """NEST (the one bridge imports) started in 2 processes by mpiexec, each printing
    'NEST-RANK <rank> <processes>'."""
    code = ("from bridge.backends.nest.mapping import import_nest; nest = import_nest(); "
            "import sys; sys.stdout.write(f'NEST-RANK {nest.Rank()} {nest.NumProcesses()}\\n'); sys.stdout.flush()")
    argv, env = command(2, [sys.executable, "-c", code])
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


@needs_mpi
def test_bridge_info_tells_whether_nest_has_mpi_and_nest_agrees():
    info = bridge_cli("info")
    assert info.returncode == 0, info.stderr
    line = next(ln for ln in info.stdout.splitlines() if ln.strip().startswith("nest:"))
    assert ("MPI yes" in line) == NEST.mpi and ("--ranks N yes" in line) == NEST.mpi, line
    assert ("NESTML yes" in line) == NEST.nestml, line
    # NEST itself, started on 2 ranks: an MPI build forms one job of 2 processes; a NEST without MPI
    # (the wheel) refuses to start under an MPI launcher (measured: NEST 3.10.0, exit 127)
    done = nest_on_two_ranks()
    if NEST.mpi:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        reports = sorted(" ".join(ln.split()[1:]) for ln in done.stdout.splitlines() if ln.startswith("NEST-RANK"))
        assert reports == ["0 2", "1 2"]
    else:
        assert done.returncode != 0 and "NEST was not compiled with MPI support" in done.stderr, done.stderr[-2000:]


@pytest.mark.skipif(NEST.mpi, reason="this NEST has MPI: the refusal is for NEST without it")
def test_nest_without_mpi_refuses_ranks_in_one_line():
    done = bridge_cli("run", MODELS / "tsodyks_depression.yaml", "--backend", "nest", "--ranks", "2")
    assert done.returncode == 3, done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("bridge:")]
    assert errors == ["bridge: unsupported on nest: 2 MPI ranks (the installed NEST has no MPI: the PyPI wheel "
                      "has none; scripts/build-nest-mpi builds NEST from source with MPI)"], done.stderr


@needs_mpi_nest
def test_nest_on_two_ranks_gives_the_same_spikes_and_traces():
    """bridge draws every connection and input train itself (per target block, the same for any rank
    count), NEST places the nodes on the ranks: 1 and 2 ranks simulate the same network."""
    model = ei_model(1000)
    one, two = bridge.simulate(model, "nest"), bridge.simulate(model, "nest", ranks=2)
    assert sum(len(t) for t in one.spike_trains["E"]) > 500  # a network that is active
    assert_identical(one, two)
    assert two.metadata["ranks"] == 2 and len(two.metadata["maxrss_mib_per_rank"]) == 2
    assert "MPI yes" in two.metadata["nest"]


@needs_mpi_nest
def test_a_nest_rank_that_dies_fails_the_run_with_exit_4_and_leaves_no_process():
    kill_a_rank("nest")


@needs_mpi_nest
def test_nest_and_neuron_on_two_ranks_agree_spike_by_spike_at_first():
    """The same E/I network on NEST and NEURON, both on 2 ranks: the first 50 ms of spikes (before
    rounding differences can grow in the recurrent network) are those of the single-process runs'
    agreement tests: the same times on the grid."""
    model = ei_model(1000, duration="50 ms")
    nest, neuron = bridge.simulate(model, "nest", ranks=2), bridge.simulate(model, "neuron", ranks=2)
    for population in ("E", "I"):
        for a, b in zip(nest.spike_trains[population], neuron.spike_trains[population]):
            assert np.array_equal(a, b)


def test_the_build_script_documents_itself_and_refuses_bad_usage(tmp_path):
    """scripts/build-nest-mpi (the build itself takes about 25 min; it ran here on 2026-11-30): its
    help, and its exit codes for bad usage (2) and a missing environment (3), before it builds anything."""
    script = str(ROOT / "scripts" / "build-nest-mpi")
    shown = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "--prefix DIR" in shown.stdout and "Exit codes" in shown.stdout
    bad = subprocess.run([script, "--fast"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip() == "build-nest-mpi: unknown option --fast (see --help)"
    missing = subprocess.run([script, "--venv", str(tmp_path / "none")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 3 and missing.stderr.strip() == f"build-nest-mpi: no environment at {tmp_path / 'none'} (--venv)"
