"""Model input that must never be silently misread: quantities, non-finite values, duplicate keys,
alias bombs, names that reach file names and generated code, and cross-field constraints."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import bridge
from bridge.errors import ModelError
from bridge.units import to_internal

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("text, unit, expected", [
    ("250 pA", "pA", 250.0), ("0.25 nA", "pA", 250.0), ("1e-3 1/ms", "1/ms", 1e-3), ("0.1ms", "ms", 0.1),
    ("-70 mV", "mV", -70.0), ("0.5", "1", 0.5), ("1900 particle/ms", "particle/ms", 1900.0),
])
def test_quantities_read_as_written(text, unit, expected):
    assert to_internal(text, unit, "f") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("value, fragment", [
    ("'20' ms", "does not start with a number"),   # pint alone read this as 1 ms
    ("20 ms 5", "is not a unit"),                   # pint alone read this as 100 ms
    ("nan ms", "does not start with a number"),
    (float("nan"), "is not finite"),
    (float("inf"), "is not finite"),
    ("1e999 ms", "is not finite"),
    ("3 foo", "'foo' in '3 foo' is not a unit"),
])
def test_malformed_or_non_finite_quantities_are_errors(value, fragment):
    with pytest.raises(ModelError, match="f: ") as caught:
        to_internal(value, "ms", "f")
    assert fragment in caught.value.message


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge.cli", *args], capture_output=True, text=True)


def test_duplicate_keys_and_alias_bombs_are_refused(tmp_path):
    """YAML would keep the last of two equal keys; a 1 KB alias bomb expands to 10^8 nodes."""
    (tmp_path / "dup.yaml").write_text((MODELS / "tsodyks_depression.yaml").read_text() + "recordings: {}\n")
    done = run_cli("validate", str(tmp_path / "dup.yaml"))
    assert done.returncode == 2 and "duplicate key 'recordings'" in done.stderr
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [f"{b}: &{b} [{', '.join(['*' + a] * 10)}]"
                                                    for a, b in zip("abcdefg", "bcdefgh")]
    (tmp_path / "bomb.yaml").write_text("\n".join(rows) + "\n")
    done = run_cli("validate", str(tmp_path / "bomb.yaml"))
    assert done.returncode == 2 and "aliases expand to more than" in done.stderr
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("section, name", [("populations", "../x"), ("populations", "/tmp/abs"),
                                           ("recordings", "a/b"), ("stimuli", "with space"), ("projections", "p.q")])
def test_object_names_are_identifiers(section, name):
    """Names become parts of report file names and generated code: one identifier rule for all."""
    document = bridge.load(MODELS / "tsodyks_depression.yaml").document
    document[section] = {name: next(iter(document[section].values()))}
    with pytest.raises(ModelError) as caught:
        bridge.from_dict(document, source="m.yaml")
    assert caught.value.path == f"{section}.{name}" and "is not a name" in caught.value.message


def test_declared_constraints_are_checked_before_any_simulator(tmp_path):
    """NEST refuses V_reset >= V_th inside its kernel (exit 4 before); the type declares it."""
    done = run_cli("validate", str(MODELS / "tsodyks_depression.yaml"), "--set", "populations.post.parameters.V_reset=20 mV")
    assert done.returncode == 2
    assert "V_th = 15 mV, V_reset = 20 mV breaks 'V_reset < V_th'" in done.stderr
    done = run_cli("validate", str(MODELS / "tsodyks_depression.yaml"), "--set", "projections.pre_post.synapse.U=1.5")
    assert done.returncode == 2 and "synapse.U: 1.5 is above the maximum 1" in done.stderr
