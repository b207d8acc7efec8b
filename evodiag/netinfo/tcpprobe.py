"""Bounded TCP reachability and a Redis ``PING`` over a raw socket: no login, no write, every step under a timeout.

Why a raw socket and not a Redis client library: one command and one reply line is all evodiag needs, and a
client would log in with whatever credentials the URI carries. ``PING`` without ``AUTH`` still proves a Redis
server listens: it answers ``+PONG``, or ``-NOAUTH Authentication required.`` when it has a password.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass

PING = b"*1\r\n$4\r\nPING\r\n"
MAX_REPLY = 512  # a PING reply is one short line; anything longer is not Redis


@dataclass(frozen=True)
class Probe:
    """What happened: ``ok`` the TCP (and TLS) connection opened; ``reply`` the first line a Redis sent."""

    address: str
    ok: bool
    error_kind: str = ""  # refused | timeout | unreachable | tls | closed
    error: str = ""
    reply: str | None = None
    elapsed_ms: float = 0.0


def _describe(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout", "no answer before the timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused (nothing listens on that port)"
    if isinstance(exc, HandshakeTimeout):
        return "tls", f"TLS handshake failed ({exc.args[0]})"
    if isinstance(exc, ssl.SSLError):
        return "tls", f"TLS handshake failed ({exc.reason or type(exc).__name__})"
    if isinstance(exc, OSError):
        return "unreachable", exc.strerror or type(exc).__name__
    return "closed", type(exc).__name__


class HandshakeTimeout(ssl.SSLError):
    """The TCP connection opened but the TLS handshake never completed: the port likely speaks plain text."""


async def _open(ip: str, port: int, timeout: float, tls: ssl.SSLContext | None,
                server_hostname: str | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.wait_for(
            asyncio.open_connection(ip, port, ssl=tls, server_hostname=server_hostname if tls else None), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        if tls is None:
            raise
        # A plain-text server (Redis, AMQP) waits for a line and never answers a ClientHello: tell that apart
        # from a host that does not answer at all.
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
        await _close(writer)
        raise HandshakeTimeout("no TLS answer; the port likely speaks plain text") from None


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, asyncio.TimeoutError, ssl.SSLError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


async def tcp_connect(ip: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None,
                      server_hostname: str | None = None) -> Probe:
    """Open and close a connection (with a TLS handshake when ``tls`` is given); send nothing."""
    address = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    start = time.monotonic()
    try:
        _, writer = await _open(ip, port, timeout, tls, server_hostname)
    except (OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
        kind, text = _describe(exc)
        return Probe(address, False, kind, text, elapsed_ms=round((time.monotonic() - start) * 1000, 1))
    await _close(writer)
    return Probe(address, True, elapsed_ms=round((time.monotonic() - start) * 1000, 1))


async def redis_ping(ip: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None,
                     server_hostname: str | None = None) -> Probe:
    """Connect, send ``PING`` (RESP), read one reply line. ``reply`` is that line without CRLF."""
    address = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    start = time.monotonic()

    def took() -> float:
        return round((time.monotonic() - start) * 1000, 1)

    try:
        reader, writer = await _open(ip, port, timeout, tls, server_hostname)
    except (OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
        kind, text = _describe(exc)
        return Probe(address, False, kind, text, elapsed_ms=took())
    try:
        writer.write(PING)
        await asyncio.wait_for(writer.drain(), timeout)
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (OSError, asyncio.TimeoutError, ssl.SSLError, ValueError) as exc:
        kind, text = _describe(exc)
        return Probe(address, True, kind, f"no reply to PING: {text}", elapsed_ms=took())
    finally:
        await _close(writer)
    text = line[:MAX_REPLY].decode("utf-8", "replace").rstrip("\r\n")
    if not line:
        return Probe(address, True, "closed", "the server closed the connection without answering PING",
                     elapsed_ms=took())
    return Probe(address, True, reply=text, elapsed_ms=took())
