"""Named variants of a model file and the control run of a stimulated reaction network.

A model file may list variants: named sets of field overrides, applied like ``--set`` before any
``--set`` of the command line::

    variants:
      no_Ca:
        description: 4xHFS without the Ca flux (Fig. 4, column 3 of the paper's runfig3-4.sh)
        set: {network.protocol.fluxes.Ca: 0 particle/ms}

Two names are built in for every model with a ``network:`` section and need no entry:

* ``base``: the model as written;
* ``control``: the same model without stimulation: every injection rate and protocol flux set to 0
  (the injected species keep their injection flux variables, so the control shares the stimulated
  run's generated code and compiled mechanism; see :mod:`bridge.model.network_loader`).

This module only turns a variant into override strings (``"path=value"``) for
:func:`bridge.model.loader.apply_overrides` / :func:`bridge.model.load`; it never imports the loader.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from ..errors import ModelError
from .checker import Checker

#: variant names every network model has
BUILT_IN = ("base", "control")
_VARIANT_KEYS = {"description", "set"}


def check_variants(value: Any, check: Checker) -> None:
    """Check the shape of a ``variants:`` section (the overridden fields are checked when applied)."""
    variants = check.mapping(value, "variants", "a mapping of variant names to {description, set}")
    for name, spec in variants.items():
        path = f"variants.{name}"
        if name in BUILT_IN:
            raise check.fail(f"{name!r} is a built-in variant", path, "another name (base and control are built in)")
        spec = check.mapping(spec, path, "a mapping with 'set' and an optional 'description'")
        check.keys(spec, _VARIANT_KEYS, path)
        settings = check.mapping(spec.get("set"), f"{path}.set", "a mapping of field paths to values")
        if not settings:
            raise check.fail("sets nothing", f"{path}.set", "at least one field path: value")
        for key in settings:
            if not isinstance(key, str) or not key or key.startswith(".") or key.endswith("."):
                raise check.fail(f"{key!r} is not a field path", f"{path}.set", "dotted field paths such as "
                                 "network.protocol.fluxes.Ca")


def variant_names(document: Mapping[str, Any]) -> list[str]:
    """The variants a model document offers: the built-in ones (for a network model) and its own."""
    built_in = list(BUILT_IN) if isinstance(document.get("network"), dict) else ["base"]
    own = document.get("variants") or {}
    return built_in + [str(k) for k in own] if isinstance(own, dict) else built_in


def variant_description(document: Mapping[str, Any], name: str) -> str:
    """One line saying what variant ``name`` changes."""
    if name == "base":
        return "the model as written"
    if name == "control":
        return "no stimulation: every injection rate and protocol flux set to 0"
    spec = (document.get("variants") or {}).get(name) or {}
    return str(spec.get("description") or ", ".join(f"{k}={v}" for k, v in (spec.get("set") or {}).items()))


def variant_overrides(document: Mapping[str, Any], name: str, source: str = "<model>") -> list[str]:
    """``--set`` strings that turn ``document`` into its variant ``name``."""
    if name == "base":
        return []
    if name == "control":
        return control_overrides(document, source)
    own = document.get("variants") or {}
    if not isinstance(own, dict) or name not in own:
        raise ModelError(f"unknown variant {name!r}", "--variant", "one of " + ", ".join(variant_names(document)),
                         source)
    settings = (own[name] or {}).get("set") or {}
    return [f"{path}={json.dumps(value)}" for path, value in settings.items()]


def control_overrides(document: Mapping[str, Any], source: str = "<model>") -> list[str]:
    """``--set`` strings setting every injection rate and protocol flux of the network to 0."""
    network = document.get("network")
    if not isinstance(network, dict):
        raise ModelError("no 'network' section: the control variant removes a network's stimulation", "--variant",
                         "a model with a network: section", source)
    overrides = []
    for name, item in (network.get("injections") or {}).items():
        if isinstance(item, dict):
            overrides.append(f"network.injections.{name}.rate={json.dumps('0 nM/ms')}")
    protocol = network.get("protocol")
    if isinstance(protocol, dict):
        for species in protocol.get("fluxes") or {}:
            overrides.append(f"network.protocol.fluxes.{species}={json.dumps('0 nM/ms')}")
    return overrides


__all__ = ["BUILT_IN", "check_variants", "control_overrides", "variant_description", "variant_names",
           "variant_overrides"]
