"""The one way evodiag reads YAML (its config file, the check catalog and its includes, compose files, OpenIM's
webhooks.yml): bounded in size, nesting depth and alias expansion before anything is built from it.

Why: YAML aliases let a 1 KB file stand for a billion nodes ("billion laughs"): PyYAML builds it as shared
references, but whatever walks the result afterwards (flattening, merging keys, printing) expands it and hangs at
gigabytes. Deep nesting makes PyYAML's recursive constructor raise RecursionError. So the text is first streamed
as parser events (a state machine in libyaml or PyYAML, no recursion, no objects built), counting depth and the
size each alias stands for; only a document within every bound is then composed.

Every problem, syntax errors included, is one :class:`YamlInputError` with the line, which each caller turns into
its own one-line error (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import Node

MAX_BYTES = 4 * 1024 * 1024  # the largest YAML file evodiag reads (the catalog's area files are ~50 KB)
MAX_DEPTH = 64  # nested mappings/sequences
MAX_ALIASES = 1000  # alias uses (*name), merge keys included
MAX_NODES = 200_000  # nodes once every alias is expanded (the whole shipped catalog is ~6,000)

# libyaml's parser when PyYAML has it (the wheels do): several times faster, same marks.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlInputError(ValueError):
    """YAML evodiag will not read: malformed, or over a bound. ``problem`` is one line; ``line`` is 1-based."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem if line is None else f"line {line}: {problem}")
        self.problem, self.line = problem, line


@dataclass(frozen=True)
class Bounds:
    max_bytes: int = MAX_BYTES
    max_depth: int = MAX_DEPTH
    max_aliases: int = MAX_ALIASES
    max_nodes: int = MAX_NODES


DEFAULT_BOUNDS = Bounds()


def _line(event: Any) -> int | None:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def check_bounds(text: str, bounds: Bounds = DEFAULT_BOUNDS) -> None:
    """Stream ``text`` as parser events and raise :class:`YamlInputError` on the first bound it passes."""
    if len(text) > bounds.max_bytes:
        raise YamlInputError(f"too large for a YAML file evodiag reads ({len(text):,} characters; the limit is "
                             f"{bounds.max_bytes:,})")
    nodes = aliases = depth = 0
    sizes: dict[str, int] = {}  # anchor → nodes it stands for
    open_anchors: list[tuple[str | None, int]] = []  # per open collection: its anchor, node count at its start
    for event in _events(text):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > bounds.max_aliases:
                raise YamlInputError(f"more than {bounds.max_aliases} aliases (*name): refused, an alias bomb "
                                     "expands to billions of nodes", _line(event))
            if any(anchor == event.anchor for anchor, _ in open_anchors):
                raise YamlInputError(f"alias *{event.anchor} refers to a node that contains it (a cycle)",
                                     _line(event))
            nodes += sizes.get(str(event.anchor), 1)
        elif isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            nodes += 1
            if isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            else:
                depth += 1
                if depth > bounds.max_depth:
                    raise YamlInputError(_too_deep(bounds), _line(event))
                open_anchors.append((event.anchor, nodes - 1))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, start = open_anchors.pop()
            if anchor is not None:
                sizes[anchor] = nodes - start
        if nodes > bounds.max_nodes:
            raise YamlInputError(f"more than {bounds.max_nodes:,} nodes once aliases are expanded: refused",
                                 _line(event))


def _events(text: str) -> Any:
    try:
        yield from yaml.parse(text, Loader=SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc) from None
    except yaml.YAMLError as exc:
        raise YamlInputError(f"invalid YAML: {_first_line(str(exc))}") from None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unreadable"


def _too_deep(bounds: Bounds) -> str:
    return f"nested too deeply (more than {bounds.max_depth} levels)"


def _syntax_error(exc: yaml.MarkedYAMLError) -> YamlInputError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or _first_line(str(exc))
    if "maximum nesting depth" in problem:  # libyaml's own bound (1,000) hit before ours
        return YamlInputError(_too_deep(DEFAULT_BOUNDS), mark.line + 1 if mark else None)
    return YamlInputError(f"invalid YAML: {_first_line(problem)}", mark.line + 1 if mark else None)


def load(text: str, loader: type[Any] = SafeLoader, bounds: Bounds = DEFAULT_BOUNDS) -> Any:
    """Python objects from ``text`` (one document) with ``loader`` (a SafeLoader subclass), within ``bounds``."""
    check_bounds(text, bounds)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc) from None
    except yaml.YAMLError as exc:
        raise YamlInputError(f"invalid YAML: {_first_line(str(exc))}") from None
    except RecursionError:  # not reachable within MAX_DEPTH; kept so a raised bound cannot crash
        raise YamlInputError(_too_deep(bounds)) from None


def compose(text: str, loader: type[Any] = yaml.SafeLoader, bounds: Bounds = DEFAULT_BOUNDS) -> tuple[Node | None,
                                                                                                      Any]:
    """The node tree of ``text`` (line numbers kept) and the loader that built it, within ``bounds``. The caller
    disposes of the loader."""
    check_bounds(text, bounds)
    instance = loader(text)
    try:
        return instance.get_single_node(), instance
    except yaml.MarkedYAMLError as exc:
        instance.dispose()
        raise _syntax_error(exc) from None
    except yaml.YAMLError as exc:
        instance.dispose()
        raise YamlInputError(f"invalid YAML: {_first_line(str(exc))}") from None


def read_text(path: Path, bounds: Bounds = DEFAULT_BOUNDS, *, replace_invalid: bool = False) -> str:
    """A YAML file's text: at most ``max_bytes`` read; UTF-8 required unless ``replace_invalid``. Raises
    :class:`OSError` when it cannot be read and :class:`YamlInputError` when it is too large or not UTF-8."""
    with path.open("rb") as fh:
        data = fh.read(bounds.max_bytes + 1)
    if len(data) > bounds.max_bytes:
        raise YamlInputError(f"too large for a YAML file evodiag reads (over {bounds.max_bytes:,} bytes)")
    try:
        return data.decode("utf-8", "replace" if replace_invalid else "strict")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlInputError("not UTF-8 text", line) from None
