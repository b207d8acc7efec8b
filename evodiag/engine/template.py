"""``{evolution.url}/instance/connect/{evolution.instance}``: names are config keys or facts.

In URLs, values of ``*.url`` keys are inserted verbatim (they are base URLs) and every other value is
percent-encoded as one path segment, so an instance called ``my shop/1`` cannot change the route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from evodiag.errors import MissingValue

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")


def names_in(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


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
