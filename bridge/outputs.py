"""Output files: every destination is checked before anything runs, file names are built from
sanitised parts only, and files are written atomically without following planted symlinks.

* :func:`check_file` / :func:`check_directory` / :func:`check_distinct`: what the command line calls
  for ``--out``, ``--plot``, ``--report`` before the first simulation starts: an existing file is
  never overwritten without ``--force`` (a report or sweep directory must be new or empty), the
  directory must exist and be writable (tried by creating a file in it), and two options may not
  name the same file.  Each problem is a :class:`~bridge.errors.ModelError` naming the option (exit 2).
* :func:`safe_name`: a file name from model names (already identifiers, see
  :mod:`bridge.catalog.names`) and variable names, reduced to ``[A-Za-z0-9_.-]`` whatever they hold,
  so that no name can point outside its directory; :func:`inside` checks that once more.
* :func:`atomic_file`: the content goes to a temporary file of a random name created exclusively
  (``O_EXCL``) in the target's directory, which then replaces the target (``os.replace``): a reader
  never sees half a file, an interrupted write leaves nothing behind, and a symlink planted at the
  target is replaced rather than followed.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Mapping

from .errors import ModelError

SOURCE = "command line"
#: longest file name :func:`safe_name` makes (file systems allow 255 bytes)
MAX_NAME = 150
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def safe_name(*parts: object, suffix: str = "") -> str:
    """``"post.V_m.png"`` from ``("post", "V_m")`` and ``".png"``: each part reduced to letters, digits,
    ``_`` and ``-`` (anything else becomes ``_``; an empty part ``_``), joined by dots; a name longer
    than :data:`MAX_NAME` keeps its start and gets a hash of the whole."""
    name = ".".join(_UNSAFE.sub("_", str(part)) or "_" for part in parts)
    if len(name) + len(suffix) > MAX_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        name = f"{name[: MAX_NAME - len(suffix) - 13]}-{digest}"
    return name + suffix


def inside(directory: str | os.PathLike, name: str) -> Path:
    """``directory / name``, refusing (ValueError) a name that is not a plain file name in it."""
    if not name or name in (".", "..") or os.sep in name or (os.altsep and os.altsep in name) or "\0" in name:
        raise ValueError(f"{name!r} is not a file name inside {os.fspath(directory)!r}")
    return Path(directory) / name


def writable(directory: str | os.PathLike) -> str | None:
    """Why files cannot be created in ``directory`` (tried: a file is created and removed), or None."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".bridge-probe-", dir=directory)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(handle)
    os.unlink(probe)
    return None


def check_file(path: str | None, option: str, force: bool = False, suffixes: tuple[str, ...] = ()) -> None:
    """Check the destination ``path`` of ``option`` before anything runs (see the module docstring);
    ``suffixes``: the file name must end with one of them."""
    if path is None:
        return
    if not path:
        raise ModelError("an empty file name", option, "a file name", SOURCE)
    if suffixes and not path.endswith(suffixes):
        raise ModelError(f"{path!r} has an unknown format", option, "a file name ending with " + " or ".join(suffixes),
                         SOURCE)
    if os.path.isdir(path):
        raise ModelError(f"{path!r} is a directory", option, "a file name", SOURCE)
    if os.path.lexists(path) and not force:
        raise ModelError(f"{path!r} exists and would be overwritten", option, "a new file name, or --force", SOURCE)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ModelError(f"directory of {path!r} does not exist", option, "an existing directory", SOURCE)
    problem = writable(directory)
    if problem:
        raise ModelError(f"cannot write into the directory of {path!r} ({problem})", option, "a writable directory",
                         SOURCE)


def check_directory(path: str | None, option: str, force: bool = False) -> None:
    """Check the output directory ``path`` of ``option``: new, or an empty directory (any directory
    with ``force``), in a writable place."""
    if path is None:
        return
    if not path:
        raise ModelError("an empty directory name", option, "a directory name", SOURCE)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ModelError(f"{path!r} exists and is not a directory", option, "a new or empty directory", SOURCE)
    if os.path.isdir(path):
        if os.listdir(path) and not force:
            raise ModelError(f"{path!r} already holds files", option,
                             "a new or empty directory (nothing is overwritten), or --force", SOURCE)
        existing = path
    else:
        existing = os.path.dirname(os.path.abspath(path))
        while not os.path.isdir(existing):
            if os.path.lexists(existing):
                raise ModelError(f"{existing!r} is not a directory", option, "a directory path", SOURCE)
            existing = os.path.dirname(existing)
    problem = writable(existing)
    if problem:
        raise ModelError(f"cannot write into {existing!r} ({problem})", option, "a writable place", SOURCE)


def check_distinct(destinations: Mapping[str, str | None]) -> None:
    """Two options (``{"--out": path, "--plot": path}``) may not name the same file."""
    seen: dict[str, str] = {}
    for option, path in destinations.items():
        if not path:
            continue
        real = os.path.realpath(path)
        if real in seen:
            raise ModelError(f"{path!r} is also the {seen[real]} file", option, f"a file other than {seen[real]}'s",
                             SOURCE)
        seen[real] = option


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", **options) -> Iterator[IO]:
    """A file object whose content replaces ``path`` when the block ends without error (see the
    module docstring); ``mode`` ``"wb"`` or ``"w"`` (``options`` go to :func:`open`)."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, mode, **options) as stream:
            yield stream
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


__all__ = ["safe_name", "inside", "writable", "check_file", "check_directory", "check_distinct", "atomic_file"]
