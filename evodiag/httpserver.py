"""A small asyncio HTTP/1.1 server for loopback use: the lab's emulated servers and the webhook receiver.

Why not ``http.server``: the lab must serve many overlapping requests with injected latency (to prove that
evodiag runs checks concurrently) and the webhook receiver must sustain thousands of deliveries per second
on two cores. A keep-alive asyncio server does both with the standard library only.

The raw request path is kept exactly as received (``//hook`` stays ``//hook``): several of the faults evodiag
diagnoses are doubled slashes, so the server must never normalise them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_BODY = 16 * 1024 * 1024


class BadRequest(Exception):
    """The peer sent something that is not HTTP/1.1 we can parse."""


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    @property
    def path(self) -> str:
        """The path exactly as sent, doubled slashes included."""
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """Decode the body as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, content_type: str = "application/json; charset=utf-8") -> Response:
        # Compact separators: Express's JSON.stringify and Rails' to_json emit no spaces, and the lab
        # promises byte-for-byte bodies.
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, body, {"Content-Type": content_type})

    @classmethod
    def raw_json(cls, text: str, status: int = 200) -> Response:
        """A body given as literal JSON text, for bytes copied verbatim from the reference."""
        return cls(status, text.encode("utf-8"), {"Content-Type": "application/json; charset=utf-8"})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type})


Handler = Callable[[Request], Awaitable[Response]]


TLS_HANDSHAKE = 0x16  # first byte of a TLS record carrying a ClientHello


async def _read_head(reader: asyncio.StreamReader, first: bytes = b"") -> bytes | None:
    try:
        head = first + await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest("connection closed mid-request") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    return head


async def _read_chunked(reader: asyncio.StreamReader, max_body: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readline()
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest("bad chunk size") from None
        if size == 0:
            # Trailers, then the blank line that ends the message.
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        total += size
        if total > max_body:
            raise BadRequest("body too large")
        parts.append(await reader.readexactly(size))
        await reader.readline()


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        raise BadRequest(f"bad request line: {lines[0][:80]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("bad header line")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return method.upper(), target, version, headers


def _encode_response(resp: Response, keep_alive: bool, head_only: bool = False) -> bytes:
    try:
        reason = HTTPStatus(resp.status).phrase
    except ValueError:
        reason = "Status"
    headers = {"Content-Length": str(len(resp.body)), **resp.headers}
    headers["Connection"] = "keep-alive" if keep_alive else "close"
    lines = [f"HTTP/1.1 {resp.status} {reason}"] + [f"{k}: {v}" for k, v in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + resp.body


class HTTPServer:
    """One listening socket on 127.0.0.1 that hands every request to ``handler``."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0,
                 max_body: int = DEFAULT_MAX_BODY) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.max_body = max_body
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_HEADER_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._connections):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            first = await reader.read(1)
            if not first:
                return
            if first[0] == TLS_HANDSHAKE:
                # https:// against a plain-HTTP port: answer like Node's HTTP parser (400, close) so the client
                # fails its handshake at once instead of waiting for a head that never comes.
                writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            while True:
                try:
                    head = await _read_head(reader, first)
                    first = b""
                    if head is None:
                        return
                    method, target, version, headers = _parse_head(head)
                    if headers.get("transfer-encoding", "").lower() == "chunked":
                        body = await _read_chunked(reader, self.max_body)
                    else:
                        length = int(headers.get("content-length", "0") or 0)
                        if length > self.max_body:
                            raise BadRequest("body too large")
                        body = await reader.readexactly(length) if length else b""
                except (BadRequest, ValueError, asyncio.IncompleteReadError) as exc:
                    msg = Response.text(f"bad request: {exc}\n", 400)
                    writer.write(_encode_response(msg, keep_alive=False))
                    await writer.drain()
                    return
                request = Request(method, target, headers, body)
                try:
                    response = await self.handler(request)
                except Exception as exc:  # a lab bug must not kill the connection loop silently
                    response = Response.text(f"lab handler error: {type(exc).__name__}: {exc}\n", 500)
                keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                writer.write(_encode_response(response, keep_alive, head_only=method == "HEAD"))
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._connections.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()


class ServerThread:
    """Runs HTTP servers on an asyncio loop in a daemon thread, so synchronous code (tests, the CLI) can
    start them, talk to them over real sockets, and stop them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="evodiag-servers", daemon=True)
        self._thread.start()
        self._servers: list[HTTPServer] = []

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Awaitable[Any], timeout: float = 10) -> Any:
        """Run a coroutine on the server loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def start(self, server: HTTPServer) -> HTTPServer:
        self.call(server.start())
        self._servers.append(server)
        return server

    def stop(self) -> None:
        if not self.loop.is_running():
            return

        async def _close_all(servers: Iterable[HTTPServer]) -> None:
            for server in servers:
                await server.close()

        with contextlib.suppress(Exception):
            self.call(_close_all(self._servers))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
