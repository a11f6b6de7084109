"""The reaction-network tools of issue #18: protocols, rate multipliers, variants and controls, recording
windows, true peaks over every solver step, run summaries, sweeps, plots and Brian2's feasibility checks.

Every run is a real simulator run.  Expected values come from closed forms (an inert species that
only integrates its injection; first-order decay), from the paper's published run scripts (ModelDB
260971: NEURON/runfig3-4.sh, runfig11.sh, runfig3_1.sh), or from the reference solver; never from the
code under test.
"""
from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bridge
from bridge.backends.brian2 import Brian2Backend
from bridge.backends.neuron import kinetic
from bridge.backends.reference.reactions import NetworkSolverOptions, integrate
from bridge.errors import ModelError, UnsupportedError
from bridge.model import from_dict, load, read_document
from bridge.model.reactions import AVOGADRO
from bridge.model.variants import control_overrides, variant_names, variant_overrides
from bridge.network_plot import plot_network_run, time_unit
from bridge.network_summary import format_summary, summarise
from bridge.sweep import parse_sets, plan, split_values, sweep, write
from conftest import expect_error

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
BACKENDS = ["reference", "neuron", "brian2"]


def model_dict(species, reactions=None, protocol=None, injections=None, duration="30 ms", dt="0.01 ms",
               recordings=None, readouts=None, variants=None):
    """A tiny network ``net`` (volume 1 µm³) recording every species every 10 ms unless told otherwise."""
    network = {"name": "net", "volume": "1 um**3", "species": species, "reactions": reactions or {}}
    for key, value in (("protocol", protocol), ("injections", injections), ("readouts", readouts)):
        if value:
            network[key] = value
    document = {"name": "tiny", "simulation": {"duration": duration, "dt": dt}, "network": network,
                "recordings": recordings or {"all": {"population": "net", "variables": list(species),
                                                     "interval": "10 ms"}}}
    if variants:
        document["variants"] = variants
    return document



# ------------------------------------------------------------------ protocols
TRAIN = {"name": "burst", "onset": "100 ms", "pulses": 3, "frequency": "50 Hz", "pulse_duration": "3 ms",
         "trains": 2, "train_gap": "100 ms", "fluxes": {"X": "2 nM/ms", "Y": "1 nM/ms"}}


def test_protocol_expands_into_co_injected_pulses():
    """3 pulses at 50 Hz (every 20 ms) of 3 ms: a train spans 2*20 + 3 = 43 ms, so a gap of 100 ms puts
    the second train at 100 + 143 ms; X and Y are pulsed together."""
    model = from_dict(model_dict({"X": "0 nM", "Y": "0 nM"}, protocol=TRAIN, duration="400 ms"))
    network = model.network
    onsets = [100, 120, 140, 243, 263, 283]
    for species, rate in (("X", 2.0), ("Y", 1.0)):
        pulses = [i for i in network.injections if i.species == species]
        assert [p.onset for p in pulses] == onsets
        assert all(p.duration == 3.0 and p.rate == rate for p in pulses)
    assert network.protocol.train_interval == 143.0 and network.protocol.end == 286.0
    same = copy.deepcopy(TRAIN)
    del same["train_gap"], same["frequency"]
    same.update(train_interval="143 ms", period="20 ms")
    again = from_dict(model_dict({"X": "0 nM", "Y": "0 nM"}, protocol=same, duration="400 ms")).network
    assert [(i.species, i.onset) for i in again.injections] == [(i.species, i.onset) for i in network.injections]


def test_one_override_changes_every_co_injected_species():
    document = model_dict({"X": "0 nM", "Y": "0 nM"}, protocol=TRAIN, duration="600 ms")
    from bridge.model.loader import apply_overrides

    model = from_dict(apply_overrides(document, ["network.protocol.frequency=25 Hz"]))
    for species in ("X", "Y"):
        onsets = [i.onset for i in model.network.injections if i.species == species]
        assert onsets[:3] == [100, 140, 180]                 # every 40 ms
        assert onsets[3] == 100 + (2 * 40 + 3) + 100         # the gap is kept: 283 ms


@pytest.mark.parametrize("change,path,word", [
    ({"frequency": "400 Hz"}, "network.protocol.frequency", "not longer than a pulse"),
    ({"period": "20 ms"}, "network.protocol.period", "both 'frequency' and 'period'"),
    ({"train_gap": None, "train_interval": "40 ms"}, "network.protocol.train_interval", "trains must not overlap"),
    ({"train_interval": "400 ms"}, "network.protocol.train_gap", "both 'train_interval' and 'train_gap'"),
    ({"fluxes": {"Q": "1 nM/ms"}}, "network.protocol.fluxes.Q", "unknown species"),
    ({"fluxes": {"X": "-1 nM/ms"}}, "network.protocol.fluxes.X", "negative"),
    ({"fluxes": {"X": "1 mV/ms"}}, "network.protocol.fluxes.X", "particle/ms"),
    ({"frequency": None}, "network.protocol.frequency", "missing 'frequency' for 3 pulses"),
    ({"pulse_duration": "0 ms"}, "network.protocol.pulse_duration", "not positive"),
    ({"colour": "red"}, "network.protocol.colour", "unknown field"),
])
def test_protocol_errors_name_the_field(change, path, word):
    protocol = {**TRAIN, **change}
    expect_error(model_dict({"X": "0 nM", "Y": "0 nM"}, protocol={k: v for k, v in protocol.items() if v is not None},
                            duration="400 ms"), path, word)


def test_zero_flux_keeps_the_species_injectable():
    """A rate of 0 injects nothing but keeps the flux variable: a control shares the generated mechanism."""
    protocol = {**TRAIN, "fluxes": {"X": "2 nM/ms", "Y": "0 nM/ms"}}
    model = from_dict(model_dict({"X": "0 nM", "Y": "0 nM", "Z": "0 nM"}, protocol=protocol, duration="400 ms"))
    assert {i.species for i in model.network.injections} == {"X"}
    assert model.network.injected_species == ["X", "Y"]
    for path in MODELS.glob("spine_*.yaml"):
        document = read_document(path)
        base = load(path).network
        control = load(path, variant_overrides(document, "control", str(path))).network
        assert kinetic.network_mod(control) == kinetic.network_mod(base), path.name
        for name in variant_names(document):   # the generated text depends on the structure only
            variant = load(path, variant_overrides(document, name, str(path))).network
            assert variant.injected_species == base.injected_species, (path.name, name)


# ------------------------------------------------------------------ rate multipliers
def test_rate_multipliers_scale_the_rate_constants():
    reaction = {"reactants": {"A": 1}, "products": {"B": 1}, "forward": "0.3 1/ms", "reverse": "0.1 1/ms"}
    for given, forward, reverse in [({"scale": 2}, 0.6, 0.2), ({"forward_scale": 10}, 3.0, 0.1),
                                    ({"reverse_scale": 0}, 0.3, 0.0), ({"scale": 0.5, "forward_scale": 4}, 0.6, 0.05)]:
        r = from_dict(model_dict({"A": "1 nM", "B": "0 nM"}, {"r": {**reaction, **given}})).network.reactions[0]
        assert (r.forward, r.reverse) == pytest.approx((forward, reverse), rel=1e-15)
    expect_error(model_dict({"A": "1 nM", "B": "0 nM"}, {"r": {**reaction, "scale": -1}}),
                 "network.reactions.r.scale", "0 blocks")


# ------------------------------------------------------------------ variants
VARIANTS = {"no_Y": {"description": "without Y", "set": {"network.protocol.fluxes.Y": "0 nM/ms"}},
            "fast": {"set": {"network.protocol.frequency": "100 Hz"}}}


def test_variants_and_the_built_in_control():
    document = model_dict({"X": "0 nM", "Y": "0 nM"}, protocol=TRAIN, duration="400 ms", variants=VARIANTS)
    from bridge.model.loader import apply_overrides

    assert variant_names(document) == ["base", "control", "no_Y", "fast"]
    no_y = from_dict(apply_overrides(document, variant_overrides(document, "no_Y")))
    assert {i.species for i in no_y.network.injections} == {"X"}
    control = from_dict(apply_overrides(document, control_overrides(document)))
    assert control.network.injections == [] and control.network.injected_species == ["X", "Y"]
    with pytest.raises(ModelError, match="unknown variant 'slow'"):
        variant_overrides(document, "slow")
    bad = copy.deepcopy(document)
    bad["variants"]["control"] = {"set": {"network.volume": "1 um**3"}}
    expect_error(bad, "variants.control", "built-in")
    bad["variants"] = {"empty": {"set": {}}}
    expect_error(bad, "variants.empty.set", "sets nothing")


#: fluxes (particles/ms) of the paper's Fig. 4 columns, from ModelDB 260971 NEURON/runfig3-4.sh
#: (CAFLUXES, LFLUXES, GLUFLUXES, ACHFLUXES; columns 3-9)
FIG4 = {("spine_4xhfs.yaml", "base"): (1900, 10, 20, 20), ("spine_4xhfs.yaml", "no_Ca"): (0, 10, 20, 20),
        ("spine_4xhfs.yaml", "no_L"): (1900, 0, 20, 20), ("spine_4xhfs.yaml", "no_Glu"): (1900, 10, 0, 20),
        ("spine_4xhfs.yaml", "no_Glu_ACh"): (1900, 10, 0, 0), ("spine_lfs.yaml", "base"): (1900, 10, 20, 20),
        ("spine_lfs.yaml", "no_Glu"): (1900, 10, 0, 20), ("spine_lfs.yaml", "half_Glu"): (1900, 10, 10, 20),
        ("spine_lfs.yaml", "no_Glu_ACh"): (1900, 10, 0, 0)}


@pytest.mark.parametrize("file,variant", list(FIG4))
def test_fig4_variants_inject_what_the_paper_scripts_inject(file, variant):
    """Each species' pulses: 400 (4xHFS: 4 trains of 100) or 900 (LFS) at the script's flux, converted
    with the spine's 0.5 µm³ (particles/ms / (N_A V) = nM/ms)."""
    path = MODELS / file
    model = load(path, variant_overrides(read_document(path), variant, str(path)))
    pulses = 400 if "4xhfs" in file else 900
    for species, flux in zip(("Ca", "L", "Glu", "ACh"), FIG4[(file, variant)]):
        rates = [i.rate for i in model.network.injections if i.species == species]
        expected_rate = flux / (AVOGADRO * 0.5e-15) * 1e9
        assert len(rates) == (pulses if flux else 0), species
        assert all(r == pytest.approx(expected_rate, rel=1e-12) for r in rates), species


#: protocol shapes of the paper's Fig. 9 fits, ModelDB 260971 NEURON/protocols_many.py (Ca_input_Ns,
#: Ca_input_freqs (Hz), Ca_input_Ntrains, Ca_input_trainTs (ms, onset to onset), Ca_input_durs (ms))
SHAPES = {"hfs_1x100": (100, 100, 1, None, 3), "hfs_156_312Hz": (156, 312, 1, None, 3),
          "tbs_10x4": (4, 100, 10, 200, 3), "tbs_50x4": (4, 100, 50, 200, 3), "lfs_50_0.1Hz": (50, 0.1, 1, None, 3),
          "lfs_180_1Hz_15ms": (180, 1, 1, None, 15), "hfs_25x5": (5, 100, 25, 1000, 3)}


@pytest.mark.parametrize("variant", list(SHAPES))
def test_protocol_shape_variants_follow_protocols_many(variant):
    pulses, hz, trains, train_t, duration = SHAPES[variant]
    path = MODELS / "spine_4xhfs.yaml"
    model = load(path, variant_overrides(read_document(path), variant, str(path)))
    onsets = np.array([i.onset for i in model.network.injections if i.species == "Ca"])
    expected = 4_040_000 + np.add.outer(np.arange(trains) * (train_t or 0), np.arange(pulses) * 1000.0 / hz).ravel()
    np.testing.assert_allclose(onsets, np.sort(expected), rtol=0, atol=1e-6)
    assert {i.duration for i in model.network.injections} == {duration}


def test_fig11_variants_scale_the_paper_scripts_rates():
    """runfig11.sh: ks 385/387/389 (GluR2 insertion, forward) x 22.4; ks 166-236 (S831 phosphorylation by
    PKC, 8 catalytic steps) x 0."""
    path = MODELS / "spine_4xhfs.yaml"
    document = read_document(path)
    base = {r.name: r for r in load(path).network.reactions}
    scaled = {r.name: r for r in load(path, variant_overrides(document, "glur2_insertion_x22.4")).network.reactions}
    for name in ("GluR2_insmemb", "GluR2_PKCt_insmemb", "GluR2_PKCp_insmemb"):
        assert scaled[name].forward == pytest.approx(22.4 * 0.24545e-3, rel=1e-12)   # ks[385] = 0.00024545 /ms
        assert scaled[name].reverse == base[name].reverse
    blocked = {r.name: r for r in load(path, variant_overrides(document, "no_PKC_S831")).network.reactions}
    names = [n for n in base if re.fullmatch(r"GluR1_(memb_)?(S845_)?PKC[tp]_diss", n)]
    assert len(names) == 8 and all(blocked[n].forward == 0 for n in names)
    assert sum(blocked[n].forward != base[n].forward for n in base) == 8


def test_every_shipped_variant_is_valid():
    result = subprocess.run([sys.executable, "-m", "bridge.cli", "validate", "--variants",
                             *sorted(map(str, MODELS.glob("spine_*.yaml")))], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------ windows, peaks, summaries
def test_recording_windows_sample_the_multiples_of_their_interval():
    recordings = {"coarse": {"population": "net", "variables": ["X"], "interval": "10 ms"},
                  "fine": {"population": "net", "variables": ["X"], "interval": "5 ms", "start": "12 ms",
                           "stop": "31 ms"}}
    model = from_dict(model_dict({"X": "1 nM"}, recordings=recordings, duration="50 ms"))
    assert model.sample_times(model.recordings["fine"]).tolist() == [15, 20, 25, 30]
    expect_error(model_dict({"X": "1 nM"}, recordings={"w": {**recordings["fine"], "stop": "12 ms"}}),
                 "recordings.w.stop", "not after the start")
    expect_error(model_dict({"X": "1 nM"}, recordings={"w": {**recordings["fine"], "stop": "14 ms"}}),
                 "recordings.w.stop", "no multiple of the interval (5 ms) in [12, 14] ms")


#: A with first-order decay (k = 0.1/ms) from 5 nM, injected at 2 nM/ms during [10, 13) ms; sampled
#: every 10 ms, which misses the peak at the end of the pulse (13 ms).
K, A0, RATE = 0.1, 5.0, 2.0


def decay_exact(t):
    t = np.asarray(t, dtype=float)
    a10 = A0 * np.exp(-K * 10)
    a13 = a10 * np.exp(-3 * K) + RATE / K * (1 - np.exp(-3 * K))
    during = a10 * np.exp(-K * (t - 10)) + RATE / K * (1 - np.exp(-K * (t - 10)))
    return np.where(t < 10, A0 * np.exp(-K * t), np.where(t <= 13, during, a13 * np.exp(-K * (t - 13))))


def decay_model(product: bool = False, **kwargs):
    """A decays (into nothing, or into B with ``product``: then NEURON's KINETIC block treats it implicitly)."""
    recordings = {"coarse": {"population": "net", "variables": ["A", "A_N"], "interval": "10 ms"},
                  "fine": {"population": "net", "variables": ["A"], "interval": "0.5 ms", "start": "9 ms",
                           "stop": "16 ms"}}
    species = {"A": f"{A0} nM", **({"B": "0 nM"} if product else {})}
    return model_dict(species, {"decay": {"reactants": {"A": 1}, "products": {"B": 1} if product else {},
                                          "forward": f"{K} 1/ms"}},
                      protocol={"name": "pulse", "onset": "10 ms", "pulse_duration": "3 ms",
                                "fluxes": {"A": f"{RATE} nM/ms"}},
                      readouts={"A_N": {"sum": ["A"], "unit": "particles"}}, recordings=recordings, **kwargs)


@pytest.fixture(scope="module")
def decay_runs():
    model = from_dict(decay_model())
    options = {"brian2": {"target": "numpy"}}
    return model, {b: bridge.simulate(model, b, options=options.get(b)) for b in BACKENDS}


@pytest.mark.parametrize("backend", BACKENDS)
def test_true_peak_over_every_step(decay_runs, backend):
    """The samples (every 10 ms) miss the pulse; the peak over every solver step is the closed form's
    A(13 ms), at 13 ms; the minimum is at the end (30 ms).  Windows merge into the signal."""
    model, results = decay_runs
    result = results[backend]
    t, a = result.signal("net", "A")
    assert t.tolist() == [9.0 + 0.5 * k for k in range(15)] + [20.0, 30.0]   # 0.5 ms in [9, 16], 10 ms
    np.testing.assert_allclose(a, decay_exact(t), rtol=1e-6)
    peak = result.metadata["extremes"]["net.A"]
    assert peak["max"] == pytest.approx(float(decay_exact(13.0)), rel=1e-6)
    assert peak["t_max"] == pytest.approx(13.0, abs=1e-6)
    assert peak["min"] == pytest.approx(float(decay_exact(30.0)), rel=1e-6) and peak["t_min"] == pytest.approx(30.0)
    coarse = result.signal("net", "A_N")[1]
    assert coarse.max() < 0.6 * peak["max"] * 0.602214076   # what the 10 ms samples alone would show
    assert result.signals[("net", "A_N")].unit == "particles"
    np.testing.assert_allclose(coarse, decay_exact([10, 20, 30]) * 0.602214076, rtol=1e-6)   # nM x N_A x 1 um3


def test_neuron_fixed_step_samples_and_peak():
    """NEURON's fixed step (cvode = False) is backward Euler on the KINETIC reaction A -> B:
    A_{n+1} = (A_n + dt r_n) / (1 + k dt), with the injection r_n = RATE for the steps ending in
    (10, 13] ms (an event at t acts from the step after t).  Samples (both windows, merged) and the peak
    over every step follow that recurrence; the run is taken in chunks (the per-step records are
    cleared between them)."""
    model = from_dict(decay_model(product=True))
    result = bridge.simulate(model, "neuron", options={"cvode": False})
    dt, steps = 0.01, 3000
    a = np.empty(steps + 1)
    a[0] = A0
    for n in range(steps):
        t_end = (n + 1) * dt
        rate = RATE if 10 + 1e-9 < t_end <= 13 + 1e-9 else 0.0
        a[n + 1] = (a[n] + dt * rate) / (1 + K * dt)
    t, values = result.signal("net", "A")
    np.testing.assert_allclose(values, a[np.rint(t / dt).astype(int)], rtol=1e-9)
    peak = result.metadata["extremes"]["net.A"]
    assert peak["max"] == pytest.approx(a.max(), rel=1e-9) and peak["t_max"] == pytest.approx(13.0)
    assert result.metadata["chunks"] > 1


def test_reference_keeps_only_the_recorded_species():
    model = from_dict(model_dict({"A": "1 nM", "B": "0 nM", "C": "0 nM"},
                                 {"r": {"reactants": {"A": 1}, "products": {"B": 1}, "forward": "0.1 1/ms"}}))
    values, _ = integrate(model.network, 30.0, np.array([10.0, 20.0, 30.0]), NetworkSolverOptions(), keep=[1])
    assert values.shape == (3, 1)
    np.testing.assert_allclose(values[:, 0], 1 - np.exp(-0.1 * np.array([10, 20, 30])), rtol=1e-8)


INERT = {"name": "train", "onset": "10 ms", "pulses": 3, "frequency": "50 Hz", "pulse_duration": "3 ms",
         "fluxes": {"X": "2 nM/ms"}}


def inert_path(tmp_path, **protocol) -> str:
    """X (100 nM) only integrates its injection: 3 pulses x 3 ms x 2 nM/ms = +18 nM by 53 ms."""
    import yaml

    path = tmp_path / "inert.yaml"
    document = model_dict({"X": "100 nM", "D": "1 nM"}, {"d": {"reactants": {"D": 1}, "products": {},
                                                            "forward": "0.01 1/ms"}},
                          protocol={**INERT, **protocol}, duration="100 ms", dt="1 ms")
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_run_summary_against_the_control(tmp_path):
    """bridge run --control: X goes 100 -> 118 nM (+18 %), its control stays at 100 nM; D decays the
    same in both (D = exp(-0.01 t) nM: exp(-1) at the end, exp(-0.9) - 1 = -59.34 % from the onset at
    10 ms, 0 % against the control).  Printed with 5 significant digits."""
    result = subprocess.run([sys.executable, "-m", "bridge.cli", "run", inert_path(tmp_path), "--backend", "neuron",
                             "--control"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.startswith("  X ")
             or line.startswith("  D ")}
    x = lines["X"]
    assert x[2:4] == ["100", "118"] and x[4:8] == ["+18.00", "%", "+18.00", "%"]
    d = lines["D"]
    assert float(d[3]) == pytest.approx(math.exp(-1), rel=2e-5)
    assert d[4] == f"{100 * (math.exp(-0.9) - 1):+.2f}" and abs(float(d[6])) < 0.005


def test_run_options_refuse_bad_input():
    for args, message in [
        (["run", MODELS / "spine_camkii.yaml", "--variant", "nope"],
         "spine_camkii.yaml: --variant: unknown variant 'nope' (expected one of base, control)"),
        (["run", MODELS / "tsodyks_depression.yaml", "--control"],
         "tsodyks_depression.yaml: --control: the model has no 'network' section (expected a reaction-network model)")]:
        result = subprocess.run([sys.executable, "-m", "bridge.cli", *map(str, args)], capture_output=True, text=True)
        assert result.returncode == 2 and result.stderr.strip().endswith(message), result.stderr


def test_summary_values_and_format(tmp_path):
    model = load(inert_path(tmp_path))
    result = bridge.simulate(model, "reference")
    summary = summarise(model, result)
    x = summary.row("X")
    assert (x.onset, x.end) == pytest.approx((100.0, 118.0), rel=1e-9) and x.onset_exact
    assert x.change == pytest.approx(0.18, rel=1e-9) and math.isnan(x.change_vs_control)
    assert x.peak == pytest.approx(118.0, rel=1e-9) and x.t_peak == pytest.approx(53.0)
    text = format_summary(summary)
    assert "train: 3 pulses at 50 Hz (3 ms) injecting X, from 10 ms" in text and "+18.00 %" in text


# ------------------------------------------------------------------ sweeps
def test_sweep_values_split_outside_brackets():
    assert split_values("10 Hz, 20 Hz,[1, 2],{a: 1, b: 2}") == ["10 Hz", "20 Hz", "[1, 2]", "{a: 1, b: 2}"]
    fixed, swept = parse_sets(["a.b=1", "c.d=1,2"])
    assert fixed == ["a.b=1"] and swept == {"c.d": ["1", "2"]}
    with pytest.raises(ModelError, match="empty value"):
        parse_sets(["a=1,,2"])


def test_sweep_over_pulse_counts(tmp_path):
    """n pulses of 3 ms at 2 nM/ms: X ends at 100 + 6 n nM, i.e. +6 n % against the control (one
    control run for all points: they differ only in the protocol)."""
    result = sweep(inert_path(tmp_path), ["network.protocol.pulses=1,2,4"], backend="reference", readout="X")
    assert len(result.controls) == 1 and len(result.results) == 4
    rows = result.rows()
    assert [r["protocol.pulses"] for r in rows] == ["1", "2", "4"]
    for n, row in zip((1, 2, 4), rows):
        assert row["change vs control (%)"] == pytest.approx(6.0 * n, rel=1e-9)
        assert row["change vs onset (%)"] == pytest.approx(6.0 * n, rel=1e-9)
    files = write(result, str(tmp_path / "out"))
    assert {"sweep.csv", "sweep.md", "sweep.png", "runs/index.json"} <= set(files)
    assert (tmp_path / "out" / "sweep.csv").read_text().splitlines()[0].startswith("protocol.pulses,X at onset")
    with pytest.raises(ModelError, match="already holds files"):
        write(result, str(tmp_path / "out"))


def test_sweep_over_a_rate_runs_one_control_per_value(tmp_path):
    """D decays at 0.01 x scale /ms: D(100 ms) = exp(-scale), in the run and in its own control."""
    result = sweep(inert_path(tmp_path), ["network.reactions.d.scale=0.5,1,2"], backend="neuron", readout="X")
    assert len(result.controls) == 3
    for point, scale in zip(result.points, (0.5, 1, 2)):
        d = result.summary(point).row("D")
        assert d.end == pytest.approx(math.exp(-scale), rel=1e-6)
        # two CVODE runs (rtol 1e-8), each within 1e-6 of exp(-scale): their ratio within 2e-6 of 1
        assert d.change_vs_control == pytest.approx(0.0, abs=2e-6)


def test_sweep_refuses_invalid_points_before_running(tmp_path):
    path = inert_path(tmp_path)
    result = subprocess.run([sys.executable, "-m", "bridge.cli", "sweep", path, "--set",
                             "network.protocol.frequency=50 Hz,-5 Hz", "--out", str(tmp_path / "o")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "network.protocol.frequency: '-5 Hz' is not positive" in result.stderr
    assert "sweeping" not in result.stderr and not (tmp_path / "o").exists()
    with pytest.raises(ModelError, match="not recorded"):
        plan(path, ["network.protocol.pulses=1,2"], readout="Q")
    with pytest.raises(ModelError, match="no 'network' section"):
        plan(str(MODELS / "tsodyks_depression.yaml"), ["projections.pre_post.synapse.U=0.4,0.5"])


# ------------------------------------------------------------------ plots
def test_network_plot(tmp_path, decay_runs):
    model, results = decay_runs
    assert time_unit(5_000_000) == ("s", 1000.0) and time_unit(1_500) == ("ms", 1.0)
    assert time_unit(3 * 3_600_000) == ("min", 60_000.0)
    path = tmp_path / "run.png"
    plot_network_run([results["reference"], results["neuron"]], model, path)
    assert path.stat().st_size > 20_000


# ------------------------------------------------------------------ Brian2 feasibility and cost
def test_brian2_checks_stiffness_along_the_trajectory():
    """The README's camkii_demo is mild at rest (Ca = 0) but stiff during its Ca pulses: refused before
    any Brian2 run (it used to run for minutes and then diverge)."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```yaml\n(name: camkii_demo.*?)```", text, re.S).group(1)
    import yaml

    model = from_dict(yaml.safe_load(block))
    backend = Brian2Backend()
    with pytest.raises(UnsupportedError, match=r"too stiff for explicit rk4 at dt = 1 ms: .* at t = [0-9.]+ ms "
                                               r"\(reference trajectory\)"):
        backend.check(model)


def test_brian2_cost_warning():
    """5000 s at dt = 0.01 ms is 5e8 steps (> 1e8): a warning; at dt = 1 ms, 5e6 steps: none."""
    path = MODELS / "spine_4xhfs.yaml"
    assert Brian2Backend().warnings(load(path)) == []
    warnings = Brian2Backend().warnings(load(path, ["simulation.dt=0.01 ms"]))
    assert len(warnings) == 1 and "5e+08 steps" in warnings[0]
