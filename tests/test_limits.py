"""Resource guards (issue #17, classes 4 and 8): a model's cost is estimated while it is read and a
model above a limit is refused before anything large is allocated, with the estimate in the
message; the limits can be raised; thread counts are bounded."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

import bridge
from bridge import documents, limits
from bridge.errors import LimitError, ModelError

from processes import ROOT, environment

MODEL = ROOT / "models" / "tsodyks_depression.yaml"

HUGE = """\
name: huge
simulation: {duration: 1000 ms, dt: 0.1 ms}
populations:
  a: {type: lif_psc_exp, size: 30000}
stimuli:
  drive: {type: poisson, size: 1, rate: 10 Hz}
projections:
  aa: {source: a, target: a, rule: all_to_all, weight: 1 pA}
recordings:
  v: {population: a, variables: [V_m], indices: [0]}
"""


def validate_measured(path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """``bridge validate`` in a child process; its result and the child's peak memory (MiB)."""
    code = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
            "sys.stderr.write(done.stderr); sys.exit(done.returncode)")
    done = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "bridge.cli", "validate", str(path), *args],
                          capture_output=True, text=True, env=environment(), cwd=ROOT, timeout=300)
    return done, float(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("change, field, fragment", [
    ({}, "projections.aa.rule", "all_to_all from 30000 onto 30000 cells makes 9e+08 connections: about 335 GiB"),
    ({"stimuli": {"drive": {"type": "poisson", "size": 1, "rate": "1e12 Hz"}}}, "stimuli.drive.rate",
     "1 train at 1e+12 Hz for 1000 ms draw about 1e+12 input spikes: about 29.1 TiB"),
    ({"simulation": {"duration": "1e12 ms", "dt": "0.1 ms"}}, "simulation.dt", "makes 1e+13 time steps"),
    ({"simulation": {"duration": "1000 ms", "dt": "1e-300 ms"}}, "simulation.dt", "makes 1e+303 time steps"),
    ({"populations": {"a": {"type": "lif_psc_exp", "size": 10**12}}}, "populations.a.size", "1000000000000 cells"),
])
def test_costly_models_are_refused_before_anything_is_allocated(tmp_path, change, field, fragment):
    """30000 x 30000 all_to_all would take 14 GB for the pairs alone, 1e12 Hz or 1e-300 ms would run
    out of memory or never finish: each is refused while the file is read (the process stays small)."""
    document = yaml.safe_load(HUGE)
    document.update(change)
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(document))
    done, peak_mib = validate_measured(path)
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert line.count("\n") == 0 and line.startswith(f"{path}: {field}: ") and fragment in line
    assert "--max-memory" in line or "--max-steps" in line
    assert peak_mib < 300


def test_limits_are_documented_defaults_and_can_be_raised(tmp_path):
    document = yaml.safe_load(HUGE)
    document["populations"]["a"]["size"] = 1000   # 1e6 connections: about 380 MiB
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(document))
    refused, _ = validate_measured(path, "--max-memory", "300 MiB")
    assert refused.returncode == 2 and "above the memory limit of 300 MiB" in refused.stderr
    accepted, _ = validate_measured(path, "--max-memory", "1 GiB")
    assert accepted.returncode == 0, accepted.stderr
    steps, _ = validate_measured(path, "--max-steps", "5000")
    assert steps.returncode == 2 and "makes 1e+04 time steps, above the limit of 5e+03" in steps.stderr
    with limits.using(max_memory="300 MiB"), pytest.raises(LimitError):
        bridge.load(path)
    with limits.using(max_memory="1 GiB"):
        model = bridge.load(path)
    assert model.estimate.connections == 10**6 and 350 * 2**20 < model.estimate.bytes < 1 << 30
    assert limits.Limits.default().max_memory == limits.physical_memory()
    assert limits.Limits.default().max_steps == limits.DEFAULT_MAX_STEPS


def test_the_environment_sets_the_limits(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bridge.cli", "validate", str(MODEL)], capture_output=True, text=True,
                          env=environment(BRIDGE_MAX_STEPS="1000"), cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "above the limit of 1e+03 (expected fewer steps" in done.stderr


def test_a_refused_model_is_refused_at_another_time_step_too():
    """``--dt`` rebuilds the model at the new step: its estimate is checked again."""
    with limits.using(max_steps=20000):
        model = bridge.load(MODEL)   # 12000 steps
        with pytest.raises(LimitError, match="makes 2.4e\\+04 time steps"):
            bridge.simulate(model, "reference", dt=0.05)


@pytest.mark.parametrize("threads", ["0", "-1", "1000000"])
def test_thread_counts_are_bounded(threads):
    """NEST crashed (exit 4 with a bare signal number) when asked for a million threads."""
    done = subprocess.run([sys.executable, "-m", "bridge.cli", "run", str(MODEL), "--backend", "nest", "--threads",
                           threads], capture_output=True, text=True, env=environment(), cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("--threads: " in done.stderr) if threads in ("0", "-1") else \
        ("simulation.threads: 1000000 threads are more than bridge allows (expected an integer from 1 to 1024"
         in done.stderr)


def test_yaml_is_read_by_libyaml_with_bounded_aliases(tmp_path):
    """The C loader (a 50 MB file parsed in seconds) with the alias bound of bridge.documents."""
    assert documents._Base is yaml.CSafeLoader
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{b}: &{b} [{', '.join(['*' + a] * 10)}]\n" for a, b in zip("abcdefg", "bcdefgh")))
    with pytest.raises(ModelError, match="aliases expand to more than"):
        documents.read_document(bomb)


def test_the_memory_measurement_sees_drawn_connections(tmp_path):
    """The peak-memory bound of the refusals above means something: validating draws nothing (the
    worker draws each block of connections, see bridge.model.drawing), but a process that draws the
    1.6e7 pairs of a model allowed by a higher limit does hold them (122 MiB) in the same
    measurement."""
    document = yaml.safe_load(HUGE)
    document["populations"]["a"]["size"] = 4000
    path = tmp_path / "drawn.yaml"
    path.write_text(yaml.safe_dump(document))
    done, validate_mib = validate_measured(path, "--max-memory", "20 GiB")
    assert done.returncode == 0, done.stderr
    code = ("import resource, sys, bridge; from bridge import limits\n"
            "with limits.using(max_memory='20 GiB'):\n    model = bridge.load(sys.argv[1])\n"
            "print(sum(len(p.pairs) for p in model.projections.values()))\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    drawn = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                           env=environment(), cwd=ROOT, timeout=300)
    assert drawn.returncode == 0, drawn.stderr
    pairs, drawn_mib = (float(line) for line in drawn.stdout.split())
    assert pairs == 4000 * 4000
    # the pairs alone are 1.6e7 x 2 int32 = 122 MiB: the drawing process holds at least that much more
    assert drawn_mib - validate_mib > 0.9 * pairs * 8 / 2**20
