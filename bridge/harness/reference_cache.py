"""Reference results kept between ``bridge compare`` runs.

The reference solver is deterministic: the same model description, time step, options, bridge
source and NumPy/SciPy versions give the same result.  ``bridge compare`` therefore keeps each
reference result in the cache directory (``$BRIDGE_CACHE_DIR/reference``) under a hash of exactly
those inputs and reuses it, so repeated comparisons (e.g. while fixing one backend) only run the
backends under test.  Any change to the model, dt, options, any file of the bridge package or the
numerical libraries gives a new key.  ``--rerun-reference`` ignores the cache.
"""
from __future__ import annotations

import io
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .. import cache_entries
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
    """The cached reference result for this run, or None.  The entry carries its checksum
    (:mod:`bridge.cache_entries`): a truncated or edited one is discarded with a notice, and the
    reference runs again."""
    path = _path(model, dt, options)
    payload = cache_entries.load(path, "running the reference again")
    if payload is None:
        return None
    try:
        result = Result.load(io.BytesIO(payload))
    except (OSError, ValueError, KeyError) as exc:  # checksum right, content unreadable: not ours
        cache_entries.discard(path, f"unreadable result: {exc}", "running the reference again")
        return None
    result.metadata["reused_from"] = str(path)
    return result


def store(model: Model, result: Result, dt: float | None = None, options: dict | None = None) -> None:
    """Keep ``result`` for later runs (atomically, with its checksum); a cache that cannot be
    written is skipped."""
    cache_entries.store(_path(model, dt, options), result.npz_bytes())
