"""Reference results kept between ``bridge compare`` runs.

The reference solver is deterministic: the same model description, time step, options, bridge
source and NumPy/SciPy versions give the same result.  ``bridge compare`` therefore keeps each
reference result in the cache directory (``$BRIDGE_CACHE_DIR/reference``) under a hash of exactly
those inputs and reuses it, so repeated comparisons (e.g. while fixing one backend) only run the
backends under test.  Any change to the model, dt, options, any file of the bridge package or the
numerical libraries gives a new key.  ``--rerun-reference`` ignores the cache.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..cache import cache_dir, content_hash
from ..model import Model
from ..result import Result

_PACKAGE = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """Hash of every Python source file of the bridge package and of the numerical libraries' versions."""
    parts = [f"{name} {metadata.version(name)}" for name in ("numpy", "scipy")]
    for path in sorted(_PACKAGE.rglob("*.py")):
        parts += [str(path.relative_to(_PACKAGE)), path.read_bytes()]
    return content_hash(*parts)


def key(model: Model, dt: float | None, options: dict | None) -> str:
    """Cache key of the reference run of ``model`` at ``dt`` (ms; None = the model's) with ``options``;
    the model's declared types count too (those of included type files are not in its document)."""
    document = json.dumps(model.document, sort_keys=True, default=str)
    return content_hash(_code_digest(), model.name, document, repr(sorted(model.types.items())), repr(dt),
                        json.dumps(options or {}, sort_keys=True, default=str))


def _path(model: Model, dt: float | None, options: dict | None) -> Path:
    return cache_dir("reference") / f"{key(model, dt, options)}.npz"


def load(model: Model, dt: float | None = None, options: dict | None = None) -> Result | None:
    """The cached reference result for this run, or None."""
    try:
        path = _path(model, dt, options)
        if path.exists():
            result = Result.load(path)
            result.metadata["reused_from"] = str(path)
            return result
    except (OSError, ValueError, KeyError):  # unreadable or damaged entry: run the reference again
        pass
    return None


def store(model: Model, result: Result, dt: float | None = None, options: dict | None = None) -> None:
    """Keep ``result`` for later runs; a cache that cannot be written is skipped silently."""
    try:
        result.save(_path(model, dt, options))  # atomic: a reader never sees a half-written entry
    except OSError:
        pass
