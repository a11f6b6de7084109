"""Reading YAML (and JSON, which is YAML) documents: model files, type files, the built-in catalog.

Only plain data is accepted (``safe_load``: no Python tags); syntax errors become a one-line
:class:`~bridge.errors.ModelError` naming the file, line and column.
"""
from __future__ import annotations

import os
from typing import Any

import yaml

from .errors import ModelError


def read_document(path: str | os.PathLike, expected: str = "a YAML mapping with 'populations'") -> dict[str, Any]:
    """Parse a YAML or JSON file into a dict; ``expected`` describes what the file should hold."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ModelError("no such file", "", "an existing file", source) from None
    except IsADirectoryError:
        raise ModelError("is a directory", "", "a file", source) from None
    except UnicodeDecodeError:
        raise ModelError("is not UTF-8 text", "", "a YAML or JSON text file", source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "syntax"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ModelError(f"YAML syntax error: {problem}", where, "valid YAML", source) from None
    if not isinstance(document, dict):
        raise ModelError("the file does not hold a mapping", "", expected, source)
    return document
