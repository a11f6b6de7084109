"""NESTML models of declared neuron types, so that a type without a NEST model of its own runs on NEST.

A neuron type that declares no ``native: nest`` mapping is written as a NESTML model
(:func:`nestml_source`), built by NESTML 9 into a NEST extension module against a NEST built from
source with its headers (``scripts/build-nest-mpi``; the PyPI wheel has none), cached by content hash
(:mod:`bridge.library_cache`) and loaded with ``nest.Install``.

The model does not hand the equations to NESTML's solver selection: its ``update`` block carries
out the same algorithm as the NEURON backend's generated mechanisms (:mod:`bridge.backends.neuron.nmodl`)
and the reference's semantics, so all three agree by construction of the step, not by tolerance:

1. integrate from ``t - dt`` to ``t`` by classical Runge–Kutta (``bridge_n_sub`` sub-steps;
   ``clamped`` variables held while refractory, the clamp ending where it ends); ``located`` types
   halve a piece until the membrane moves by at most ``bridge_located_dv`` (0.5 mV) in it and locate a
   crossing inside it by bisection, resetting there;
2. add the receptor jumps due at ``t`` (a change of the injected current ``I_ext`` due at ``t`` acts
   from the next step: NESTML passes the update block the previous step's current input);
3. test the threshold on the grid, reset, start the refractory period, emit the spike (stamped ``t``).

Every variable is ``real`` in bridge's internal units (ms, mV, pA, pF, nS), which are NEST's: NESTML
converts no units.  Receptor ports become spike input ports ``bridge_port_<port>`` (NEST receptor
types 1, 2, ... in declaration order; 0 for a type with one port), the weight arriving already
multiplied by the projection's sign factor (``inhibitory_sign``, see
:meth:`bridge.model.Projection.jump`).  A DC step from 0 ms goes into the parameter ``bridge_I_e``,
later changes come through the current port ``bridge_I_stim`` (a ``dc_generator``).  User names that
NESTML reads as a unit or keyword (``s``, ``V``, ``real``, ...) are renamed ``bridge_u_<name>``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ...cache import cache_dir, content_hash, content_named
from ...catalog.base import NativeModel, NeuronType
from ...catalog.expressions import Renderer, called_functions
from ...library_cache import cached_library
from . import install

#: parameter holding a DC current (pA) applied from 0 ms
DC_PARAMETER = "bridge_I_e"
CURRENT_PORT = "bridge_I_stim"
#: parameter: Runge–Kutta sub-steps per time step (set per population, :mod:`bridge.backends.substeps`)
SUBSTEPS_PARAMETER = "bridge_n_sub"
PORT_PREFIX = "bridge_port_"
#: names NESTML reads as something else (units, types, keywords, predefined variables)
_NESTML_RESERVED = frozenset("""real integer boolean string void and or not true false function return if elif
else for while in step model state parameters internals equations input output update kernel inline recordable
spike continuous emit_spike resolution steps print println exp ln log10 sqrt abs min max clip cosh sinh tanh erf
erfc E e pi inf t onReceive onCondition integrate_odes delta convolve random_normal random_uniform timestep
excitatory inhibitory""".split())
_UNIT = re.compile(r"(Y|Z|E|P|T|G|M|k|h|da|d|c|m|u|mu|n|p|f|a|z|y)?"
                   r"(m|g|s|A|K|mol|cd|V|S|F|Ohm|ohm|Hz|N|J|W|C|H|T|Pa|Wb|L|l|Bq|Gy|Sv|lx|lm|kat|rad|sr|min|h|d)")
#: the expression language's functions in NESTML; exp is capped where it would overflow, as the
#: reference's (and NEURON's) is, so that a diverging membrane stays finite within a Runge–Kutta stage
_FUNCTIONS = {"log": lambda x: f"ln({x})", "exp": lambda x: f"exp(min({x}, 700.0))",
              "decay": lambda h, tau: f"bridge_decay({h}, {tau})"}
def _renderer(names: dict[str, str]) -> Renderer:
    """Canonical expressions in NESTML, identifiers renamed per ``names``."""
    return Renderer(names, _FUNCTIONS, power="**", number=lambda value: repr(float(value)))


_DECAY = ["function bridge_decay(hd real, tau real) real:", "    # exp(-hd/tau), and 0 when tau is 0",
          "    if tau > 0:", "        return exp(-hd/tau)", "    return 0.0"]


class NestmlBuildError(RuntimeError):
    """NESTML could not generate or compile a module; the message holds the end of its output."""


def problem(kind: Any) -> str | None:
    """Why ``kind`` cannot run on NEST as a generated NESTML model, or None."""
    found = install.detect()
    if getattr(kind, "kind", None) != "neuron":
        return ("no NEST model: the type declares no 'native: nest' mapping (bridge generates NESTML models "
                "for neuron types only)")
    if not found.nestml:
        return ("no NEST model: the type declares no 'native: nest' mapping, and bridge's NESTML model of it needs "
                "a NEST built from source with headers, and NESTML (scripts/build-nest-mpi); this NEST: "
                + found.summary())
    if kind.emits is not None:
        return f"an emits rule ({kind.emits.name}) in a NESTML model (only NEST's iaf_tum_2000 applies one)"
    return None


@dataclass(frozen=True)
class GeneratedModel:
    """A NESTML model of a type: NEST's ``name`` for it, the NESTML ``text``, and ``native``, the
    mapping the NEST backend uses like a declared one (renames, receptor types, DC parameter)."""

    name: str
    text: str
    native: NativeModel

    @property
    def module(self) -> str:
        return f"{self.name}_module"


_generated: dict[int, tuple[NeuronType, GeneratedModel]] = {}


def generated(kind: NeuronType) -> GeneratedModel:
    """The NESTML model of ``kind`` (generated once per type object in this process)."""
    if id(kind) not in _generated:
        _generated[id(kind)] = (kind, _generate(kind))
    return _generated[id(kind)][1]


def _generate(kind: NeuronType) -> GeneratedModel:
    renames = {name: f"bridge_u_{name}" for name in _declared_names(kind)
               if name in _NESTML_RESERVED or _UNIT.fullmatch(name)}
    name, text = content_named(kind.name, lambda name: nestml_source(kind, name, renames))
    ports = list(kind.receptors)
    receptor_types = {port: (number + 1 if len(ports) > 1 else 0) for number, port in enumerate(ports)}
    native = NativeModel(name, renames, {"dc_parameter": DC_PARAMETER, "substeps_parameter": SUBSTEPS_PARAMETER,
                                         "receptor_types": receptor_types, "signed_weights": True})
    return GeneratedModel(name, text, native)


def _declared_names(kind: NeuronType) -> list[str]:
    return [p.name for p in kind.parameters] + [s.name for s in kind.states]


# ---------------------------------------------------------------------------------------- source
class _Writer:
    """Lines of NESTML, indented by block."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def __call__(self, *lines: str) -> None:
        self.lines += ["    " * self.depth + line for line in lines]

    def block(self, header: str) -> "_Writer":
        self(header)
        return self

    def __enter__(self) -> "_Writer":
        self.depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1


def nestml_source(kind: NeuronType, name: str, renames: dict[str, str]) -> str:
    """The NESTML model ``name`` of the neuron type ``kind`` (see the module docstring)."""
    moving = [s.name for s in kind.states if s.name in kind.equations]
    own = {**{n: n for n in _declared_names(kind)}, **renames}
    render = _renderer(own)
    arguments = {s: f"bridge_a_{s}" for s in moving}
    # NESTML hands the update block the current input of the previous step (it reads this step's after
    # the block), which is the current NEST's own models integrate with: the change due at t acts after t
    step_input = f"{CURRENT_PORT} / 1 pA + {DC_PARAMETER}"
    located = kind.threshold is not None and kind.threshold_detection == "located"
    w = _Writer()
    w(f"# Generated by bridge.backends.nest.nestml from the bridge {'catalog' if kind.builtin else 'declared'} "
      f"type {kind.name!r}; do not edit.")
    for line in kind.doc.strip().splitlines():
        w(f"# {line}".rstrip())
    with w.block(f"model {name}:"):
        with w.block("state:"):
            w(*(f"{own[s.name]} real = 0.0  # {s.unit}" for s in kind.states))
            w("bridge_ref_until real = -1e9  # ms, end of refractoriness",
              "bridge_now real = 0.0  # ms, time at the end of the last step")
        with w.block("parameters:"):
            w(*(f"{own[p.name]} real = {0.0 if p.default is None else float(p.default)!r}  # {p.unit}"
                for p in kind.parameters))
            w(f"{DC_PARAMETER} real = 0.0  # pA, DC from 0 ms",
              f"{SUBSTEPS_PARAMETER} integer = 1  # Runge-Kutta sub-steps per time step")
            if located:
                w("bridge_located_dv real = 0.5  # mV, largest membrane change per Runge-Kutta piece")
        with w.block("input:"):
            w(*(f"{PORT_PREFIX}{port} <- spike" for port in kind.receptors))
            w(f"{CURRENT_PORT} pA <- continuous")
        with w.block("output:"):
            w("spike")
        for state in moving:  # right-hand sides at a Runge-Kutta stage
            signature = ", ".join([f"{arguments[s]} real" for s in moving] + ["bridge_a_I real"])
            with w.block(f"function bridge_f_{state}({signature}) real:"):
                w(f"return {_renderer({**own, **arguments, 'I_ext': 'bridge_a_I'})(kind.equations[state])}")
        if kind.threshold is not None:
            with w.block("function bridge_theta() real:"):
                w(f"return {render(kind.threshold)}")
        if "decay" in called_functions([*kind.equations.values(), *(e for _, e in kind.reset),
                                        *([kind.threshold] if kind.threshold else [])]):
            w(*_DECAY)
        with w.block("update:"):
            _update(w, kind, moving, own, render, step_input, located)
    return "\n".join(w.lines) + "\n"


def _update(w: _Writer, kind: NeuronType, moving: list[str], own: dict[str, str], render: Renderer,
            step_input: str, located: bool) -> None:
    """The ``update`` block: one time step (see the module docstring)."""
    stage = {s: f"bridge_y_{s}" for s in moving}
    local_reals = ["bridge_h", "bridge_hs", "bridge_t0", "bridge_t1", "bridge_span", "bridge_clamp", "bridge_tc",
                   "bridge_lo", "bridge_hi", "bridge_mid", "bridge_step"]
    local_reals += [f"bridge_k{k}_{s}" for k in range(1, 5) for s in moving] + list(stage.values())
    local_reals += [f"bridge_saved_{s}" for s in moving]
    w(*(f"{v} real = 0.0" for v in local_reals))
    w("bridge_i integer = 0", "bridge_it integer = 0", "bridge_halvings integer = 0")
    w("bridge_h = resolution() / 1 ms", "bridge_hs = bridge_h / bridge_n_sub", "bridge_step = bridge_now",
      "# 1. integrate from t - dt to t")
    with w.block("while bridge_i < bridge_n_sub:"):
        w("bridge_t0 = bridge_step + bridge_i * bridge_hs", "bridge_t1 = bridge_t0 + bridge_hs")
        if located:
            _located_segment(w, kind, moving, own, stage, step_input, render)
        else:
            _grid_segment(w, kind, moving, own, stage, step_input)
        w("bridge_i += 1")
    w("bridge_now = bridge_step + bridge_h", "# 2. receptor jumps due at t")
    w(*(f"{own[state]} += {PORT_PREFIX}{port} * 1 s" for port, state in kind.receptors.items()))
    if kind.threshold is not None:
        w("# 3. threshold tested on the grid, reset, refractoriness")
        with w.block("if bridge_theta() >= 0 and bridge_ref_until <= bridge_now + 1e-9 * bridge_h:"):
            _fire(w, kind, own, render, "bridge_now")


def _fire(w: _Writer, kind: NeuronType, own: dict[str, str], render: Renderer, at: str) -> None:
    w(*(f"{own.get(var, var)} = {render(expression)}" for var, expression in kind.reset))
    w(f"bridge_ref_until = {at} + {own[kind.refractory]}" if kind.refractory else f"bridge_ref_until = {at}")
    w("emit_spike()")


def _rk4(w: _Writer, kind: NeuronType, moving: list[str], own: dict[str, str], stage: dict[str, str],
         step_input: str, span: str) -> None:
    """One classical Runge–Kutta step of ``span`` ms (``clamped`` variables held while ``bridge_clamp`` is 1)."""
    for k in range(1, 5):
        values = [own[s] if k == 1 else stage[s] for s in moving] + [step_input]
        call = ", ".join(values)
        w(*(f"bridge_k{k}_{s} = {'(1 - bridge_clamp) * ' if s in kind.clamped else ''}bridge_f_{s}({call})"
            for s in moving))
        if k < 4:
            fraction = span if k == 3 else f"0.5 * {span}"
            w(*(f"{stage[s]} = {own[s]} + {fraction} * bridge_k{k}_{s}" for s in moving))
    w(*(f"{own[s]} += {span} * (bridge_k1_{s} + 2 * bridge_k2_{s} + 2 * bridge_k3_{s} + bridge_k4_{s}) / 6"
        for s in moving))


def _clamp_test(w: _Writer, at: str) -> None:
    w("bridge_clamp = 0.0")
    with w.block(f"if bridge_ref_until > {at} + 1e-9 * bridge_h:"):
        w("bridge_clamp = 1.0")


def _grid_segment(w: _Writer, kind: NeuronType, moving: list[str], own: dict[str, str], stage: dict[str, str],
                  step_input: str) -> None:
    _clamp_test(w, "bridge_t0")
    with w.block("if bridge_clamp > 0.5 and bridge_ref_until < bridge_t1 - 1e-9 * bridge_h:"):
        w("# refractoriness ends inside the sub-step")
        _rk4(w, kind, moving, own, stage, step_input, "(bridge_ref_until - bridge_t0)")
        w("bridge_t0 = bridge_ref_until", "bridge_clamp = 0.0")
    w("bridge_span = bridge_t1 - bridge_t0")
    _rk4(w, kind, moving, own, stage, step_input, "bridge_span")


def _located_segment(w: _Writer, kind: NeuronType, moving: list[str], own: dict[str, str],
                     stage: dict[str, str], step_input: str, render: Renderer) -> None:
    v = own[kind.membrane]
    save = [f"bridge_saved_{s} = {own[s]}" for s in moving]
    restore = [f"{own[s]} = bridge_saved_{s}" for s in moving]
    with w.block("while bridge_t0 < bridge_t1 - 1e-9 * bridge_h:"):
        _clamp_test(w, "bridge_t0")
        w("bridge_span = bridge_t1 - bridge_t0")
        with w.block("if bridge_clamp > 0.5 and bridge_ref_until < bridge_t1 - 1e-9 * bridge_h:"):
            w("bridge_span = bridge_ref_until - bridge_t0  # refractoriness ends inside: stop there")
        w(*save)
        _rk4(w, kind, moving, own, stage, step_input, "bridge_span")
        w("bridge_halvings = 0")
        with w.block(f"while bridge_clamp < 0.5 and abs({v} - bridge_saved_{kind.membrane}) > bridge_located_dv "
                     "and bridge_halvings < 40:"):
            w(*restore, "bridge_span = 0.5 * bridge_span")
            _rk4(w, kind, moving, own, stage, step_input, "bridge_span")
            w("bridge_halvings += 1")
        with w.block("if bridge_clamp < 0.5 and bridge_theta() >= 0:"):
            w("# crossing inside the piece: locate it (bisection on its length)", "bridge_lo = 0.0", "bridge_hi = 1.0",
              "bridge_it = 0")
            with w.block("while bridge_it < 60:"):
                w("bridge_mid = 0.5 * (bridge_lo + bridge_hi)", *restore)
                _rk4(w, kind, moving, own, stage, step_input, "(bridge_mid * bridge_span)")
                with w.block("if bridge_theta() >= 0:"):
                    w("bridge_hi = bridge_mid")
                with w.block("else:"):
                    w("bridge_lo = bridge_mid")
                w("bridge_it += 1")
            w(*restore)
            _rk4(w, kind, moving, own, stage, step_input, "(bridge_hi * bridge_span)")
            w("bridge_tc = bridge_t0 + bridge_hi * bridge_span")
            _fire(w, kind, own, render, "bridge_tc")
            w("bridge_t0 = bridge_tc")
        with w.block("else:"):
            w("bridge_t0 = bridge_t0 + bridge_span")


# ---------------------------------------------------------------------------------------- build and load
def nestml_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("nestml")
    except metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=None)
def nest_version(prefix: Path) -> str:
    """``nest-config --version`` of the source-built NEST (part of the cache key and NESTML's target)."""
    return subprocess.run([str(prefix / "bin" / "nest-config"), "--version"], capture_output=True,
                          text=True, check=True).stdout.strip()


#: environment variables of MPI launchers (MPICH's hydra and PMI, Open MPI, PMIx)
_LAUNCHER_PREFIXES = ("PMI_", "PMIX_", "HYDRA_", "MPIR_", "MPI_LOCAL", "OMPI_")


def _compile_into(workdir: Path, model: GeneratedModel, found: install.NestInstall) -> tuple[Path, dict]:
    """Run NESTML on the model in ``workdir`` (in a child process: NESTML keeps global state)."""
    source = workdir / "source" / f"{model.name}.nestml"
    source.parent.mkdir()
    source.write_text(model.text, encoding="utf-8")
    version = nest_version(found.prefix)
    code = ("import sys; from pynestml.frontend.pynestml_frontend import generate_nest_target; "
            "generate_nest_target(input_path=sys.argv[1], target_path=sys.argv[2], install_path=sys.argv[3], "
            "module_name=sys.argv[4], logging_level='ERROR', "
            "codegen_opts={'nest_version': sys.argv[5]})")
    # an MPI rank's launcher variables must not reach NESTML's child processes (one that imports NEST
    # would then try to join the rank's MPI job and abort: "PMI_Init returned -1")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(_LAUNCHER_PREFIXES)}
    env = {**inherited, "PATH": f"{found.prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(found.python_path), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code, str(source.parent), str(workdir / "target"),
                           str(workdir / "lib"), model.module, f"v{version}"],
                          cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    (workdir / "nestml.log").write_text(done.stdout, encoding="utf-8")
    library = workdir / "lib" / f"{model.module}.so"
    if done.returncode != 0 or not library.is_file():
        tail = "\n".join(done.stdout.strip().splitlines()[-15:])
        raise NestmlBuildError(f"NESTML could not build the NEST model of type {model.name}:\n{tail}")
    return library, {"nestml": nestml_version(), "nest": version, "model": model.name}


def build(model: GeneratedModel) -> tuple[Path, bool]:
    """(NEST module library, compiled now) of a generated model, from the cache or built now."""
    found = install.detect()
    if found.prefix is None:
        raise NestmlBuildError("NESTML models need a NEST built from source (scripts/build-nest-mpi)")
    key = content_hash(model.text, nestml_version(), str(found.prefix), nest_version(found.prefix))
    return cached_library(cache_dir("nestml"), key, lambda workdir: _compile_into(workdir, model, found),
                          "NESTML module")


def install_models(nest: Any, kinds: Iterable[NeuronType]) -> list[str]:
    """Build (or reuse) and load into ``nest`` the NESTML models of the ``kinds`` that have no NEST
    model of their own (after each ``ResetKernel``, which unloads modules); returns the names of the
    modules compiled now."""
    compiled: list[str] = []
    for model in {generated(kind).name: generated(kind) for kind in kinds if "nest" not in kind.native}.values():
        library, built = build(model)
        nest.Install(str(library))
        if built:
            compiled.append(model.module)
        _check_receptors(nest, model)
    return compiled


def _check_receptors(nest: Any, model: GeneratedModel) -> None:
    """NEST's receptor types of the loaded model must be those the mapping assumed."""
    expected = {f"{PORT_PREFIX}{port}".upper(): number
                for port, number in model.native.options["receptor_types"].items() if number}
    actual = dict(nest.GetDefaults(model.name).get("receptor_types", {}))
    if actual != expected:
        raise NestmlBuildError(f"NEST model {model.name} has receptor types {actual}, expected {expected}")
