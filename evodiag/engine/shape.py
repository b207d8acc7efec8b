"""Reply shapes: every field a probe reads from a server's JSON is checked for the type it needs, in one place.

A real server, a proxy in front of it or a different version can answer an array where an object belongs, ``null``,
numbers as strings, or leave fields out. Instead of ``AttributeError: 'list' object has no attribute 'get'`` (a
"probe crashed" error), the probe gets a :class:`evodiag.errors.WrongShape`, which the run reports as a finding:
``Evolution answered a list where an object ('instance') was expected (GET /instance/connectionState/lab)``.

Usage in a probe: ``inner = expect(exchange, doc.get("instance"), dict, "instance", optional=True)``.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlsplit

from evodiag.engine.http import Exchange
from evodiag.errors import WrongShape

T = TypeVar("T")

_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def describe(value: Any) -> str:
    """What a JSON value is, in words ("a list", "null", "a string ('12')")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:19] + "…"
        return f"a string ({shown!r})"
    return _NAMES.get(type(value), f"a {type(value).__name__}")


_PRODUCTS = {"evolution": "Evolution", "chatwoot": "Chatwoot", "openim": "OpenIM"}


def product_of(exchange: Exchange) -> str:
    """Who answered: the product the asking check belongs to, else the server's origin."""
    product = _PRODUCTS.get((exchange.check_id or "").split(".", 1)[0])
    if product:
        return product
    parts = urlsplit(exchange.url)
    return f"the server at {parts.scheme}://{parts.netloc}"


def expect(exchange: Exchange, value: Any, kind: type[T] | tuple[type, ...], what: str, *,
           optional: bool = False) -> T:
    """``value`` if it is a ``kind`` (``None`` passes when ``optional``); else :class:`WrongShape` naming what
    the server sent, what was expected, and the request."""
    if optional and value is None:
        return value  # type: ignore[return-value]
    if isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool)):
        return value  # type: ignore[return-value]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    wanted = " or ".join(dict.fromkeys(_NAMES.get(k, k.__name__) for k in kinds))
    route = urlsplit(exchange.url).path
    raise WrongShape(f"{product_of(exchange)} answered {describe(value)} where {wanted} ({what}) was expected "
                     f"({exchange.method} {route})")
