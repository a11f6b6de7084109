"""Where bridge keeps generated and compiled code (NEURON mechanisms, Brian2 code).

``$BRIDGE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/bridge`` or ``~/.cache/bridge``.  Entries are
keyed by a content hash and must be created atomically (build in a temporary directory next to the
final one, then ``os.rename``), so that two processes building at once never see a half-built entry.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_root() -> Path:
    root = os.environ.get("BRIDGE_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "bridge")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(kind: str) -> Path:
    """The cache directory for one kind of artefact, e.g. ``"nrnmech"`` or ``"brian2"``."""
    path = cache_root() / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_hash(*parts: bytes | str) -> str:
    """SHA-256 (first 16 hex digits) of the concatenated parts."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]
