"""Compiled libraries in the cache (NEURON mechanisms, NESTML modules for NEST): built once per
content key, atomically, and verified on every use.

An entry is ``<root>/<key>/`` holding what the compiler left plus ``manifest.json`` (the library's
path inside the entry, its size and SHA-256, and whatever the caller adds).

* Built atomically: the compiler runs in a fresh temporary directory next to the entry, which is
  then renamed onto the entry; when two processes build at once, the loser's rename fails and it
  uses the winner's entry (both are identical), so nobody ever sees a half-built library.
* Validated on every use: a missing manifest, missing library or a size/hash mismatch marks the
  entry damaged; it is renamed aside (then deleted), rebuilt, and a one-line notice says so.
* Leftovers of killed builds (``*.tmp-<host>@<pid>-*``) are removed once their process is gone.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from .cache_entries import sha256_of
from .progress import notice, reporter

MANIFEST = "manifest.json"


def entry_problem(entry: Path) -> str | None:
    """Why the cache entry ``entry`` is unusable, or None when it is valid."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        library = entry / manifest["library"]
    except (OSError, ValueError, KeyError):
        return "missing or unreadable manifest"
    if not library.is_file():
        return f"missing library {library}"
    if library.stat().st_size != manifest["size"]:
        return f"library {library} has {library.stat().st_size} bytes, expected {manifest['size']}"
    if sha256_of(library) != manifest["sha256"]:
        return f"library {library} does not match its recorded SHA-256"
    return None


def library_of(entry: Path) -> Path:
    """The library of a valid entry."""
    return entry / json.loads((entry / MANIFEST).read_text(encoding="utf-8"))["library"]


def cached_library(root: Path, key: str, compile_into: Callable[[Path], tuple[Path, dict[str, Any]]],
                   what: str) -> tuple[Path, bool]:
    """``(library, compiled now)`` of the entry ``root/key``, built by ``compile_into(workdir)`` when
    missing or damaged.  ``compile_into`` fills the empty ``workdir`` and returns the library's path
    and extra manifest fields; it raises to report a compile error (nothing is kept then).  ``what``
    names the library in the notice about a damaged entry (e.g. ``"NEURON library"``)."""
    entry = root / key
    remove_leftovers(root)
    if entry.exists():
        problem = entry_problem(entry)
        if problem is None:
            return library_of(entry), False
        notice(f"notice: damaged {what} cache entry {entry} ({problem}): discarded, compiling it again")
        discard(entry)
    reporter().phase("compiling")
    workdir = Path(tempfile.mkdtemp(prefix=f"{entry.name}.tmp-{owner()}-", dir=root))
    try:
        library, fields = compile_into(workdir)
        manifest = {"library": str(library.relative_to(workdir)), "size": library.stat().st_size,
                    "sha256": sha256_of(library), **fields}
        (workdir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        try:
            os.rename(workdir, entry)
        except OSError:  # another process renamed its identical build first: use it
            if entry_problem(entry) is not None:
                raise
    finally:
        if workdir.exists():
            shutil.rmtree(workdir, ignore_errors=True)
    return library_of(entry), True


def discard(entry: Path) -> None:
    """Move a damaged entry aside atomically, then delete it."""
    aside = entry.with_name(f"{entry.name}.broken-{owner()}-{time.monotonic_ns()}")
    try:
        os.rename(entry, aside)
    except FileNotFoundError:  # another process already moved it
        return
    shutil.rmtree(aside, ignore_errors=True)


def remove_leftovers(root: Path, age_s: float = 3600.0) -> None:
    """Delete temporary/broken directories of builds killed more than ``age_s`` seconds ago, and at
    once those of builds whose process (its id is in the name) no longer exists."""
    now = time.time()
    for path in list(root.glob("*.tmp-*")) + list(root.glob("*.broken-*")):
        try:
            if now - path.stat().st_mtime > age_s or not process_alive(path.name):
                shutil.rmtree(path, ignore_errors=True)
        except FileNotFoundError:
            pass


def owner() -> str:
    """``host@pid`` of this process, part of the names of its temporary build directories."""
    return f"{re.sub(r'[^A-Za-z0-9_.]', '_', socket.gethostname())}@{os.getpid()}"


def process_alive(name: str) -> bool:
    """Whether the process that named a temporary directory ``name`` (see :func:`owner`) still runs;
    True when it ran on another host or the name holds no owner."""
    match = re.search(r"\.(?:tmp|broken)-(.+)@(\d+)-", name)
    if match is None or match.group(1) != owner().rpartition("@")[0]:
        return True
    try:
        os.kill(int(match.group(2)), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
