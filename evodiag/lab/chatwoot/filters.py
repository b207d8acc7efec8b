"""``POST …/conversations/filter`` and ``POST …/contacts/filter``: validation with Chatwoot's exact 422 texts, then
an in-memory evaluation of the conditions that mimics the SQL Chatwoot builds.

Check order from ``build_condition_query`` (same at 4.10.1): operator -> value -> attribute
(https://github.com/chatwoot/chatwoot/blob/29f07e7e06a9702d8663897143a17b991db022fc/app/helpers/filter_helper.rb).
``validate_query_operator`` (3.16.0+) runs over the whole payload first (``perform`` in
https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/services/conversations/filter_service.rb).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evodiag.lab.chatwoot.model import CONVERSATION_STATUSES, Version
from evodiag.lab.chatwoot.texts import FILTER_ERRORS, Operators


class FilterInvalid(Exception):
    """A CustomExceptions::CustomFilter error: rendered as 422 ``{"error": message}``."""


class FilterCrash(Exception):
    """What would be an SQL or Ruby error inside the filter service: an unhandled 500."""


@dataclass
class Condition:
    key: str
    operator: str | None
    values: Any
    query_operator: str | None
    custom: bool = False


def _blank(value: Any) -> bool:
    """Ruby's ``blank?``: nil, false, empty or whitespace-only string, empty array/hash."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return not value
    return False


def _query_operator(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    return str(raw)


def compile_conditions(payload: Any, keys: dict[str, Operators], custom_keys: list[str], version: Version,
                       locale: str) -> list[Condition]:
    """Validate ``payload`` like Chatwoot ``version`` does and return the conditions that reach the query.

    Raises :class:`FilterInvalid` (422) or :class:`FilterCrash` (500)."""
    texts = FILTER_ERRORS[locale]
    if not isinstance(payload, list) or not all(isinstance(c, dict) for c in payload):
        raise FilterCrash("undefined method `each' for payload")  # nil.each / malformed hash: NoMethodError
    if version >= (3, 16, 0):
        # InvalidQueryOperator (3.16.0+, commit b34dac7b); validate_single_condition upcases the value
        for cond in payload:
            qop = _query_operator(cond.get("query_operator"))
            if qop is not None and qop.upper() not in ("AND", "OR"):
                raise FilterInvalid(texts["invalid_query_operator"])
    compiled: list[Condition] = []
    for cond in payload:
        key = str(cond.get("attribute_key"))
        operator = cond.get("filter_operator")
        values = cond.get("values")
        qop = _query_operator(cond.get("query_operator"))
        known = keys.get(key)
        if version < (3, 8, 0):
            # <= 3.7.x: no validation; an unknown key that is no custom attribute yields
            # ' ' in the SQL string, i.e. the condition *and its query_operator* vanish:
            # https://github.com/chatwoot/chatwoot/blob/e1e88571958a690a6379f27ca5de67f1e7caaa81/app/services/filter_service.rb#L130-L139
            if known is None and key not in custom_keys:
                continue
            compiled.append(Condition(key, operator, values, qop, custom=known is None))
            continue
        # 1. known key, operator not allowed -> InvalidOperator
        if known is not None and operator not in known:
            raise FilterInvalid(texts["invalid_operator"].format(attribute_name=key, allowed_keys=",".join(known)))
        # 2. step 2: values blank (except is_present/is_not_present) -> InvalidValue
        if operator not in ("is_present", "is_not_present") and _blank(values):
            raise FilterInvalid(texts["invalid_value"].format(attribute_name=key))
        # 3. step 3: unknown key and no custom attribute definition -> InvalidAttribute, allowed_keys joined by ','
        if known is None and key not in custom_keys:
            raise FilterInvalid(texts["invalid_attribute"].format(key=key, allowed_keys=",".join(keys)))
        compiled.append(Condition(key, operator, values, qop, custom=known is None))
    return compiled


def _as_list(values: Any) -> list[Any]:
    if values is None:
        return []
    return list(values) if isinstance(values, list) else [values]


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _date_value(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _test(cond: Condition, actual: Any, wanted: list[Any], now: float, case_insensitive: bool) -> bool:
    op = cond.operator
    if op == "is_present":
        return not _blank(actual)
    if op == "is_not_present":
        return actual is None or actual == ""
    if isinstance(actual, list):  # labels
        names = {_text(v) for v in actual}
        hits = any(_text(w) in names for w in wanted)
        if op in ("equal_to", "exactly_equal_to", "contains"):
            return hits
        return not hits
    if op in ("is_greater_than", "is_less_than"):
        limit = _date_value(wanted[0]) if wanted else None
        if limit is None or actual is None:
            return False
        day = dt.datetime.fromtimestamp(float(actual), dt.timezone.utc).date()
        return day > limit if op == "is_greater_than" else day < limit
    if op == "days_before":
        try:
            days = float(wanted[0])
        except (IndexError, TypeError, ValueError):
            return False
        return actual is not None and float(actual) < now - days * 86400
    text = _text(actual)
    wanted_text = [_text(w) for w in wanted]
    if case_insensitive:
        text = text.lower()
        wanted_text = [w.lower() for w in wanted_text]
    if op in ("contains", "does_not_contain"):
        hit = actual is not None and any(w.strip().lower() in text.lower() for w in wanted_text)
        return hit if op == "contains" else not hit
    if op == "starts_with":
        return actual is not None and any(text.lower().startswith(w.lower()) for w in wanted_text)
    hit = actual is not None and text in wanted_text
    # not_equal_to is "NOT IN (...)": NULL columns never match either way in SQL
    if op == "not_equal_to":
        return actual is not None and not hit
    return hit  # equal_to, and the 3.7.0 fallback "= :value" for unknown operators


def _combine(results: list[tuple[bool, str | None]]) -> bool:
    """Join per-condition results the way the concatenated SQL does: ``query_operator`` links a condition to the
    next, AND binds tighter than OR. A missing link between two conditions or a dangling trailing operator is
    invalid SQL -> 500 (inference from the string concatenation; UNVERIFIED)."""
    if not results:
        return True
    groups: list[bool] = []
    current = True
    for index, (value, qop) in enumerate(results):
        current = current and value
        last = index == len(results) - 1
        if last:
            if qop is not None:
                raise FilterCrash(f"PG::SyntaxError: syntax error at end of input (trailing {qop})")
            break
        link = (qop or "").upper()
        if link == "AND":
            continue
        if link == "OR":
            groups.append(current)
            current = True
            continue
        raise FilterCrash(f"PG::SyntaxError near {qop!r}")
    groups.append(current)
    return any(groups)


def conversation_matcher(conds: list[Condition], get: Callable[[str, bool], Any],
                         now: float) -> Callable[[], bool]:
    """Build a zero-argument test for one conversation; ``get(key, custom)`` returns the conversation's value."""

    def run() -> bool:
        results: list[tuple[bool, str | None]] = []
        for cond in conds:
            wanted = _as_list(cond.values)
            actual = get(cond.key, cond.custom)
            if cond.key == "status" and not cond.custom:
                # values mapped through the enum; "all" means every status
                if "all" in wanted:
                    hit = True
                else:
                    codes = {CONVERSATION_STATUSES.get(str(w)) for w in wanted}
                    hit = CONVERSATION_STATUSES.get(str(actual)) in codes
                results.append((hit if cond.operator != "not_equal_to" else not hit, cond.query_operator))
                continue
            results.append((_test(cond, actual, wanted, now, case_insensitive=False), cond.query_operator))
        return _combine(results)

    return run


def contact_matcher(conds: list[Condition], get: Callable[[str, bool], Any], now: float) -> Callable[[], bool]:
    """Contacts filter: only ``values[0]`` is used; phone numbers are normalised to ``"+" + digits``; text columns
    compare case-insensitively
    (https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/services/contacts/filter_service.rb)."""

    def run() -> bool:
        results: list[tuple[bool, str | None]] = []
        for cond in conds:
            values = _as_list(cond.values)
            first = values[0] if values else None
            if cond.key == "phone_number" and first is not None:
                first = "+" + str(first).replace("+", "")
            wanted = [first] if cond.operator not in ("is_present", "is_not_present") else []
            actual = get(cond.key, cond.custom)
            if cond.key == "blocked":
                actual = _text(actual)
                wanted = [_text(first).lower()]
            if cond.key == "labels":
                wanted = values
            results.append((_test(cond, actual, wanted, now, case_insensitive=True), cond.query_operator))
        return _combine(results)

    return run
