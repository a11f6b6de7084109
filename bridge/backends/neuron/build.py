"""Compile NMODL mechanisms (the catalog's in ``mod/``, generated ones) with ``nrnivmodl`` once, cache the libraries, load them.

A simulation loads only the mechanisms its model uses (:func:`load_mechanisms`: one library per
``.mod`` file, compiled on first use): the library of all of ``mod/`` adds about 1.3 MiB to the
process (NEURON's tables for ten mechanisms), one or two mechanisms about 0.1 MiB, and a cold run
compiles one or two files instead of all.

Cache layout: ``cache_dir("nrnmech") / <key>/`` with ``key`` = :func:`~bridge.cache.content_hash`
of the NEURON version and every compiled ``.mod`` file (name and text).  An entry holds the mod files, the
``nrnivmodl`` output (``<arch>/libnrnmech.so``) and ``manifest.json``; it is built atomically and
verified on every use (:mod:`bridge.library_cache`).  Compile errors raise
:class:`MechanismCompileError` naming the ``.mod`` file and line.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ...cache import cache_dir, content_hash
from ...library_cache import MANIFEST, cached_library, entry_problem

__all__ = ["MANIFEST", "entry_problem", "build", "load_mechanisms", "load_extra", "generated_source",
           "MechanismCompileError"]
#: single-mechanism libraries loaded in this process (:func:`load_mechanisms`)
_mechanisms: dict[str, Path] = {}
#: additional libraries loaded in this process (generated reaction-network mechanisms)
_extra: set[Path] = set()


class MechanismCompileError(RuntimeError):
    """``nrnivmodl`` failed; the message names the ``.mod`` file and line when it can."""


@dataclass
class Build:
    """A usable compiled library: ``library`` path, whether this call ``compiled`` it, and seconds spent."""

    library: Path
    compiled: bool
    seconds: float
    libraries: tuple[Path, ...] = ()


def neuron_version() -> str:
    """Version of the installed NEURON package (part of the cache key)."""
    from importlib import metadata

    try:
        return metadata.version("neuron")
    except metadata.PackageNotFoundError:
        return "unknown"


def mod_files(directory: Path) -> list[Path]:
    """The ``.mod`` sources to compile, sorted by name."""
    return sorted(directory.glob("*.mod"))


def cache_key(sources: list[Path]) -> str:
    """Content hash of the NEURON version and the sources (names and texts)."""
    parts: list[bytes | str] = [neuron_version()]
    for path in sources:
        parts += [path.name, path.read_bytes()]
    return content_hash(*parts)


def nrnivmodl() -> str:
    """Path of ``nrnivmodl``: next to the running Python first (virtualenv), else on ``PATH``."""
    candidate = Path(sys.executable).parent / "nrnivmodl"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nrnivmodl")
    if not found:
        raise MechanismCompileError("nrnivmodl not found (install NEURON: pip install neuron)")
    return found


def _compile_error(output: str, workdir: Path) -> MechanismCompileError:
    """Turn ``nrnivmodl`` output into an error naming the ``.mod`` file and line."""
    text = output.replace(str(workdir) + os.sep, "")
    patterns = [r"(?:at )?line (\d+) in file ([\w.\-/]+\.mod)", r"([\w.\-/]+\.mod):(\d+)"]
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            first, second = match.groups()
            line, name = (first, second) if first.isdigit() else (second, first)
            context = [ln for ln in text.splitlines() if ln.strip()]
            where = next((i for i, ln in enumerate(context) if match.group(0) in ln), len(context) - 1)
            excerpt = "\n".join(context[max(0, where - 3): where + 3])
            return MechanismCompileError(f"NMODL compilation failed in {Path(name).name}, line {line}:\n{excerpt}")
    tail = "\n".join(text.strip().splitlines()[-15:])
    return MechanismCompileError(f"nrnivmodl failed:\n{tail}")


def _compile_into(workdir: Path, sources: list[Path]) -> tuple[Path, dict]:
    """Copy ``sources`` into ``workdir`` and run ``nrnivmodl`` there: (library, manifest fields)."""
    for path in sources:
        shutil.copy2(path, workdir / path.name)
    process = subprocess.run([nrnivmodl()] + [p.name for p in sources], cwd=workdir,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    libraries = sorted(workdir.glob("*/libnrnmech.so")) + sorted(workdir.glob("*/.libs/libnrnmech.so"))
    if process.returncode != 0 or not libraries:
        raise _compile_error(process.stdout, workdir)
    (workdir / "nrnivmodl.log").write_text(process.stdout, encoding="utf-8")
    return libraries[0], {"neuron": neuron_version(), "sources": [p.name for p in sources]}


def build(directory: Path, sources: list[Path] | None = None) -> Build:
    """Return a valid compiled library for the ``.mod`` files of ``directory`` (or only ``sources``),
    compiling if needed."""
    started = time.perf_counter()
    sources = mod_files(directory) if sources is None else sorted(sources)
    if not sources:
        raise MechanismCompileError(f"no .mod files in {directory}")
    library, compiled = cached_library(cache_dir("nrnmech"), cache_key(sources),
                                       lambda workdir: _compile_into(workdir, sources), "NEURON library")
    return Build(library, compiled, time.perf_counter() - started)


def load_mechanisms(sources: Iterable[Path]) -> Build:
    """Build (or reuse) one library per ``.mod`` file of ``sources`` (each defines one mechanism, named
    like the file) and load those this process does not have yet.  ``library`` of the returned
    :class:`Build` is the first library (``libraries``: all of them), ``compiled`` whether any was
    compiled now, ``seconds`` the time spent finding (or compiling) them."""
    from neuron import h

    libraries, compiled, seconds = [], False, 0.0
    for source in sorted(set(sources)):
        name = source.stem
        if not source.is_file():
            raise MechanismCompileError(f"no mechanism {name}: {source} does not exist")
        result = build(source.parent, [source])
        libraries.append(result.library)
        compiled, seconds = compiled or result.compiled, seconds + result.seconds
        if name in _mechanisms:
            continue
        if hasattr(h, name):
            raise MechanismCompileError(f"another library already defines mechanism {name} in this process")
        if not h.nrn_load_dll(str(result.library)):
            raise MechanismCompileError(f"NEURON could not load {result.library}")
        _mechanisms[name] = result.library
    return Build(libraries[0] if libraries else Path(), compiled, seconds, tuple(libraries))


def generated_source(kind: str, name: str, text: str) -> Path:
    """``cache_dir(kind)/<name>/<name>.mod`` holding ``text`` (a generated mechanism that is not
    committed in ``mod/``), written atomically unless it already holds that text."""
    directory = cache_dir(kind) / name
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.mod"
    if not (path.exists() and path.read_text(encoding="utf-8") == text):
        handle, temporary = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=directory)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    return path


def load_extra(directory: Path, mechanism: str) -> Build:
    """Build (or reuse) the library of the ``.mod`` files of ``directory`` (one generated mechanism,
    e.g. a reaction network's, not part of ``mod/``) and load it into this process's NEURON next to
    any other library.  Nothing is loaded when ``mechanism`` already exists in this process."""
    result = build(directory)
    from neuron import h

    if result.library in _extra or hasattr(h, mechanism):
        return result
    if not h.nrn_load_dll(str(result.library)):
        raise MechanismCompileError(f"NEURON could not load {result.library}")
    _extra.add(result.library)
    return result
