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


def render(template: str, scope: Mapping[str, Any], *, strict: bool = False) -> str:
    """Fill a message template. Unknown names stay as written unless ``strict``."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if strict:
            return str(_lookup(scope, name))
        value = scope.get(name)
        return match.group(0) if value is None else _format(value)

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
