"""The model types a model can use: the built-in catalog, the types its file declares (``types:``)
and those of the type files it includes (``include:``, paths relative to the including file).

Every type, built-in or declared, goes through :func:`bridge.catalog.declare.declare_types`.  A
declared name may not shadow a built-in type or another declared type; includes may be nested (a
file included twice through different paths is read once) but not circular.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from ..catalog import builtin_types
from ..catalog.base import NeuronType, SynapseType
from ..catalog.declare import declare_types, types_section
from ..documents import read_document
from ..errors import ModelError

ModelType = NeuronType | SynapseType


def resolve_types(document: Mapping[str, Any], source: str) -> dict[str, ModelType]:
    """The types ``document`` (read from ``source``) declares and includes, by name, in order."""
    declared: dict[str, ModelType] = {}
    _include(document, source, [_identity(source)], set(), declared)
    if document.get("types") is not None:
        declared.update(declare_types(document["types"], source, {**builtin_types(), **declared}))
    return declared


def _identity(source: str) -> str:
    return os.path.realpath(source) if os.path.exists(source) else source


def _include(document: Mapping[str, Any], source: str, stack: list[str], done: set[str],
             declared: dict[str, ModelType]) -> None:
    """Declare the types of every file ``document`` includes (depth first, each file once)."""
    paths = document.get("include") or []
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ModelError(f"{paths!r} is not a list of file names", "include", "a list of type-file paths", source)
    base = os.path.dirname(os.path.abspath(source)) if os.path.exists(source) else os.getcwd()
    for i, name in enumerate(paths):
        path = os.path.normpath(os.path.join(base, name))
        identity = _identity(path)
        if identity in stack:
            cycle = " -> ".join(os.path.basename(s) for s in stack[stack.index(identity):] + [identity])
            raise ModelError(f"circular include ({cycle})", f"include[{i}]", "type files that do not include each other",
                             source)
        if identity in done:
            continue
        if not os.path.isfile(path):
            raise ModelError(f"{name!r} {'is not a file' if os.path.exists(path) else 'does not exist'}", f"include[{i}]",
                             f"a type file, relative to {os.path.basename(source) if os.path.exists(source) else 'the current directory'}",
                             source)
        included = read_document(path, "a YAML mapping with 'types'")
        _include(included, path, stack + [identity], done, declared)
        declared.update(declare_types(types_section(included, path), path, {**builtin_types(), **declared}))
        done.add(identity)


def all_types(declared: Mapping[str, ModelType]) -> dict[str, ModelType]:
    """The built-in types and ``declared`` ones, by name."""
    return {**builtin_types(), **declared}
