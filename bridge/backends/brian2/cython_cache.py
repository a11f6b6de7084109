"""Checked Cython modules: Brian2's compiled-code cache, verified before a module is loaded.

Brian2 keeps each compiled Cython module (``_cython_magic_<hash>.so``) in ``cache_dir("brian2")/cython``
and loads any file of that name it finds; a truncated module crashes every later run with SIGBUS and
an edited one may compute anything.  :func:`check_modules` wraps Brian2's module loader so that
before a module is loaded

* a module with a manifest (``.so.sha256``: size and SHA-256, :mod:`bridge.cache_entries`) must
  match it;
* a module without one (compiled before bridge recorded manifests, or by a compiler that was
  killed) must be a complete ELF file (:func:`elf_problem`: its headers and segments fit in the
  file); it then gets its manifest;

and a module that fails is removed with a notice, so Brian2 compiles it again (the ``compiling``
phase is reported); a freshly compiled module gets its manifest at once.  All of this happens
under Brian2's own lock file of that module.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from ... import cache_entries
from ...progress import reporter


def elf_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete 64-bit little-endian ELF file, or None."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(64)
            size = path.stat().st_size
            if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
                return "not a 64-bit ELF file"
            phoff, shoff = struct.unpack_from("<QQ", header, 0x20)
            phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", header, 0x36)
            if shoff + shentsize * shnum > size or phoff + phentsize * phnum > size:
                return f"truncated ({size} bytes; its headers end later)"
            handle.seek(phoff)
            for _ in range(phnum):
                entry = handle.read(phentsize)
                offset, _, _, filesz = struct.unpack_from("<QQQQ", entry, 8)
                if offset + filesz > size:
                    return f"truncated ({size} bytes; a segment ends at {offset + filesz})"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    except struct.error:
        return "malformed ELF headers"
    return None


def module_problem(path: Path) -> str | None:
    """Why the compiled module ``path`` must not be loaded, or None."""
    if cache_entries.has_manifest(path):
        return cache_entries.file_problem(path)
    return elf_problem(path)


def check_modules() -> None:
    """Wrap Brian2's Cython module loader (once per process) as the module docstring says."""
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager as manager

    if getattr(manager, "_bridge_checked", False):
        return
    original = manager._load_module

    def load_checked(module_path: str, *args: Any, **kwargs: Any) -> Any:
        path = Path(module_path)
        if path.is_file():
            problem = module_problem(path)
            if problem is not None:
                cache_entries.discard(path, problem, "compiling it again")
        if not path.is_file():
            reporter().phase("compiling")
        module = original(module_path, *args, **kwargs)
        if path.is_file() and not cache_entries.has_manifest(path):
            cache_entries.write_manifest(path)
        return module

    manager._load_module = load_checked
    manager._bridge_checked = True


__all__ = ["check_modules", "elf_problem", "module_problem"]
