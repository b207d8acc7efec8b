"""The hostile lab: servers in front of the emulated Evolution API, Chatwoot and OpenIM that misbehave in one chosen
way, so every failure a real deployment (or a proxy in front of it) can throw at evodiag is reproducible on
127.0.0.1. ``evodiag lab serve --hostile KIND`` runs one; tests use :func:`start_hostile_lab`.

The shape kinds (``shape-*``) forward each request to the healthy emulator and rewrite the JSON it answered, so
every route evodiag calls gets the wrong shape without a list of routes to keep in sync. The transport kinds
write raw bytes on the socket (never answering, dripping, resetting), which an HTTP framework would not allow.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evodiag.httpserver import (
    BadRequest,
    Handler,
    HTTPServer,
    Request,
    Response,
    _encode_response,
    _parse_head,
    _read_head,
)
from evodiag.lab.runtime import Lab, start_lab

KINDS: dict[str, str] = {
    "html": "every route answers 200 with an HTML login page (a captive portal or SSO proxy)",
    "html-error": "every route answers 502 with nginx's HTML error page",
    "invalid-json": "200 application/json whose body is cut-off JSON",
    "shape-array": "the real reply, every JSON object wrapped in an array",
    "shape-null": "the real reply, every JSON value replaced by null",
    "shape-strings": "the real reply, numbers and booleans sent as strings",
    "shape-missing": "the real reply, every JSON object emptied (missing fields)",
    "deep-json": "200 with a JSON array nested 100,000 levels deep",
    "huge-body": "200 with a 60 MB body",
    "gzip-bomb": "200 with a small gzip body that inflates to 64 MB",
    "silent": "accepts the connection, reads the request, never answers",
    "drip": "answers one byte a second",
    "reset": "resets the connection in the middle of the body",
    "redirect-away": "302 to another origin (which serves the real emulator)",
    "redirect-loop": "302 to the same URL, forever",
    "rate-limited": "429 Too Many Requests with Retry-After: 120",
    "self-signed-tls": "https with a self-signed certificate (the real emulator behind it)",
}

LOGIN_PAGE = (b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method=\"post\" "
              b"action=\"/login\"><input name=\"user\"><input type=\"password\" name=\"pass\"></form></body></html>")
NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
             b"</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n")
HUGE_BYTES = 60 * 1024 * 1024
BOMB_BYTES = 64 * 1024 * 1024
DEEP_LEVELS = 100_000


def _mutate(kind: str) -> Callable[[Any], Any]:
    """The rewrite for a ``shape-*`` kind. The top level keeps its type and keys (so the reachability checks pass and
    the probes behind them read the damaged fields); everything below is rewritten."""
    def array(v: Any) -> Any:
        if isinstance(v, dict):
            return [{k: array(x) for k, x in v.items()}]
        return [array(x) for x in v] if isinstance(v, list) else v

    def null(v: Any) -> Any:
        if isinstance(v, (dict, list)):
            return None
        return v if isinstance(v, str) and "." in v else None  # keep version strings: the gates need them

    def strings(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strings(x) for k, x in v.items()}
        if isinstance(v, list):
            return [strings(x) for x in v]
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v) if isinstance(v, (int, float)) else v

    def missing(v: Any) -> Any:
        if isinstance(v, dict):
            return {}
        return [missing(x) for x in v] if isinstance(v, list) else v

    inner = {"shape-array": array, "shape-null": null, "shape-strings": strings, "shape-missing": missing}[kind]

    def below_top(doc: Any) -> Any:
        if isinstance(doc, dict):
            return {k: inner(v) for k, v in doc.items()}
        return [inner(v) for v in doc] if isinstance(doc, list) else doc

    return below_top


_bomb: bytes | None = None


def gzip_bomb() -> bytes:
    """64 MB of zeros, gzipped (about 64 KB): made once per process."""
    global _bomb
    if _bomb is None:
        _bomb = gzip.compress(bytes(BOMB_BYTES), compresslevel=9)
    return _bomb


def self_signed_context(workdir: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1, made by the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the self-signed-tls kind needs the openssl command (apt-get install openssl)")
    key, cert = workdir / "hostile.key", workdir / "hostile.crt"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@dataclass
class HostileServer:
    """One listening socket on 127.0.0.1 misbehaving as ``kind``; ``inner`` is the healthy emulator behind it."""

    kind: str
    inner: Handler
    tls: ssl.SSLContext | None = None
    away_url: str = ""
    only_path: str | None = None  # shape kinds: rewrite only replies to this path (one route at a time)
    port: int = 0
    _server: asyncio.base_events.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            for task in list(self._tasks):  # connections held open on purpose (silent, drip) end now
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    return
                method, target, _, headers = _parse_head(head)
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                if not await self._answer(Request(method, target, headers, body), writer):
                    return
        except (BadRequest, ValueError, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError,
                asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(self, writer: asyncio.StreamWriter, response: Response) -> bool:
        writer.write(_encode_response(response, keep_alive=True))
        await writer.drain()
        return True

    async def _answer(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request as ``kind``; ``False`` when the connection must end."""
        kind = self.kind
        if kind == "html":
            return await self._send(writer, Response(200, LOGIN_PAGE, {"Content-Type": "text/html; charset=utf-8"}))
        if kind == "html-error":
            return await self._send(writer, Response(502, NGINX_502, {"Content-Type": "text/html", "Server": "nginx"}))
        if kind == "invalid-json":
            return await self._send(writer, Response.raw_json('{"status":200,"response":{"message":["ok"'))
        if kind == "deep-json":
            deep = b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS
            return await self._send(writer, Response(200, deep, {"Content-Type": "application/json"}))
        if kind == "rate-limited":
            return await self._send(writer, Response(429, b'{"message":"Too Many Requests"}', {
                "Content-Type": "application/json", "Retry-After": "120"}))
        if kind == "redirect-loop":
            return await self._send(writer, Response(302, b"", {"Location": request.target}))
        if kind == "redirect-away":
            return await self._send(writer, Response(302, b"", {"Location": self.away_url + request.target}))
        if kind == "gzip-bomb":
            return await self._send(writer, Response(200, gzip_bomb(), {"Content-Type": "application/json",
                                                                         "Content-Encoding": "gzip"}))
        if kind == "silent":
            await asyncio.sleep(3600)
            return False
        if kind == "huge-body":
            await self._huge(writer)
            return False
        if kind == "drip":
            response = await self.inner(request)
            for byte in _encode_response(response, keep_alive=False):
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1)
            return False
        if kind == "reset":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n"
                         b'{"status":200,"response":')
            await writer.drain()
            sock = writer.get_extra_info("socket")
            if sock is not None:  # SO_LINGER 0: close() sends RST, not FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        response = await self.inner(request)
        wanted = self.only_path is None or request.path == self.only_path
        if kind.startswith("shape-") and wanted and "json" in response.headers.get("Content-Type", ""):
            try:
                doc = json.loads(response.body)
            except ValueError:
                pass
            else:
                response = Response.json(_mutate(kind)(doc), response.status)
        return await self._send(writer, response)

    async def _huge(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % HUGE_BYTES)
        chunk = b"[" + b"0," * (32 * 1024) + b"0]"
        sent = 0
        while sent < HUGE_BYTES:
            piece = chunk[: HUGE_BYTES - sent]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)


@dataclass
class HostileLab:
    """The healthy lab behind hostile fronts for Evolution, Chatwoot and OpenIM (all the same ``kind``)."""

    kind: str
    lab: Lab
    fronts: dict[str, HostileServer]
    away: dict[str, HTTPServer]

    @property
    def urls(self) -> dict[str, str]:
        return {name: front.url for name, front in self.fronts.items()}

    def settings(self) -> dict[str, str]:
        values = self.lab.settings_values
        return {"evolution.url": self.fronts["evolution"].url, "evolution.api_key": values["evolution.api_key"],
                "evolution.instance": values["evolution.instance"], "chatwoot.url": self.fronts["chatwoot"].url,
                "chatwoot.token": values["chatwoot.token"], "chatwoot.account_id": values["chatwoot.account_id"],
                "openim.url": self.fronts["openim"].url, "openim.secret": values["openim.secret"]}

    def cli_args(self) -> list[str]:
        """``evodiag check`` flags pointing at the hostile fronts (self-signed TLS is not trusted: no --insecure)."""
        from evodiag.config import OPTIONS

        values = self.settings()
        return [arg for opt in OPTIONS if opt.key in values for arg in (opt.flag, values[opt.key])]

    def secrets(self) -> list[str]:
        values = self.lab.settings_values
        return [values["evolution.api_key"], values["chatwoot.token"], values["openim.secret"]]


@contextmanager
def start_hostile_lab(kind: str, *, only_path: str | None = None) -> Iterator[HostileLab]:
    """The healthy lab plus one hostile front per product, on random loopback ports. ``only_path``: a shape kind
    damages only the replies to that path."""
    if kind not in KINDS:
        raise KeyError(f"unknown hostile kind {kind!r}; known: {', '.join(KINDS)}")
    with ExitStack() as stack:
        lab = stack.enter_context(start_lab("healthy", generate_traffic=False))
        tls = self_signed_context(lab.workdir) if kind == "self-signed-tls" else None
        fronts: dict[str, HostileServer] = {}
        away: dict[str, HTTPServer] = {}
        for name, app in (("evolution", lab.evolution), ("chatwoot", lab.chatwoot), ("openim", lab.openim)):
            if kind == "redirect-away":
                away[name] = lab.thread.start(HTTPServer(app))
            front = HostileServer(kind, app, tls=tls, away_url=away[name].url if name in away else "",
                                  only_path=only_path)
            lab.thread.call(front.start())
            stack.callback(lab.thread.call, front.close())
            fronts[name] = front
        yield HostileLab(kind, lab, fronts, away)
