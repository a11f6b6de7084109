"""Names and output files (issue #17, classes 1 and 2): no name reaches the file system unchecked,
every destination is checked before anything runs, nothing is overwritten without ``--force``, and
files are written through exclusive temporary files without following planted symlinks."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import bridge
from bridge.errors import ModelError
from bridge.harness import compare, write
from bridge.outputs import atomic_file, inside, safe_name
from bridge.result import Result

from processes import ROOT, bridge as bridge_cli, make_writable, permissions_apply, read_only

MODEL = ROOT / "models" / "tsodyks_depression.yaml"
NETWORK = ROOT / "models" / "spine_camkii.yaml"


@pytest.mark.parametrize("name", ["../x", "/tmp/abs", "a/b", "..", "a.b", "with space", "x\0y", "", "é"])
def test_safe_names_stay_plain_file_names(name):
    made = safe_name(name, "V_m", suffix=".png")
    assert made.endswith(".png") and "/" not in made and not made.startswith(".") and "\0" not in made
    assert inside("/some/dir", made).parent.as_posix() == "/some/dir"
    with pytest.raises(ValueError):
        inside("/some/dir", name if "/" in name or name in ("..", "") else "../" + name)


@pytest.mark.parametrize("section, key, name", [
    ("network", "name", "../x"), ("network.readouts", None, "a/b"), ("network.species", None, "../Ca"),
    ("network.reactions", None, "x/y"),
])
def test_network_names_that_would_leave_a_directory_are_refused(section, key, name):
    """Species, read-out, reaction and network names become plot file names and generated code too."""
    document = bridge.load(NETWORK).document
    node = document
    for part in section.split("."):
        node = node[part]
    if key:
        node[key] = name
    else:
        first = next(iter(node))
        node[name] = node.pop(first)
    with pytest.raises(ModelError) as caught:
        bridge.from_dict(document, "m.yaml")
    assert caught.value.path.startswith("network")


def test_a_report_never_writes_outside_its_directory(tmp_path):
    """Whatever names a result holds (a third-party backend's, say), the report's files are plain
    names inside the report directory."""
    comparison = compare(MODEL, backends=["nest"])
    for result in comparison.results.values():
        result.signals = {("../../escaped", variable) if owner == "post" else (owner, variable): signal
                          for (owner, variable), signal in result.signals.items()}
        result.spike_trains = {"/tmp/absolute": trains for trains in result.spike_trains.values()}
    report = tmp_path / "deep" / "report"
    files = write(comparison, report)
    assert sorted(p.name for p in report.iterdir()) == sorted(files)
    assert {p.name for p in tmp_path.rglob("*")} == {"deep", "report", *files}
    assert "______escaped.V_m.png" in files and "_tmp_absolute.spikes.png" in files
    assert json.loads((report / "report.json").read_text())["plots"] == files[1:]


def test_one_file_for_two_outputs_is_refused_before_the_run(tmp_path):
    target = tmp_path / "x.npz"
    done = bridge_cli("run", MODEL, "--out", target, "--plot", target)
    assert done.returncode == 2 and "--plot: " in done.stderr and "is also the --out file" in done.stderr
    assert "running" not in done.stderr and not target.exists()


@pytest.mark.parametrize("option, name", [("--out", "r.npz"), ("--plot", "r.png")])
def test_existing_files_are_kept_unless_forced(tmp_path, option, name):
    target = tmp_path / name
    target.write_bytes(b"the user's own file")
    refused = bridge_cli("run", MODEL, option, target)
    assert refused.returncode == 2 and "exists and would be overwritten" in refused.stderr
    assert "running" not in refused.stderr and target.read_bytes() == b"the user's own file"
    forced = bridge_cli("run", MODEL, option, target, "--force")
    assert forced.returncode == 0, forced.stderr
    assert target.read_bytes() != b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]   # no temporary file left beside it


def test_a_report_directory_is_never_overwritten_without_force(tmp_path):
    report = tmp_path / "report"
    first = bridge_cli("compare", MODEL, "--backends", "nest", "--report", report)
    assert first.returncode == 0, first.stderr
    plots = json.loads((report / "report.json").read_text())["plots"]
    before = {name: (report / name).read_bytes() for name in plots}
    again = bridge_cli("compare", MODEL, "--backends", "nest", "--report", report)
    assert again.returncode == 2 and "--report: " in again.stderr and "already holds files" in again.stderr
    assert "comparing" not in again.stderr
    assert {name: (report / name).read_bytes() for name in plots} == before
    # --force: bridge's files are replaced, the plots of the old report that the new one lacks are
    # removed, and a file of the user's stays
    (report / "notes.txt").write_text("mine")
    (report / "old.V_m.png").write_bytes(b"stale")
    listed = json.loads((report / "report.json").read_text())
    listed["plots"].append("old.V_m.png")
    (report / "report.json").write_text(json.dumps(listed))
    forced = bridge_cli("compare", MODEL, "--backends", "nest", "--report", report, "--force",
                        "--set", "nest:projections.pre_post.synapse.U=0.45")
    assert forced.returncode == 1, forced.stderr
    assert json.loads((report / "report.json").read_text())["verdict"] == "DISAGREE"
    assert sorted(p.name for p in report.iterdir()) == sorted(["report.json", "notes.txt", *plots])


@pytest.mark.parametrize("option", ["--out", "--plot", "--report"])
def test_an_unwritable_destination_is_refused_before_the_run(tmp_path, option):
    """A read-only directory (permissions apply: root's override is dropped for the child)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    read_only(locked)
    command = "compare" if option == "--report" else "run"
    target = locked / {"--out": "r.npz", "--plot": "r.png", "--report": "report"}[option]
    try:
        done = bridge_cli(command, MODEL, "--backends" if command == "compare" else "--backend", "nest",
                          option, target, **permissions_apply())
    finally:
        make_writable(locked)
    assert done.returncode == 2, done.stderr
    assert f"{option}: cannot write into" in done.stderr and "Permission denied" in done.stderr
    assert "running" not in done.stderr and "comparing" not in done.stderr
    assert list(locked.iterdir()) == []


def test_a_planted_symlink_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("must stay")
    planted = tmp_path / "r.npz"
    planted.symlink_to(victim)
    done = bridge_cli("run", MODEL, "--out", planted, "--force")
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "must stay"
    assert not planted.is_symlink() and Result.load(planted).signals


def test_atomic_files_leave_nothing_when_writing_fails(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as handle:
            handle.write(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["out.bin"]
    with atomic_file(target) as handle:
        handle.write(np.arange(3).tobytes())
    assert target.read_bytes() == np.arange(3).tobytes() and sorted(os.listdir(tmp_path)) == ["out.bin"]
