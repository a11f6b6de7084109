"""Where bridge keeps generated and compiled code (NEURON mechanisms, Brian2 code) and reference results.

``$BRIDGE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/bridge`` or ``~/.cache/bridge``.  Entries are
keyed by a content hash and must be created atomically (build in a temporary directory next to the
final one, then ``os.rename``), so that two processes building at once never see a half-built entry;
every entry is verified when it is read (:mod:`bridge.cache_entries`, NEURON's library manifests,
Brian2's checked modules), and a damaged one is discarded and rebuilt with a one-line notice.

A cache directory that cannot be used (read-only, not a directory, on a full disk) does not fail
the run: bridge uses a private temporary cache instead (deleted when the process ends, so nothing
compiled is kept) and says so once.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from .progress import notice

#: configured directory -> the directory used (itself, or a private temporary one)
_resolved: dict[str, Path] = {}
#: the private temporary cache of this process, once one was needed
_private: list[Path] = []


def configured_root() -> Path:
    """The cache directory the environment asks for (see the module docstring)."""
    root = os.environ.get("BRIDGE_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "bridge")
    return Path(root)


def unusable(path: Path) -> str | None:
    """Why ``path`` cannot hold cache entries (created if missing; a file is written and removed to
    be sure), or None."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".probe-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


def private_root() -> Path:
    """This process's private temporary cache (created on first use, removed at exit)."""
    if not _private or not _private[0].is_dir():
        _private[:] = [Path(tempfile.mkdtemp(prefix="bridge-cache-"))]
        atexit.register(shutil.rmtree, _private[0], ignore_errors=True)
    return _private[0]


def _usable(path: Path, label: str) -> Path:
    """``path`` if usable, else the same place in the private cache (with a warning once)."""
    key = str(path)
    if key not in _resolved or not _resolved[key].is_dir():
        problem = unusable(path)
        if problem is None:
            _resolved[key] = path
        else:
            _resolved[key] = private_root() / label
            _resolved[key].mkdir(parents=True, exist_ok=True)
            notice(f"warning: the cache directory {path} cannot be used ({problem}); using a private temporary "
                   "cache instead, deleted at the end (nothing compiled is kept)")
    return _resolved[key]


def cache_root() -> Path:
    """The cache directory in use (:func:`configured_root`, or the private one when that is unusable)."""
    return _usable(configured_root(), "")


def cache_dir(kind: str) -> Path:
    """The cache directory for one kind of artefact, e.g. ``"nrnmech"`` or ``"brian2"``."""
    return _usable(cache_root() / kind, kind)


def content_hash(*parts: bytes | str) -> str:
    """SHA-256 (first 16 hex digits) of the concatenated parts."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def content_named(stem: str, generate: Callable[[str], str]) -> tuple[str, str]:
    """``(name, text)`` of generated code named ``bridge_<stem>_<hash of its text>``, where
    ``generate(name)`` writes the text under a name: types of one name declared differently by two
    models never share a compiled library (NEURON mechanisms, NESTML models)."""
    name = f"bridge_{stem}_{content_hash(generate('bridge_mechanism'))[:12]}"
    return name, generate(name)
