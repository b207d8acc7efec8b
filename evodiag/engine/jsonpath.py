"""A deliberately small JSON path: ``$``, ``.key``, ``["key"]``, ``[0]``, ``[-1]``, ``[*]``.

Enough for the catalog's matchers and extracts, with no dependency. ``[*]`` fans out and the result is a list.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"""\.([A-Za-z_$][\w$-]*)|\[(-?\d+)\]|\[\*\]|\[["']([^"']*)["']\]""")

MISSING = object()


def _steps(path: str) -> list[Any]:
    if not path.startswith("$"):
        raise ValueError(f"JSON path must start with '$': {path!r}")
    steps: list[Any] = []
    pos = 1
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match:
            raise ValueError(f"bad JSON path {path!r} at {path[pos:]!r}")
        key, index, quoted = match.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(int(index))
        elif quoted is not None:
            steps.append(quoted)
        else:
            steps.append("*")
        pos = match.end()
    return steps


def find(doc: Any, path: str) -> Any:
    """Return the value at ``path`` or :data:`MISSING`."""
    values = [doc]
    fanned = False
    for step in _steps(path):
        nxt: list[Any] = []
        for value in values:
            if step == "*":
                fanned = True
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, dict):
                    nxt.extend(value.values())
            elif isinstance(step, int):
                if isinstance(value, list) and -len(value) <= step < len(value):
                    nxt.append(value[step])
            elif isinstance(value, dict) and step in value:
                nxt.append(value[step])
        values = nxt
    if fanned:
        return values
    return values[0] if values else MISSING
