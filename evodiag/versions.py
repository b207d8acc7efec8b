"""Version numbers and ranges as the catalog writes them: ``>=1.7.0,<1.7.5``, ``1.7.0 - 1.7.4``,
``3.8.0 || 3.8.1``. Lenient parsing (``v2.3.6``, ``release-v3.8.1``, ``2.0.0-beta``) because versions come from
server replies, image tags and free-text tickets."""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable

Version = tuple[int, int, int]

_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_OPS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne,
}


def parse_version(text: str | None) -> Version | None:
    """``'v2.3.6'`` -> ``(2, 3, 6)``; ``None`` when no ``X.Y`` is in the text."""
    if not text:
        return None
    match = _VERSION_RE.search(str(text))
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def _compare(op: Callable[[Version, Version], bool], bound: Version, version: Version) -> bool:
    return op(version, bound)


def _clause(text: str) -> Callable[[Version], bool]:
    text = text.strip()
    if " - " in text:
        low_text, high_text = text.split(" - ", 1)
        low, high = parse_version(low_text), parse_version(high_text)
        if low is None or high is None:
            raise ValueError(f"bad version range {text!r}")
        return lambda v: low <= v <= high
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ValueError("empty version range")
    tests: list[Callable[[Version], bool]] = []
    for part in parts:
        op_text = next((op for op in (">=", "<=", "==", "!=", ">", "<") if part.startswith(op)), "==")
        bound = parse_version(part[len(op_text):] if part.startswith(op_text) else part)
        if bound is None:
            raise ValueError(f"bad version bound {part!r} (expected e.g. '>=1.7.0')")
        tests.append(functools.partial(_compare, _OPS[op_text], bound))
    return lambda v: all(t(v) for t in tests)


def parse_range(text: str) -> Callable[[Version], bool]:
    alternatives = [_clause(alt) for alt in str(text).split("||")]
    return lambda v: any(alt(v) for alt in alternatives)


def in_range(version: str | Version | None, spec: str) -> bool:
    parsed = version if isinstance(version, tuple) else parse_version(version)
    return parsed is not None and parse_range(spec)(parsed)


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)
