"""Cache entries that carry their own checksum, verified on every read.

Two forms:

* a file bridge writes itself (a reference result, a Brian2 state-update solution, the parsed
  catalog): one header line ``bridge-cache-entry 1 sha256=<hex> size=<bytes>`` followed by the
  payload (:func:`store`, :func:`load`);
* a file a simulator writes (a compiled Brian2 module): a manifest beside it, ``<file>.sha256``,
  holding its size and SHA-256 (:func:`write_manifest`, :func:`file_problem`), as NEURON's library
  cache does (:mod:`bridge.backends.neuron.build`).

Writes are atomic (a temporary file of a random name created exclusively in the entry's directory,
then renamed onto the entry, so a planted symlink is replaced, never followed).  A read that finds
a truncated, edited or otherwise damaged entry removes it and says so in one line (a notice); the
caller then computes the value again and stores it anew.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .outputs import atomic_file
from .progress import notice

MAGIC = b"bridge-cache-entry 1 "
_HEADER = re.compile(rb"^bridge-cache-entry 1 sha256=([0-9a-f]{64}) size=(\d+)\n")
MANIFEST_SUFFIX = ".sha256"


def _write_atomically(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically; False when that fails (a read-only directory)."""
    try:
        with atomic_file(path) as out:
            out.write(data)
    except OSError:
        return False
    return True


def store(path: Path, payload: bytes) -> bool:
    """Keep ``payload`` at ``path`` with its checksum; False (nothing written) when that fails."""
    header = MAGIC + f"sha256={hashlib.sha256(payload).hexdigest()} size={len(payload)}\n".encode()
    return _write_atomically(path, header + payload)


def entry_problem(data: bytes) -> str | None:
    """Why ``data`` (a whole entry file) is damaged, or None."""
    match = _HEADER.match(data)
    if match is None:
        return "no valid header"
    payload = data[match.end():]
    if len(payload) != int(match.group(2)):
        return f"{len(payload)} bytes instead of {int(match.group(2))}"
    if hashlib.sha256(payload).hexdigest() != match.group(1).decode():
        return "its SHA-256 does not match"
    return None


def load(path: Path, what: str = "computing it") -> bytes | None:
    """The payload stored at ``path``, or None when there is none; a damaged entry is removed with a
    notice saying ``what`` happens instead (e.g. ``"running the reference again"``)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        discard(path, f"unreadable: {exc.strerror or exc}", what)
        return None
    problem = entry_problem(data)
    if problem is not None:
        discard(path, problem, what)
        return None
    return data[_HEADER.match(data).end():]  # type: ignore[union-attr]


def discard(path: Path, problem: str, what: str) -> None:
    """Remove the damaged entry ``path`` (and its manifest) and say so."""
    for victim in (path, path.with_name(path.name + MANIFEST_SUFFIX)):
        try:
            victim.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass
    notice(f"notice: damaged cache entry {path} ({problem}): discarded, {what}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(path: Path) -> bool:
    """Record the size and SHA-256 of ``path`` (written by someone else) beside it."""
    manifest = {"size": path.stat().st_size, "sha256": sha256_of(path)}
    return _write_atomically(path.with_name(path.name + MANIFEST_SUFFIX), json.dumps(manifest).encode())


def file_problem(path: Path) -> str | None:
    """Why ``path`` does not match its manifest (None when it does, or when it has no manifest)."""
    try:
        manifest = json.loads(path.with_name(path.name + MANIFEST_SUFFIX).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return "unreadable manifest"
    try:
        size, digest = int(manifest["size"]), str(manifest["sha256"])
    except (KeyError, TypeError, ValueError):
        return "unreadable manifest"
    actual = path.stat().st_size
    if actual != size:
        return f"{actual} bytes instead of {size}"
    if sha256_of(path) != digest:
        return "its SHA-256 does not match"
    return None


def has_manifest(path: Path) -> bool:
    return path.with_name(path.name + MANIFEST_SUFFIX).exists()


__all__ = ["store", "load", "discard", "write_manifest", "file_problem", "has_manifest", "entry_problem"]
