"""``{evolution.url}/instance/connect/{evolution.instance}``: names are config keys or facts.

In URLs, values of ``*.url`` keys are inserted verbatim (they are base URLs) and every other value is
percent-encoded as one path segment, so an instance called ``my shop/1`` cannot change the route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from evodiag.errors import MissingValue

# `${VAR}` is a shell or compose reference quoted in prose and commands, never a placeholder.
_PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][\w.]*)\}")
# A placeholder, closed or not: `{evolution.url` (no `}` after the name) is a typo the catalog loader reports.
_OPENED = re.compile(r"(?<!\$)\{([A-Za-z_][\w.]*)(\}?)")


def names_in(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


@lru_cache(maxsize=4096)
def scan(template: str) -> tuple[tuple[str, ...], str | None]:
    """The names in a template and its first unclosed ``{name``, if any (cached: catalogs repeat texts)."""
    names: list[str] = []
    for match in _OPENED.finditer(template):
        if not match.group(2):
            return tuple(names), match.group(0)
        names.append(match.group(1))
    return tuple(names), None


def _lookup(scope: Mapping[str, Any], name: str) -> Any:
    value = scope.get(name)
    if value in (None, ""):
        raise MissingValue(f"{name} is not set (flag, EVODIAG_* variable or evodiag.yaml)")
    return value


# Leading name parts that say which product a value belongs to, not what it is.
_PRODUCTS = frozenset({"evolution", "chatwoot", "openim", "s3", "webhook", "config", "http", "files", "dns", "send"})
# Last name parts too generic to stand alone: "version" alone reads fine, "name" needs its owner ("inbox name").
_GENERIC = frozenset({"name", "id", "url", "status", "state", "code", "value", "type", "count", "text"})


def missing_word(name: str) -> str:
    """What a message says where a value is missing: ``evolution.version`` -> "unknown version",
    ``chatwoot.inbox.name`` -> "unknown inbox name". Never the raw placeholder."""
    parts = [p for p in name.split(".") if p]
    words = parts[-1:]
    if len(parts) >= 2 and parts[-1] in _GENERIC and parts[-2] not in _PRODUCTS:
        words = parts[-2:]
    return "unknown " + " ".join(words).replace("_", " ")


def render(template: str, scope: Mapping[str, Any], *, strict: bool = False, fill_in: bool = False) -> str:
    """Fill a message template. A missing value becomes words ("unknown version") so no message ever shows a
    raw placeholder; with ``fill_in`` (a command the user will run) it becomes ``<name>`` to fill in.
    ``strict`` raises :class:`MissingValue` instead (headers, URLs)."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if strict:
            return str(_lookup(scope, name))
        value = scope.get(name)
        if value is not None:
            return _format(value)
        return f"<{name}>" if fill_in else missing_word(name)

    return _PLACEHOLDER.sub(repl, template)


def render_url(template: str, scope: Mapping[str, Any]) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        value = str(_lookup(scope, name))
        return value.rstrip("/") if name.endswith(".url") else quote(value, safe="")

    return _PLACEHOLDER.sub(repl, template)


def _format(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
