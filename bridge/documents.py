"""Reading YAML (and JSON, which is YAML) documents: model files, type files, the built-in catalog.

Only plain data is accepted (the safe loader: no Python tags), with libyaml's parser where it is
installed (a 50 MB file parses in seconds, not a quarter of an hour).  A key given twice in one
mapping is an error (YAML would silently keep the last), and so is a document whose aliases expand
to more than :data:`MAX_NODES` nodes (a kilobyte "billion laughs" file expands to gigabytes in any
code that copies it).  Every problem is a one-line :class:`~bridge.errors.ModelError` naming the
file, the line and column.
"""
from __future__ import annotations

import os
from typing import Any

import yaml

from .errors import ModelError

#: the most nodes a document may expand to through its aliases
MAX_NODES = 2_000_000
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """The safe loader, refusing duplicate keys and alias bombs."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        expanded_size(node)
        return self.construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    mark = key_node.start_mark
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (line {mark.line + 1}, column {mark.column + 1})", mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def expanded_size(node: yaml.Node) -> int:
    """Number of nodes ``node`` stands for with every alias expanded; raises a YAML error past
    :data:`MAX_NODES` or on an alias that contains itself."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(item: yaml.Node) -> int:
        key = id(item)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise yaml.composer.ComposerError(None, None, "an alias contains itself", item.start_mark)
        active.add(key)
        children = item.value if isinstance(item, (yaml.SequenceNode, yaml.MappingNode)) else []
        total = 1
        for child in children:
            total += sum(size(part) for part in child) if isinstance(child, tuple) else size(child)
            if total > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"its aliases expand to more than {MAX_NODES} nodes", item.start_mark)
        active.discard(key)
        sizes[key] = total
        return total

    return size(node)


def load_yaml(text_or_stream: Any) -> Any:
    """Parse YAML with bridge's loader (safe, duplicate keys and alias bombs refused)."""
    return yaml.load(text_or_stream, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def read_document(path: str | os.PathLike, expected: str = "a YAML mapping with 'populations'") -> dict[str, Any]:
    """Parse a YAML or JSON file into a dict; ``expected`` describes what the file should hold."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as handle:
            document = load_yaml(handle)
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
        kind = "syntax error" if isinstance(exc, yaml.MarkedYAMLError) and not isinstance(
            exc, (yaml.constructor.ConstructorError, yaml.composer.ComposerError)) else "error"
        raise ModelError(f"YAML {kind}: {problem}", where, "valid YAML: no duplicate keys, aliases within bounds",
                         source) from None
    if not isinstance(document, dict):
        raise ModelError("the file does not hold a mapping", "", expected, source)
    return document
