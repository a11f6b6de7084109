"""Reaction networks (issue #7) on NEURON, Brian2 and NEST: generated NMODL, closed forms,
conservation, injections, refusals, and agreement with the reference solver on the spine models.

Every simulation runs in a subprocess through ``bridge.simulate``.  Measured (NEURON 9.0.2, CVODE
at the default rtol 1e-8, atol 1e-14 nM, recorded when this file was written): A <-> B relaxation
max relative error 1.1e-7; A + B -> C 1.1e-7; fixed step (backward Euler) 5.1e-3 nM at dt = 0.01 ms,
2.6e-3 at 0.005 ms; conserved moieties constant to 3e-15 relative; an injected inert species gains
rate × duration to 1e-15 (CVODE) / 8e-15 (fixed step) relative; Brian2 (RK4, dt 0.01 ms) against
NEURON on the enzyme network with an injection: 4.8e-8 of each species' maximum.  Spine models:
see the tests at the end.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bridge
from bridge.backends.neuron import kinetic as neuron_kinetic
from bridge.errors import UnsupportedError

from conftest import MODELS

pytest.importorskip("neuron")


def network_model(species: dict[str, str], reactions: dict, duration: float = 20.0, dt: float = 0.01,
                  interval: float = 0.1, injections: dict | None = None, record: list[str] | None = None,
                  readouts: dict | None = None, name: str = "tiny") -> bridge.Model:
    """A model made of one small reaction network (volume 1 µm³), recording ``record`` (default: every species)."""
    network = {"name": "net", "volume": "1 um**3", "species": species, "reactions": reactions}
    if injections:
        network["injections"] = injections
    if readouts:
        network["readouts"] = readouts
    return bridge.from_dict({
        "name": name,
        "simulation": {"duration": f"{duration} ms", "dt": f"{dt} ms"},
        "network": network,
        "recordings": {"all": {"population": "net", "variables": record or list(species),
                               "interval": f"{interval} ms"}},
    })


def relaxation_model(kf: float = 0.3, kb: float = 0.1, **kwargs) -> bridge.Model:
    return network_model({"A": "10 nM", "B": "2 nM"},
                         {"ab": {"reactants": {"A": 1}, "products": {"B": 1},
                                 "forward": f"{kf} 1/ms", "reverse": f"{kb} 1/ms"}}, **kwargs)


def relaxation_exact(t: np.ndarray, kf: float = 0.3, kb: float = 0.1, a0: float = 10.0, b0: float = 2.0) -> np.ndarray:
    """A(t) of A <-> B: exponential relaxation to kb/(kf+kb)·total at rate kf + kb."""
    a_inf = kb / (kf + kb) * (a0 + b0)
    return a_inf + (a0 - a_inf) * np.exp(-(kf + kb) * t)


def enzyme_model(injections: dict | None = None, **kwargs) -> bridge.Model:
    """Overlapping conserved moieties (enzyme, substrate, a dimer, a second-order loop)."""
    species = {"E": "5 nM", "S": "100 nM", "ES": "0 nM", "P": "0 nM", "F": "20 nM", "PF": "1 nM",
               "M": "40 nM", "M2": "0 nM", "K": "3 nM"}
    reactions = {
        "bind": {"reactants": {"E": 1, "S": 1}, "products": {"ES": 1}, "forward": "0.02 1/(nM*ms)",
                 "reverse": "0.5 1/ms"},
        "cat": {"reactants": {"ES": 1}, "products": {"E": 1, "P": 1}, "forward": "0.3 1/ms"},
        "pf": {"reactants": {"P": 1, "F": 1}, "products": {"PF": 1}, "forward": "0.01 1/(nM*ms)",
               "reverse": "0.05 1/ms"},
        "back": {"reactants": {"PF": 1, "K": 1}, "products": {"S": 1, "F": 1, "K": 1},
                 "forward": "0.004 1/(nM*ms)"},
        "dimer": {"reactants": {"M": 2}, "products": {"M2": 1}, "forward": "0.001 1/(nM*ms)",
                  "reverse": "0.02 1/ms"},
    }
    return network_model(species, reactions, injections=injections, **kwargs)


def neuron_run(model: bridge.Model, **options):
    return bridge.simulate(model, backend="neuron", options=options or None)


def values(result, variable: str) -> tuple[np.ndarray, np.ndarray]:
    return result.signal("net", variable)


# ------------------------------------------------------------------ NMODL generation and compilation
def test_generated_network_mechanisms_are_up_to_date():
    """mod/networks/ holds exactly the mechanisms of the shipped models' networks
    (regenerate: python -m bridge.backends.neuron.sources)."""
    assert neuron_kinetic.stale_files() == []


def test_mechanism_depends_on_structure_only():
    """Same structure, other values: the same text (one compile); another structure: another mechanism."""
    a = relaxation_model(kf=0.3, kb=0.1).network
    b = relaxation_model(kf=7.0, kb=0.0).network
    assert neuron_kinetic.network_mod(a) == neuron_kinetic.network_mod(b)
    c = enzyme_model().network
    assert neuron_kinetic.mechanism_name(c) != neuron_kinetic.mechanism_name(a)
    text = neuron_kinetic.network_mod(c)
    assert "METHOD sparse" in text and "~ 2 c_M <-> c_M2 (kf4, kb4)" in text and "CONSERVE" not in text


def test_mechanism_compiles_through_the_cache_once(tmp_path):
    """A fresh cache compiles the mechanism; the second build (another process) compiles nothing."""
    env = {**os.environ, "BRIDGE_CACHE_DIR": str(tmp_path)}
    script = ("import sys; sys.path.insert(0, 'tests'); from test_spine_backends import relaxation_model;"
              "from bridge.backends.neuron import kinetic as k; print(k.build(relaxation_model().network).compiled)")
    root = Path(__file__).resolve().parents[1]
    runs = [subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True)
            for _ in range(2)]
    assert [r.stdout.strip().splitlines()[-1] for r in runs] == ["True", "False"], [r.stderr[-2000:] for r in runs]


# ------------------------------------------------------------------ NEURON against closed forms
def test_relaxation_matches_the_exponential():
    """A <-> B with CVODE (default tolerances): max relative error < 1e-6 (measured 1.1e-7)."""
    result = neuron_run(relaxation_model())
    t, a = values(result, "A")
    assert result.signals[("net", "A")].unit == "nM"
    np.testing.assert_allclose(t, np.arange(1, 201) * 0.1)
    assert np.max(np.abs(a - relaxation_exact(t)) / relaxation_exact(t)) < 1e-6


def test_relaxation_fixed_step_is_first_order():
    """cvode = False: NEURON's backward Euler on the KINETIC block; the error halves with dt."""
    errors = []
    for dt in (0.01, 0.005):
        t, a = values(neuron_run(relaxation_model(dt=dt), cvode=False), "A")
        errors.append(np.max(np.abs(a - relaxation_exact(t))))
    assert errors[0] < 1e-2
    assert 1.8 < errors[0] / errors[1] < 2.2


def test_second_order_annihilation_matches_closed_form():
    """A + B -> C from equal initial c0: A(t) = c0 / (1 + k c0 t)."""
    k, c0 = 0.002, 50.0
    model = network_model({"A": f"{c0} nM", "B": f"{c0} nM", "C": "0 nM"},
                          {"abc": {"reactants": {"A": 1, "B": 1}, "products": {"C": 1},
                                   "forward": f"{k} 1/(nM*ms)"}}, duration=50.0, interval=0.5)
    result = neuron_run(model)
    t, a = values(result, "A")
    exact = c0 / (1 + k * c0 * t)
    assert np.max(np.abs(a - exact) / exact) < 1e-6
    _, c = values(result, "C")
    np.testing.assert_allclose(a + c, c0, rtol=1e-12)


def test_conserved_moieties_stay_constant():
    """Every row L of network.conservation_laws: |L·c(t) - L·c(0)| <= 1e-9 · |L|·c(0), in a NEURON
    run without injections (no CONSERVE statements: mass action plus the solver, see bridge.backends.neuron.kinetic)."""
    model = enzyme_model(duration=200.0, interval=1.0)
    network = model.network
    result = neuron_run(model)
    c = np.column_stack([values(result, s)[1] for s in network.names])
    laws = network.conservation_laws
    assert laws.shape[0] >= 3  # E, the S/P/F family, M, K: overlapping moieties
    scale = np.abs(laws) @ network.initial
    drift = np.abs(c @ laws.T - laws @ network.initial)
    assert np.max(drift / scale) < 1e-9
    assert np.ptp(values(result, "P")[1]) > 1.0  # the network does move


def test_injection_adds_rate_times_duration():
    """An inert species injected at 2.5 nM/ms for 4 ms from 3 ms gains exactly 10 nM, linearly during the pulse."""
    model = network_model({"X": "1 nM", "A": "10 nM", "B": "0 nM"},
                          {"ab": {"reactants": {"A": 1}, "products": {"B": 1}, "forward": "0.1 1/ms"}},
                          duration=10.0, interval=0.5,
                          injections={"pulse": {"species": "X", "onset": "3 ms", "duration": "4 ms",
                                                "rate": "2.5 nM/ms"}})
    for options in ({}, {"cvode": False}):
        t, x = values(neuron_run(model, **options), "X")
        expected = 1.0 + 2.5 * np.clip(t - 3.0, 0.0, 4.0)
        np.testing.assert_allclose(x, expected, rtol=1e-9, atol=1e-9)


def test_readouts_are_computed_from_species():
    model = network_model({"A": "10 nM", "B": "2 nM"},
                          {"ab": {"reactants": {"A": 1}, "products": {"B": 1}, "forward": "0.3 1/ms",
                                  "reverse": "0.1 1/ms"}}, record=["A", "total"],
                          readouts={"total": {"sum": {"A": 1, "B": 2}}})
    result = neuron_run(model)
    t, total = values(result, "total")
    a = relaxation_exact(t)
    np.testing.assert_allclose(total, a + 2 * (12.0 - a), rtol=1e-6)


# ------------------------------------------------------------------ NEST and Brian2
def test_nest_refuses_reaction_networks():
    with pytest.raises(UnsupportedError) as info:
        bridge.simulate(relaxation_model(), backend="nest")
    assert str(info.value) == "unsupported on nest: reaction networks (NEST has no reaction-network support)"


def test_brian2_refuses_the_spine_network():
    """The spine network at its dt of 1 ms: max |eigenvalue| 234/ms at the initial state."""
    with pytest.raises(UnsupportedError, match=r"too stiff for explicit rk4 at dt = 1 ms: .* 233.5/ms"):
        bridge.simulate(bridge.load(MODELS / "spine_4xhfs.yaml"),
                        backend="brian2")


def test_brian2_refuses_a_stiff_network():
    """A fast equilibrium (kf + kb = 500/ms) at dt = 0.01 ms: dt·|λ| = 5 > 2.785 (RK4)."""
    model = relaxation_model(kf=400.0, kb=100.0)
    with pytest.raises(UnsupportedError) as info:
        bridge.simulate(model, backend="brian2")
    message = str(info.value)
    assert "too stiff for explicit rk4 at dt = 0.01 ms" in message
    assert "500/ms" in message and "2.785" in message and "dt <= 0.00557 ms" in message


def test_brian2_agrees_on_a_non_stiff_network():
    """The enzyme network with an injection on Brian2 (RK4, dt = 0.01 ms) and NEURON: within 1e-6 relative."""
    model = enzyme_model(duration=50.0, interval=0.5,
                         injections={"s": {"species": "S", "onset": "10 ms", "duration": "5 ms", "rate": "4 nM/ms"}})
    brian = bridge.simulate(model, backend="brian2", options={"target": "numpy"})
    neuron = neuron_run(model)
    for species in model.network.names:
        _, b = values(brian, species)
        _, n = values(neuron, species)
        assert np.max(np.abs(b - n)) <= 1e-6 * np.max(np.abs(n)) + 1e-9, species


# ------------------------------------------------------------------ the spine models against the reference
def _with_all_species(path: Path, duration_ms: float | None = None, interval_ms: float | None = None,
                      injections: bool = True) -> bridge.Model:
    """A shipped spine model recording every species and read-out (optionally shortened, without injections)."""
    model = bridge.load(path)
    document = model.document
    recording = document["recordings"]["network"]
    recording["variables"] = list(model.network.names) + list(model.network.readouts)
    if duration_ms is not None:
        document["simulation"]["duration"] = f"{duration_ms} ms"
    if interval_ms is not None:
        recording["interval"] = f"{interval_ms} ms"
    if not injections:
        document["network"].pop("injections", None)
        document["network"].pop("protocol", None)
    return bridge.from_dict(document, model.source)


#: the reference's network solver at an absolute tolerance fit for 1e-6 comparisons (its default,
#: rtol x the largest initial concentration = 2.5e-4 nM for the spine model, leaves 3e-6 relative
#: differences in g_ampa and 6e-6 in GluR1_memb after the equilibration)
TIGHT_REFERENCE = {"network_atol": 1e-10}


def _relative_deviation(reference, neuron, owner: str, floor_nm: float = 0.0) -> dict[str, float]:
    """Per variable: max |neuron - reference| / (max |reference| + floor) over the samples."""
    out = {}
    for (who, variable), signal in reference.signals.items():
        if who != owner:
            continue
        r, n = signal.values[:, 0], neuron.signals[(who, variable)].values[:, 0]
        out[variable] = float(np.max(np.abs(n - r)) / (np.max(np.abs(r)) + floor_nm))
    return out


def test_camkii_subnetwork_matches_reference():
    """models/spine_camkii.yaml (18 species, 20 Ca pulses): every species within 1e-6 of its maximum
    (measured: 7e-8 for Ca, <= 4e-8 otherwise; NEURON simulates in 0.2 s, the reference in 9 s)."""
    model = _with_all_species(MODELS / "spine_camkii.yaml")
    reference = bridge.simulate(model, backend="reference", options=TIGHT_REFERENCE)
    neuron = neuron_run(model)
    deviations = _relative_deviation(reference, neuron, "camkii")
    assert max(deviations.values()) < 1e-6, deviations


def test_brian2_runs_the_camkii_subnetwork_at_a_stable_step():
    """What Brian2 can do honestly: the CaMKII sub-network is refused at dt = 1 ms (rk4 unstable:
    dt*|lambda| = 225 > 2.785) but runs at dt = 0.01 ms, inside the stability limit (0.0124 ms).
    RK4's error there, (dt*|lambda|)^4 / 120 ~ 5e-5 per step on the fastest mode and far less on the
    slow ones, keeps every species within 1e-6 of its maximum of the reference (measured: 2e-8)."""
    path = MODELS / "spine_camkii.yaml"
    with pytest.raises(UnsupportedError, match="too stiff"):
        bridge.simulate(bridge.load(path), backend="brian2")
    model = bridge.load(path, overrides=["simulation.dt=0.01 ms"])
    reference = bridge.simulate(model, backend="reference", options=TIGHT_REFERENCE)
    brian2 = bridge.simulate(model, backend="brian2")
    deviations = _relative_deviation(reference, brian2, "camkii")
    assert max(deviations.values()) < 1e-6, deviations


def test_camkii_subnetwork_conserves_moieties_in_neuron():
    model = _with_all_species(MODELS / "spine_camkii.yaml", injections=False, interval_ms=50.0)
    network = model.network
    result = neuron_run(model)
    c = np.column_stack([result.signal("camkii", s)[1] for s in network.names])
    laws = network.conservation_laws
    scale = np.abs(laws) @ np.abs(network.initial)
    assert np.max(np.abs(c @ laws.T - laws @ network.initial) / scale) < 1e-9


@pytest.mark.slow
def test_full_spine_steady_state_matches_reference():
    """After the 4040 s equilibration of models/spine_4xhfs.yaml (just before the protocol), every one
    of the 204 species agrees with the reference to 1e-6 relative (plus 1e-9 nM for species that are
    essentially absent: 1e-9 nM is 3e-10 molecules in 0.5 µm³, and some are 1e-120 nM in the
    reference).  Measured: worst MGluR_Glu_desens at 5.3e-7 relative, then DAG and GqaGTP at 2e-7."""
    model = _with_all_species(MODELS / "spine_4xhfs.yaml", duration_ms=4_040_000, interval_ms=10_000)
    reference = bridge.simulate(model, backend="reference", options=TIGHT_REFERENCE)
    neuron = neuron_run(model)
    excess = {}  # |difference| / allowed difference
    for species in model.network.names:
        r = reference.signal("spine", species)[1][-1]
        n = neuron.signal("spine", species)[1][-1]
        excess[species] = abs(n - r) / (1e-6 * abs(r) + 1e-9)
    assert max(excess.values()) < 1.0, sorted(excess.items(), key=lambda kv: -kv[1])[:5]
    # No injection acts before the protocol (the first onset is at 4040 s, the end of this run):
    # every conserved moiety of the full network stays constant to 1e-9 relative on both solvers.
    network = model.network
    assert all(inj.onset >= 4_040_000 for inj in network.injections)
    laws = network.conservation_laws
    scale = np.abs(laws) @ np.abs(network.initial)
    for result in (reference, neuron):
        c = np.column_stack([result.signal("spine", s)[1] for s in network.names])
        drift = np.max(np.abs(c @ laws.T - laws @ network.initial) / scale)
        print(f"full spine network, {result.backend}: conserved moieties drift {drift:.1e} (relative)")
        assert drift < 1e-9


@pytest.fixture(scope="module")
def hfs_runs():
    """models/spine_4xhfs.yaml as shipped and its control (no stimulation), on the reference (tight
    tolerance) and on NEURON: {(backend, "run" | "control"): Result}, plus the model."""
    from bridge.model.loader import apply_overrides
    from bridge.model.variants import control_overrides

    model = bridge.load(MODELS / "spine_4xhfs.yaml")
    control = bridge.from_dict(apply_overrides(model.document, control_overrides(model.document)), model.source)
    runs = {}
    for kind, m in (("run", model), ("control", control)):
        runs[("reference", kind)] = bridge.simulate(m, backend="reference", options=TIGHT_REFERENCE)
        runs[("neuron", kind)] = neuron_run(m)
    return model, runs


@pytest.mark.slow
def test_full_spine_4xhfs_readouts_match_reference(hfs_runs):
    """models/spine_4xhfs.yaml as shipped (Ca and every read-out every 10 s over 5000 s, and every 1 ms
    over the stimulation: membrane GluR1, S831p GluR1, GluR2, g_ampa, CaMKII, PKA, PKC, cAMP): each within
    1e-5 of its range of the reference, and LTP on both.  Both solvers are converged far below that
    (NEURON CVODE rtol 1e-8 / atol 1e-14 nM, reference BDF rtol 1e-10 / atol 1e-10 nM; measured: g_ampa
    1.1e-7 of its range, Ca 5e-9), so 1e-5 leaves a 100x margin for platform differences.  NEURON
    simulated it in 5.7 s (reference: 61 s; the original RxD implementation: about 6 min)."""
    model, runs = hfs_runs
    reference, neuron = runs[("reference", "run")], runs[("neuron", "run")]
    variables = model.recordings["network"].variables
    assert {"GluR1_memb_total", "GluR1_memb_S831p", "GluR2_memb_total", "g_ampa", "CaMKII_active",
            "PKA_active", "PKC_active"} <= set(variables)
    for variable in variables:
        t, r = reference.signal("spine", variable)
        _, n = neuron.signal("spine", variable)
        deviation = np.max(np.abs(n - r)) / np.ptp(r)
        print(f"4xHFS {variable}: max |NEURON - reference| = {deviation:.2e} of the range")
        assert deviation < 1e-5, variable
    for result in (reference, neuron):
        t, g = result.signal("spine", "g_ampa")
        onset = np.searchsorted(t, 4_040_000)  # the sample at protocol onset
        print(f"4xHFS g_ampa on {result.backend}: {g[onset]:.3f} -> {g[-1]:.3f} pS "
              f"({100 * (g[-1] / g[onset] - 1):+.1f} %)")
        assert g[-1] > 1.5 * g[onset]  # LTP: +199 % (33.46 -> 100.18 pS)
    print(f"4xHFS on NEURON: {neuron.metadata['simulate_s']:.1f} s simulated "
          f"(reference {reference.metadata['simulate_s']:.1f} s)")


@pytest.mark.slow
def test_full_spine_4xhfs_true_peaks_and_control(hfs_runs):
    """The true peaks (every solver step) agree between NEURON and the reference: Ca peaks at the end of
    the last pulse (4052.993 s) at about 1.8 uM, which the 10 s samples miss (their largest, 13 nM, falls
    between two pulses of the third train) and the 1 ms window samples exactly.  Against the control, both give the same change of g_ampa, and the
    control's own drift over the 960 s after the onset is the same on both."""
    from bridge.network_summary import summarise

    model, runs = hfs_runs
    peaks = {b: runs[(b, "run")].metadata["extremes"]["spine.Ca"] for b in ("reference", "neuron")}
    print(f"Ca peak: reference {peaks['reference']}, NEURON {peaks['neuron']}")
    assert peaks["neuron"]["max"] == pytest.approx(peaks["reference"]["max"], rel=1e-5)
    assert peaks["reference"]["t_max"] == peaks["neuron"]["t_max"] == 4_052_993.0
    assert 1000 < peaks["reference"]["max"] < 3000
    for backend in ("reference", "neuron"):
        t, ca = runs[(backend, "run")].signal("spine", "Ca")
        coarse = np.isclose(np.mod(t, 10_000), 0)
        assert ca[coarse].max() < 0.01 * peaks[backend]["max"]               # the 10 s samples
        assert ca.max() == pytest.approx(peaks[backend]["max"], rel=1e-9)     # the 1 ms window
    rows = {b: summarise(model, runs[(b, "run")], runs[(b, "control")]).row("g_ampa") for b in ("reference", "neuron")}
    for backend, row in rows.items():
        print(f"g_ampa on {backend}: {100 * row.change:+.2f} % vs onset, {100 * row.change_vs_control:+.2f} % vs "
              f"control (control drift {100 * row.control_drift:+.3f} %)")
    assert rows["neuron"].change_vs_control == pytest.approx(rows["reference"].change_vs_control, rel=1e-5)
    assert rows["neuron"].control_drift == pytest.approx(rows["reference"].control_drift, rel=1e-4)
    assert rows["reference"].control_drift < 0   # the baseline drifts down (-0.3 %)


@pytest.mark.slow
def test_frequency_sweep_on_neuron(hfs_runs, tmp_path):
    """bridge sweep over the 4xHFS frequency on NEURON: its 100 Hz point and its control are the shipped
    model and its control, so they reproduce the direct runs exactly (deterministic CVODE); table, CSV
    and plot are written."""
    from bridge.network_summary import summarise
    from bridge.sweep import sweep, write

    model, runs = hfs_runs
    result = sweep(str(MODELS / "spine_4xhfs.yaml"), ["network.protocol.frequency=50 Hz,100 Hz"], backend="neuron")
    assert len(result.results) == 3 and not result.errors
    direct = summarise(model, runs[("neuron", "run")], runs[("neuron", "control")]).row("g_ampa")
    rows = result.rows()
    print(result.markdown())
    assert rows[1]["change vs control (%)"] == pytest.approx(100 * direct.change_vs_control, rel=1e-12)
    assert rows[1]["change vs onset (%)"] == pytest.approx(100 * direct.change, rel=1e-12)
    files = write(result, str(tmp_path / "sweep"))
    assert (tmp_path / "sweep" / "sweep.png").stat().st_size > 20_000 and "sweep.csv" in files
