"""YAML loading that remembers where every mapping and key came from, so validation errors can say
``checks.yaml:142: check evolution.auth: diagnoses[1].when: unknown key 'staus'``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from evodiag import boundedyaml
from evodiag.errors import CatalogError


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping that knows the line of itself (``line``) and of each key (``key_lines``)."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list):  # type: ignore[type-arg]
    line: int = 0


class _LineLoader(boundedyaml.SafeLoader):  # type: ignore[misc,valid-type]
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (list, dict)):  # `? [1, 2]`: valid YAML, but no key a catalog or config can have
            raise CatalogError("a mapping key must be a scalar", line=key_node.start_mark.line + 1)
        if key in mapping:
            raise CatalogError(f"duplicate key {key!r}", line=key_node.start_mark.line + 1)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    seq = LineList(loader.construct_object(child, deep=True) for child in node.value)
    seq.line = node.start_mark.line + 1
    return seq


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(text: str, file: str) -> Any:
    """Parse YAML text (bounded: see :mod:`evodiag.boundedyaml`); any problem becomes a one-line
    :class:`CatalogError` with file and line."""
    try:
        return boundedyaml.load(text, _LineLoader)
    except CatalogError as exc:
        raise CatalogError(str(exc).split(": ", 1)[1], file=file, line=exc.line) from None
    except boundedyaml.YamlInputError as exc:
        raise CatalogError(exc.problem, file=file, line=exc.line) from None


def read_yaml_file(path: Path) -> Any:
    try:
        text = boundedyaml.read_text(path)
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    except boundedyaml.YamlInputError as exc:
        raise CatalogError(exc.problem, file=str(path), line=exc.line) from None
    return load_yaml(text, str(path))


def line_of(obj: Any, key: str | None = None) -> int | None:
    if key is not None and isinstance(obj, LineDict):
        return obj.key_lines.get(key, obj.line)
    return getattr(obj, "line", None) or None
