"""The command line, run as a user runs it (real subprocesses)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np

import bridge
from bridge.result import Result


def bridge_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bridge.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_validate_ok_and_invalid(models_dir, tmp_path):
    ok = bridge_cli("validate", *sorted(models_dir.glob("*.yaml")))
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text((models_dir / "tsodyks_depression.yaml").read_text().replace("tau_rec: 800 ms", "tau_rec: -800 ms"))
    result = bridge_cli("validate", bad)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"{bad}: projections.pre_post.synapse.tau_rec: '-800 ms' is not positive "
                                     "(expected a value > 0 ms)")
    assert "Traceback" not in result.stderr


def test_run_writes_npz_csv_and_plot_and_keeps_existing_files(models_dir, tmp_path):
    out, plot = tmp_path / "r.npz", tmp_path / "r.png"
    result = bridge_cli("run", models_dir / "nmda_kinetic.yaml", "--backend", "reference", "--out", out, "--plot", plot)
    assert result.returncode == 0, result.stderr
    loaded = Result.load(out)
    times, v = loaded.signal("cell", "V_m")
    assert len(times) == 4000 and times[0] == 0.1 and v.max() > -65.0
    assert plot.stat().st_size > 10000
    again = bridge_cli("run", models_dir / "nmda_kinetic.yaml", "--out", out)
    assert again.returncode == 2 and "exists and would be overwritten" in again.stderr
    assert Result.load(out).signal("cell", "V_m")[1].tolist() == v.tolist()
    csv = tmp_path / "r.csv"
    assert bridge_cli("run", models_dir / "nmda_kinetic.yaml", "--out", csv).returncode == 0
    assert csv.read_text().splitlines()[0] == "kind,owner,variable,index,time_ms,value,unit"


def test_set_override_changes_the_run(models_dir):
    model = bridge.load(models_dir / "tsodyks_depression.yaml")
    base = bridge.simulate(model, "reference")
    changed = bridge.simulate(bridge.load(models_dir / "tsodyks_depression.yaml",
                                          ["projections.pre_post.synapse.U=0.25"]), "reference")
    _, a = base.signal("post", "I_syn_ex")
    _, b = changed.signal("post", "I_syn_ex")
    # first PSC amplitude is weight * U (x = 1, u = 0 before the first spike)
    assert a.max() == 250.0 * 0.5
    assert b[: np.argmax(a) + 1].max() == 250.0 * 0.25


def test_unknown_backend_is_invalid_input(models_dir):
    """A typo in a backend name is invalid input (exit 2) naming the known backends, for ``run`` and
    for ``compare``, where it used to print AGREE and exit 0 with nothing compared."""
    known = "(expected one of brian2, nest, neuron, reference)"
    result = bridge_cli("run", models_dir / "nmda_kinetic.yaml", "--backend", "genesis")
    assert result.returncode == 2
    assert result.stderr.strip() == f"bridge: command line: --backend: unknown backend 'genesis' {known}"
    typo = bridge_cli("compare", models_dir / "tsodyks_depression.yaml", "--backends", "nest,nuron")
    assert typo.returncode == 2 and "AGREE" not in typo.stdout
    assert typo.stderr.strip().endswith(f"command line: --backends: unknown backend 'nuron' {known}")
    required = bridge_cli("compare", models_dir / "tsodyks_depression.yaml", "--require", "nset")
    assert required.returncode == 2 and "--require: unknown backend 'nset'" in required.stderr


def test_info_lists_reference():
    result = bridge_cli("info")
    assert result.returncode == 0
    assert result.stdout.splitlines()[1].startswith("reference")


def test_result_roundtrip_and_neo(models_dir, tmp_path):
    result = bridge.simulate(bridge.load(models_dir / "tsodyks_depression.yaml"))
    result.save(tmp_path / "r.npz")
    loaded = Result.load(tmp_path / "r.npz")
    assert loaded.spikes("pre")[0].tolist() == result.spikes("pre")[0].tolist()
    block = loaded.to_neo()
    segment = block.segments[0]
    names = {s.name for s in segment.analogsignals}
    assert names == {"post.V_m", "post.I_syn_ex"}
    assert len(segment.spiketrains) == 1 and len(segment.spiketrains[0]) == 20
    signal = next(s for s in segment.analogsignals if s.name == "post.V_m")
    assert str(signal.units.dimensionality) == "mV"


def test_backend_options_from_the_command_line(models_dir):
    cvode = bridge_cli("run", models_dir / "nmda_kinetic.yaml", "--backend", "neuron", "--neuron-cvode")
    assert cvode.returncode == 0, cvode.stderr
    unknown = bridge_cli("run", models_dir / "nmda_kinetic.yaml", "--backend", "neuron", "--option", "neuron.colour=red")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().endswith("--option: neuron has no option 'colour' (expected one of neuron's "
                                           "options: cvode, cvode_atol, cvode_rtol, located_dv, n_sub, secondorder)")
