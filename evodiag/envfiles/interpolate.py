"""``${VAR}`` interpolation as docker compose applies it to compose files and ``env_file`` values.

Why evodiag interpolates at all: deployment guides write ``SERVER_URL=${SERVER_URL}`` in the compose file
and put the real value in ``.env``. Reading the literal ``${SERVER_URL}`` would make every URL check misfire.
And an unquoted ``$`` inside a password (``KEY=ab$cd``) silently becomes ``ab`` under compose: reporting the
unset ``cd`` is itself a useful finding.

Supported forms: ``$NAME``, ``${NAME}``, ``${NAME:-default}``, ``${NAME-default}``, ``${NAME:+alt}``,
``${NAME+alt}``, ``${NAME:?message}``, ``${NAME?message}``, nesting inside defaults, and ``$$`` → ``$``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Lookup = Callable[[str], "str | None"]


@dataclass
class Interpolation:
    """Result of :func:`interpolate`: the value plus what went wrong (names, not exceptions)."""

    value: str
    unset: list[str] = field(default_factory=list)  # referenced without a default and not set
    errors: list[str] = field(default_factory=list)  # syntax errors and ``${X:?msg}`` failures


def _find_close(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` whose body starts at ``start``; -1 if unterminated."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def interpolate(text: str, lookup: Lookup, *, dollar_escape: bool = True) -> Interpolation:
    """Expand variable references in ``text`` using ``lookup`` (returns ``None`` for unset names).

    Unset names without a default expand to ``""``, as compose does (it only warns).
    ``dollar_escape`` turns ``$$`` into ``$`` (compose-file syntax).
    """
    result = Interpolation("")
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "$" and dollar_escape:
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            close = _find_close(text, i + 2)
            if close < 0:
                result.errors.append(f"unterminated '${{' in {text!r}")
                out.append(text[i:])
                break
            out.append(_expand_braced(text[i + 2 : close], lookup, result, dollar_escape))
            i = close + 1
            continue
        m = _NAME.match(text, i + 1)
        if m:
            value = lookup(m.group(0))
            if value is None:
                result.unset.append(m.group(0))
                value = ""
            out.append(value)
            i = m.end()
            continue
        out.append("$")  # a lone '$' (end of text, or before a non-name char) stays literal
        i += 1
    result.value = "".join(out)
    return result


def _expand_braced(body: str, lookup: Lookup, result: Interpolation, dollar_escape: bool) -> str:
    m = _NAME.match(body)
    if not m:
        result.errors.append(f"invalid variable reference '${{{body}}}'")
        return "${" + body + "}"
    name, rest = m.group(0), body[m.end() :]
    value = lookup(name)
    if not rest:
        if value is None:
            result.unset.append(name)
            return ""
        return value
    for op in (":-", "-", ":+", "+", ":?", "?"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            break
    else:
        result.errors.append(f"invalid variable reference '${{{body}}}'")
        return "${" + body + "}"
    empty_counts_as_unset = op.startswith(":")
    is_set = value is not None and (value != "" or not empty_counts_as_unset)

    def sub(text: str) -> str:
        inner = interpolate(text, lookup, dollar_escape=dollar_escape)
        result.unset.extend(inner.unset)
        result.errors.extend(inner.errors)
        return inner.value

    if op in (":-", "-"):
        return value if is_set and value is not None else sub(arg)
    if op in (":+", "+"):
        return sub(arg) if is_set else ""
    # ":?" / "?": compose refuses to start; we record it and go on.
    if not is_set:
        result.errors.append(f"required variable {name} is missing a value" + (f": {arg}" if arg else ""))
        return ""
    return value or ""
