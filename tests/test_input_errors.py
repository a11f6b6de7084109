"""Silent misreads, exit codes and exception types (issue #17, classes 5 and 6): every bad input is a
:class:`~bridge.errors.ModelError` (exit 2, one line naming where and what was expected) before
anything runs, from the command line and from Python; backend options are checked with their type
and bounds; anything else that goes wrong inside bridge is exit 6 with one line (a traceback only
with ``--debug``)."""
from __future__ import annotations

import copy
import math
import textwrap

import pytest

import bridge
from bridge.backends.brian2.device import METHODS
from bridge.errors import EXIT_CODES, EXIT_INTERNAL, BridgeError, ModelError
from bridge.harness import compare
from bridge.model import read_document

from processes import ROOT, bridge as bridge_cli, environment

MODEL = ROOT / "models" / "tsodyks_depression.yaml"
#: values put in place of every field of a shipped model: each must be refused as input or accepted
HOSTILE = [None, [], {}, "x", math.nan, math.inf, -1, 0, 1e308, True, [[]], {"a": 1}, "../x", "1e999 ms", [1, "a"],
           3.5, "-5 ms", [None], {"type": None}, 10**30, "0 ms", -1e-300, "20 ms 5", "'20' ms", [math.nan]]


def _fields(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _fields(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):
            yield from _fields(value, prefix + (i,))


@pytest.mark.parametrize("name", ["tsodyks_depression", "msn_d1", "nmda_kinetic", "spine_camkii"])
def test_every_field_replaced_by_a_hostile_value_is_refused_as_input(name):
    """Cells, declared types, continuous synapses and a reaction network: no TypeError, KeyError,
    MemoryError or hang, whatever a field holds (the sizes of 1e30 are refused by the limits)."""
    path = ROOT / "models" / f"{name}.yaml"
    base = read_document(path)
    leaks = []
    for field in list(_fields(base))[1:]:
        for value in HOSTILE:
            document = copy.deepcopy(base)
            node = document
            for key in field[:-1]:
                node = node[key]
            node[field[-1]] = value
            try:
                bridge.from_dict(document, str(path))
            except ModelError:
                pass
            except Exception as exc:  # noqa: BLE001 - what this test looks for
                leaks.append(f"{'.'.join(map(str, field))} = {value!r}: {type(exc).__name__}: {exc}")
    assert leaks == []


@pytest.mark.parametrize("setting, fragment", [
    ("simulation.dt=nan ms", "simulation.dt: cannot read 'nan ms'"),
    ("populations.post.parameters.V_th=.inf", "V_th: inf is not finite"),
    ("stimuli.drive.amplitude=20 pA 5", "stimuli.drive.amplitude: cannot read '20 pA 5'"),
    ("projections.pre_post.delay=.nan", "projections.pre_post.delay: nan is not finite"),
    ("recordings.post_v.interval=inf ms", "recordings.post_v.interval: cannot read 'inf ms'"),
    ("populations.post.parameters.V_reset=20 mV", "V_reset = 20 mV breaks 'V_reset < V_th'"),
    ("tolerances={post.V_m: {atl: 1 mV}}", "tolerances.post.V_m.atl: unknown field 'atl'"),
    ("recordings.post_v.population=[post]", "recordings.post_v.population: unknown population ['post']"),
])
def test_validate_refuses_what_used_to_be_misread(setting, fragment):
    done = bridge_cli("validate", MODEL, "--set", setting)
    assert done.returncode == 2 and fragment in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_spike_times_must_be_finite_numbers(tmp_path):
    document = read_document(ROOT / "models" / "nmda_kinetic.yaml")
    for times, fragment in (([10, math.nan], "is not finite"), ([10, math.inf], "is not finite"),
                            ([True, 20], "is not a spike time"), ([[10], 20], "is not a list of spike times")):
        document["stimuli"]["pre"]["times"] = times
        with pytest.raises(ModelError, match=fragment):
            bridge.from_dict(document, "m.yaml")


@pytest.mark.parametrize("option, fragment", [
    ("neuron.n_sub=-3", "--option neuron.n_sub: -3 is below the minimum 1"),
    ("neuron.n_sub=2.5", "--option neuron.n_sub: 2.5 is not an integer"),
    ("neuron.secondorder=3", "--option neuron.secondorder: 3 is not one of the choices"),
    ("neuron.cvode=yes please", "--option neuron.cvode: 'yes please' is not true or false"),
    ("neuron.located_dv=0", "--option neuron.located_dv: 0 is not positive"),
    ("neuron.cvode_rtol=nan", "--option neuron.cvode_rtol: 'nan' is not a finite number"),
    ("reference.rtol=-1e-8", "--option reference.rtol: '-1e-8' is not positive"),
    ("reference.max_step=[1]", "--option reference.max_step: [1] is not a number"),
    ("reference.network_method=bdf", "--option reference.network_method: 'bdf' is not one of the choices"),
    ("brian2.method=magic", "--option brian2.method: 'magic' is not one of the choices"),
    ("brian2.target=fortran", "--option brian2.target: 'fortran' is not one of the choices"),
    ("nest.threads=4", "--option: nest has no option 'threads' (expected one of nest's options: none)"),
    ("genesis.x=1", "--option: unknown backend 'genesis'"),
])
def test_backend_options_are_checked_before_anything_runs(option, fragment):
    """``--option neuron.n_sub=-3`` used to reach NEURON and change results."""
    backend = option.split(".")[0]
    done = bridge_cli("run", MODEL, "--backend", backend if backend != "genesis" else "reference", "--option", option)
    assert done.returncode == 2 and fragment in done.stderr, done.stderr
    assert "running" not in done.stderr and done.stderr.count("\n") == 1


def test_brian2_methods_list_is_brian2_s():
    from brian2 import StateUpdateMethod

    assert sorted(METHODS) == sorted(StateUpdateMethod.stateupdaters)


@pytest.mark.parametrize("call, fragment", [
    (lambda m: bridge.simulate(m, "nest", dt="0.25"), "dt: '0.25' is not a time step"),
    (lambda m: bridge.simulate(m, "nest", dt=math.nan), "dt: nan is not a time step"),
    (lambda m: bridge.simulate(m, ["nest"]), "['nest'] is not a backend name"),
    (lambda m: bridge.simulate(m, "neuron", options={"n_sub": -3}), "-3 is below the minimum 1"),
    (lambda m: bridge.simulate(m, "neuron", options="n_sub=2"), "is not a mapping of option names to values"),
    (lambda m: bridge.simulate("models/x.yaml"), "str 'models/x.yaml' is not a model"),
    (lambda m: bridge.load(None), "NoneType None is not a file name"),
    (lambda m: bridge.load(MODEL, "simulation.seed=2"), "is not a list of overrides"),
    (lambda m: bridge.load(MODEL, [3]), "3 is not an override"),
    (lambda m: bridge.load(ROOT / "models"), "is a directory"),
    (lambda m: bridge.from_dict({**m.document, "name": ["x"]}), "name: ['x'] is not a text"),
    (lambda m: bridge.from_dict({**m.document, "notes": _nested(5000)}), "nested more than 100 levels deep"),
    (lambda m: compare(MODEL, backends=["nest"], dt="0.1"), "dt: '0.1' is not a time step"),
    (lambda m: compare(MODEL, backends=["nest"], options={"nestt": {}}), "options: unknown backend 'nestt'"),
    (lambda m: compare(MODEL, backends=["nest"], options={"neuron": {"n_sub": 0}}), "0 is below the minimum 1"),
    (lambda m: compare(5, backends=["nest"]), "int 5 is not a file name"),
])
def test_the_python_api_raises_model_errors_for_bad_input(call, fragment):
    model = bridge.load(MODEL)
    with pytest.raises(ModelError) as caught:
        call(model)
    assert fragment in str(caught.value)


def _nested(depth: int) -> dict:
    top = node = {}
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return top


@pytest.mark.parametrize("content, fragment", [
    (b"a: " + b"[" * 20000 + b"]" * 20000, "exceeded maximum nesting depth"),
    (bytes(range(256)) * 4, "is not UTF-8 text"),
    (b"", "the file does not hold a mapping"),
    (b"- 1\n- 2\n", "the file does not hold a mapping"),
    (b"name: x\n\tpopulations: {}\n", "YAML syntax error"),
    (b"include: [.]\n" + MODEL.read_bytes(), "include[0]: '.' is not a file"),
])
def test_unreadable_files_are_one_line_input_errors(tmp_path, content, fragment):
    path = tmp_path / "model.yaml"
    path.write_bytes(content)
    done = bridge_cli("validate", path)
    assert done.returncode == 2 and fragment in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


PLUGIN = '''
from bridge.backends.base import Backend


class BrokenBackend(Backend):
    """A third-party backend with a bug: its warnings() divides by zero."""

    name = "broken"

    def warnings(self, model):
        return [str(1 / 0)]
'''


def test_an_unexpected_error_is_exit_6_with_one_line(tmp_path):
    """An exception bridge does not expect (here from a backend package installed beside it through
    the ``bridge.backends`` entry points) is an internal error: exit 6 (not 1, which means
    "disagree"), one line asking to report it; ``--debug`` adds the traceback."""
    (tmp_path / "brokenplugin.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "brokenplugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[bridge.backends]\nbroken = brokenplugin:BrokenBackend\n")
    env = environment(tmp_path)
    env["PYTHONPATH"] = f"{ROOT}:{tmp_path}"
    done = bridge_cli("run", MODEL, "--backend", "broken", env=env)
    assert done.returncode == EXIT_INTERNAL == 6 and EXIT_CODES[6].startswith("internal error")
    assert done.stderr.strip() == ("bridge: internal error: ZeroDivisionError: division by zero - this is a bug in "
                                   "bridge; please report it with the command and the model file (bridge --debug ... "
                                   "shows the traceback)")
    debug = bridge_cli("--debug", "run", MODEL, "--backend", "broken", env=env)
    assert debug.returncode == 6 and "Traceback" in debug.stderr and "brokenplugin.py" in debug.stderr
    late = bridge_cli("run", MODEL, "--backend", "broken", "--debug", env=env)
    assert late.returncode == 6 and "Traceback" in late.stderr


def test_every_exit_code_is_documented():
    readme = (ROOT / "README.md").read_text()
    for code in EXIT_CODES:
        assert f"**{code}**" in readme
    assert issubclass(ModelError, BridgeError)
