"""What every lab server shares: routing, injected latency, and the request log.

An emulator subclasses :class:`LabApp` and declares routes with :meth:`LabApp.route`. Each route says whether
it changes server state (``mutates=True``); the request log records that, so tests can prove that evodiag
stayed read-only against the lab.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.redact import CREDENTIAL_HEADERS, MASK

RouteHandler = Callable[..., Awaitable[Response]]


@dataclass
class LoggedRequest:
    server: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    mutates: bool
    route: str | None
    received_at: float
    status: int = 0


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: RouteHandler
    mutates: bool


# The log entry of the request being handled: each request runs in its own task, so its own context.
_CURRENT_ENTRY: contextvars.ContextVar[LoggedRequest | None] = contextvars.ContextVar("lab_request", default=None)


def mark_mutating() -> None:
    """A route that is read-only for probes acted on this request after all: flag its log entry."""
    entry = _CURRENT_ENTRY.get()
    if entry is not None:
        entry.mutates = True


def _compile(template: str) -> re.Pattern[str]:
    # "/instance/connect/{instance}" -> named groups matching one path segment (no slash).
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]*)", template)
    return re.compile(f"^{regex}$")


@dataclass
class LabApp:
    """Base class for an emulated server. Subclasses call :meth:`route` in ``__post_init__``."""

    name: str = "lab"
    latency_ms: float = 0.0
    log: list[LoggedRequest] = field(default_factory=list)
    _routes: list[_Route] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        """Subclasses declare their routes here (dataclass subclasses: in their own ``__post_init__``)."""

    def route(self, method: str, template: str, handler: RouteHandler, *, mutates: bool = False) -> None:
        self._routes.append(_Route(method.upper(), _compile(template), template, handler, mutates))

    def route_regex(self, method: str, pattern: str, handler: RouteHandler, *, name: str,
                    mutates: bool = False) -> None:
        """A route whose parameters may span slashes (S3 object keys); named groups become arguments."""
        self._routes.append(_Route(method.upper(), re.compile(pattern), name, handler, mutates))

    async def not_found(self, request: Request) -> Response:
        """Answer for a path no route matches; emulators override it with the real server's body."""
        return Response.text("Not Found", 404)

    async def __call__(self, request: Request) -> Response:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        route, params = self._match(request)
        entry = LoggedRequest(
            server=self.name,
            method=request.method,
            path=request.target,
            headers={k: (MASK if k in CREDENTIAL_HEADERS else v) for k, v in request.headers.items()},
            body=request.body,
            mutates=bool(route and route.mutates),
            route=route.template if route else None,
            received_at=request.received_at,
        )
        with self._lock:
            self.log.append(entry)
        _CURRENT_ENTRY.set(entry)
        response = await (route.handler(request, **params) if route else self.not_found(request))
        entry.status = response.status
        return response

    def _match(self, request: Request) -> tuple[_Route | None, dict[str, Any]]:
        path = request.path
        for route in self._routes:
            if route.method != request.method:
                continue
            m = route.pattern.match(path)
            if m:
                return route, m.groupdict()
        return None, {}

    def requests(self, *, mutating: bool | None = None) -> list[LoggedRequest]:
        with self._lock:
            entries = list(self.log)
        return [e for e in entries if mutating is None or e.mutates == mutating]
