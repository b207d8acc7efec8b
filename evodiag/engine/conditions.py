"""Evaluate the catalog's ``when`` conditions and matchers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from evodiag.catalog.model import Condition, Matcher
from evodiag.engine import jsonpath
from evodiag.versions import in_range


def match_value(value: Any, matcher: Matcher) -> bool:
    present = value is not jsonpath.MISSING and value is not None
    if matcher.exists is not None and matcher.exists != present:
        return False
    if matcher.has_equals and (not present or value != matcher.equals):
        return False
    if matcher.has_not_equals and present and value == matcher.not_equals:
        return False
    if matcher.one_of is not None and (not present or value not in matcher.one_of):
        return False
    if matcher.matches is not None:
        if not present:
            return False
        texts = value if isinstance(value, list) else [value]
        if not any(re.search(matcher.matches, str(t)) for t in texts):
            return False
    if matcher.contains is not None:
        if not present:
            return False
        haystack = value if isinstance(value, (list, dict)) else str(value)
        if matcher.contains not in haystack:
            return False
    return not (matcher.version is not None and (not present or not in_range(str(value), matcher.version)))


def values_hold(pairs: tuple[tuple[str, Matcher], ...], scope: Mapping[str, Any]) -> bool:
    return all(match_value(scope.get(name, jsonpath.MISSING), matcher) for name, matcher in pairs)


def condition_holds(cond: Condition, *, status: int | None, body: str, doc: Any,
                    scope: Mapping[str, Any]) -> bool:
    if cond.status and status not in cond.status:
        return False
    if cond.body is not None and not re.search(cond.body, body):
        return False
    for path, matcher in cond.json:
        if not match_value(jsonpath.find(doc, path) if doc is not jsonpath.MISSING else doc, matcher):
            return False
    return values_hold(cond.values, scope)
