"""Helpers for tests that run ``bridge`` as real processes: the command line with a private
temporary directory, the worker processes that belong to it, and running it so that file
permissions apply even to root (read-only files and directories)."""
from __future__ import annotations

import ctypes
import os
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def environment(tmp: pathlib.Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a bridge subprocess: this checkout on PYTHONPATH, ``TMPDIR`` = ``tmp``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", **extra}
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    return env


def bridge(*args, tmp: pathlib.Path | None = None, env: dict | None = None, timeout: float = 600,
           **popen) -> subprocess.CompletedProcess:
    """Run ``python -m bridge.cli ARGS`` to the end."""
    return subprocess.run([sys.executable, "-m", "bridge.cli", *map(str, args)], capture_output=True, text=True,
                          env=env or environment(tmp), timeout=timeout, cwd=ROOT, **popen)


def start_bridge(*args, tmp: pathlib.Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``python -m bridge.cli ARGS`` (stdout and stderr piped)."""
    return subprocess.Popen([sys.executable, "-m", "bridge.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or environment(tmp), cwd=ROOT)


def processes_mentioning(text: str) -> list[int]:
    """Process ids whose command line contains ``text`` (read from /proc)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command and str(entry.name) != str(os.getpid()):
            found.append(int(entry.name))
    return found


def workers(tmp: pathlib.Path) -> list[int]:
    """Worker processes whose job lives under ``tmp``."""
    return [pid for pid in processes_mentioning(str(tmp)) if pid in processes_mentioning("bridge.backends.worker")]


def wait_for(condition, timeout: float = 120.0, every: float = 0.1) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return bool(condition())


#: Linux capabilities that let root write where permissions say no (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)
_OVERRIDES = (1, 2)
#: ``prctl`` option dropping a capability from the bounding set (kept across exec, by children too)
PR_CAPBSET_DROP = 24


def _drop_overrides() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _OVERRIDES:
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def permissions_apply() -> dict:
    """``subprocess`` arguments under which file permissions apply to the child even when this
    process is root (which writes into read-only directories otherwise, so they would test nothing):
    the child loses the capabilities that override them."""
    return {"preexec_fn": _drop_overrides} if os.geteuid() == 0 else {}


def read_only(path: pathlib.Path) -> None:
    """Remove every write permission below ``path`` (directories stay listable)."""
    for item in sorted([path, *path.rglob("*")], reverse=True):
        if not item.is_symlink():
            item.chmod(item.stat().st_mode & ~0o222)


def make_writable(path: pathlib.Path) -> None:
    """Undo :func:`read_only` (so that pytest can delete ``path``)."""
    for item in [path, *path.rglob("*")]:
        if not item.is_symlink():
            item.chmod(item.stat().st_mode | 0o200)


def copy_tree(source: pathlib.Path, target: pathlib.Path) -> None:
    shutil.copytree(source, target, symlinks=True)
