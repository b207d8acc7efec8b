"""The one HTTP client every check uses.

- Each failure becomes its own exception class (DNS, refused, TLS, timeout, protocol, oversized body).
- Response bodies are read with a size cap.
- A credential is only sent to the origin of the target it belongs to; redirects are followed by hand and
  lose every credential header when they leave that origin.
- Identical GETs in one run share one request (single flight), so five checks reading ``chatwoot/find``
  cost one round trip.
- With ``--dns-server`` names are resolved through that server (dnspython) and the connection goes to the
  resolved address with the original Host header and TLS server name.
- Every exchange is recorded (for ``--verbose`` and bundles); outputs redact it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import re
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from evodiag import errors

if TYPE_CHECKING:
    pass

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 100  # Python's json recurses per level: a 100k-deep array would raise RecursionError
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
MAX_REDIRECTS = 5


@dataclass
class Exchange:
    method: str
    url: str
    status: int | None
    request_headers: dict[str, str]
    response_headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None
    check_id: str | None = None
    request_body: Any = None
    started_at: float = 0.0

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        import json

        depth = json_depth(self.body)
        if depth > MAX_JSON_DEPTH:
            raise errors.WrongShape(f"{self.method} {self.url} answered JSON nested {depth} levels deep (a reply "
                                    f"evodiag reads is a few levels deep; refused past {MAX_JSON_DEPTH})")
        try:
            return json.loads(self.body.decode("utf-8")) if self.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            ctype = self.response_headers.get("content-type", "?")
            hint = " (an HTML page: a proxy or login portal answered)" if "<html" in self.text[:500].lower() else ""
            raise errors.NonJSONReply(
                f"{self.method} {self.url} answered HTTP {self.status} with non-JSON ({ctype}){hint}"
            ) from None

    def json_or_none(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON (a proxy page): for bodies a probe inspects but
        does not require."""
        try:
            return self.json()
        except errors.NonJSONReply:
            return None

    def summary(self) -> str:
        if self.error:
            return f"{self.method} {self.url} -> {self.error} ({self.elapsed_ms:.0f} ms)"
        return f"{self.method} {self.url} -> {self.status} ({len(self.body)} B, {self.elapsed_ms:.0f} ms)"


def json_depth(body: bytes) -> int:
    """How deeply ``body``'s arrays and objects nest (brackets inside strings do not count), at C speed: a body
    with few brackets is answered without looking further."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


# Low-level failures whose own message is empty or jargon, in words. The most specific cause wins.
_PLAIN_CAUSES = {
    "ConnectionResetError": "the server reset the connection",
    "BrokenPipeError": "the server closed the connection while the request was being sent",
    "SSLEOFError": "the server closed the connection during the TLS handshake",
    "SSLZeroReturnError": "the server closed the TLS connection",
}
# Wrappers with no message of their own.
_PLAIN_WRAPPERS = {
    "ReadError": "the connection broke while reading the reply",
    "WriteError": "the connection broke while sending the request",
    "RemoteProtocolError": "the server closed the connection without a complete HTTP reply",
    "LocalProtocolError": "the request could not be sent as valid HTTP",
    "ConnectError": "the connection could not be opened",
    "SSLError": "the TLS handshake did not complete",
    "CloseError": "the connection could not be closed cleanly",
}


def _reason(chain: list[BaseException]) -> str:
    """What went wrong, in words: a known low-level cause, else the first non-empty message along the chain,
    else what the wrapper's type means. Never empty."""
    for exc in chain:
        if type(exc).__name__ in _PLAIN_CAUSES:
            return _PLAIN_CAUSES[type(exc).__name__]
    for exc in chain:
        text = " ".join(str(exc).split())
        if text:
            return text
    for exc in chain:
        if type(exc).__name__ in _PLAIN_WRAPPERS:
            return _PLAIN_WRAPPERS[type(exc).__name__]
    return f"{type(chain[0]).__name__} without a message"


def _classify(exc: Exception, url: str, timeout: float) -> errors.TargetError:
    import httpx

    host = urlsplit(url).hostname or url
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    if isinstance(exc, httpx.TimeoutException):
        phase = "connecting to" if isinstance(exc, httpx.ConnectTimeout) else "waiting for"
        return errors.RequestTimeout(f"timed out after {timeout:g} s {phase} {host} ({url})")
    if any(isinstance(e, socket.gaierror) for e in chain) or "Name or service not known" in str(exc):
        return errors.DNSFailure(f"cannot resolve host {host!r}: DNS lookup failed")
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        detail = next(str(e.verify_message) for e in chain if isinstance(e, ssl.SSLCertVerificationError))
        return errors.TLSFailure(f"TLS certificate of {host} not trusted: {detail} (--insecure to skip)")
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return errors.TLSFailure(f"TLS handshake with {host} failed: {_reason(chain)} (is it really https?)")
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in str(exc):
        return errors.ConnectRefused(f"connection refused by {host} ({url}): nothing listens there")
    if isinstance(exc, httpx.ConnectError):
        return errors.ConnectRefused(f"cannot connect to {host} ({url}): {_reason(chain)}")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError)):
        return errors.ProtocolFailure(f"{host} broke the HTTP protocol: {_reason(chain)}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return errors.ProtocolFailure(f"unsupported URL scheme in {url} (use http:// or https://)")
    if isinstance(exc, httpx.InvalidURL):
        return errors.ProtocolFailure(f"invalid URL {url}: {_reason(chain)}")
    port = urlsplit(url).port
    where = f"{host}:{port}" if port else host
    return errors.ProtocolFailure(f"talking to {where} ({url}): {_reason(chain)}")


def _redirect_loop(method: str, hops: list[str]) -> errors.RedirectLoop:
    looped = hops[-1] in hops[:-1]
    path = " -> ".join(hops[-4:]) if len(hops) <= 4 else hops[0] + " -> … -> " + " -> ".join(hops[-3:])
    what = "a redirect loop" if looped else f"more than {MAX_REDIRECTS} redirects"
    return errors.RedirectLoop(f"{method} {hops[0]}: the server answers with {what}: {path}")


class DnsOverride:
    """Resolve names through a chosen DNS server (``--dns-server HOST[:PORT]``)."""

    def __init__(self, server: str, timeout: float) -> None:
        import dns.asyncresolver

        host, _, port = server.partition(":") if server.count(":") == 1 else (server, "", "")
        self.resolver = dns.asyncresolver.Resolver(configure=False)
        self.resolver.nameservers = [host]
        self.resolver.port = int(port or 53)
        self.resolver.lifetime = timeout
        self._cache: dict[str, str] = {}

    async def resolve(self, host: str) -> str:
        import dns.exception
        import dns.resolver

        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(host))
        if host == "localhost":
            return "127.0.0.1"
        if host in self._cache:
            return self._cache[host]
        try:
            answer = await self.resolver.resolve(host, "A")
        except dns.resolver.NXDOMAIN:
            raise errors.DNSFailure(f"cannot resolve host {host!r}: NXDOMAIN") from None
        except dns.resolver.NoAnswer:
            raise errors.DNSFailure(f"cannot resolve host {host!r}: no A record") from None
        except dns.exception.Timeout:
            raise errors.DNSFailure(f"cannot resolve host {host!r}: DNS server timed out") from None
        except dns.exception.DNSException as exc:
            raise errors.DNSFailure(f"cannot resolve host {host!r}: {exc}") from None
        address = str(answer[0])
        self._cache[host] = address
        return address


class HttpClient:
    def __init__(self, *, timeout: float = 10.0, verify: bool = True, credential_origins: Mapping[str, str]
                 | None = None, dns_server: str | None = None, max_body: int = MAX_BODY_BYTES) -> None:
        import httpx

        self.timeout = timeout
        self.max_body = max_body
        # secret key -> the origin it may be sent to, e.g. "evolution.api_key" -> "https://evo.example:443"
        self.credential_origins = dict(credential_origins or {})
        self.dns = DnsOverride(dns_server, timeout) if dns_server else None
        self.transcript: list[Exchange] = []
        self._inflight: dict[tuple[Any, ...], asyncio.Future[Exchange]] = {}
        self._client = httpx.AsyncClient(verify=verify, follow_redirects=False, timeout=timeout,
                                         limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                                         headers={"User-Agent": "evodiag"})

    async def aclose(self) -> None:
        await self._client.aclose()

    def _check_credentials(self, url: str, credentials: Mapping[str, str]) -> None:
        for header, secret_key in credentials.items():
            allowed = self.credential_origins.get(secret_key)
            if allowed is None or origin(url) != allowed:
                raise errors.CredentialOriginError(
                    f"refusing to send {secret_key} (header {header}) to {origin(url)}: it belongs to "
                    f"{allowed or 'no configured target'}"
                )

    async def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                      json: Any = None, has_json: bool = False, timeout: float | None = None,
                      credentials: Mapping[str, str] | None = None, check_id: str | None = None,
                      fresh: bool = False) -> Exchange:
        """Send one request. ``credentials`` maps header name -> secret key, for the origin check.
        Identical GETs share one response for the whole run unless ``fresh``."""
        headers = dict(headers or {})
        credentials = dict(credentials or {})
        self._check_credentials(url, credentials)
        if method == "GET" and not has_json and not fresh:
            key = (url, tuple(sorted(headers.items())), timeout)
            shared = self._inflight.get(key)
            if shared is not None:
                return await asyncio.shield(shared)
            future: asyncio.Future[Exchange] = asyncio.get_running_loop().create_future()
            self._inflight[key] = future
            try:
                exchange = await self._send(method, url, headers, json, has_json, timeout, credentials, check_id)
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # mark retrieved: other waiters re-raise it themselves
                raise
            future.set_result(exchange)
            return exchange
        return await self._send(method, url, headers, json, has_json, timeout, credentials, check_id)

    async def _send(self, method: str, url: str, headers: dict[str, str], json: Any, has_json: bool,
                    timeout: float | None, credentials: dict[str, str], check_id: str | None) -> Exchange:
        limit = timeout or self.timeout
        started = time.perf_counter()
        exchange = Exchange(method, url, None, dict(headers), check_id=check_id,
                            request_body=json if has_json else None, started_at=time.time())
        self.transcript.append(exchange)
        try:
            current_url, current_headers = url, headers
            visited = [url]
            for _ in range(MAX_REDIRECTS + 1):
                status, resp_headers, body = await asyncio.wait_for(
                    self._once(method, current_url, current_headers, json, has_json, limit), limit + 1)
                location = resp_headers.get("location")
                if status in (301, 302, 303, 307, 308) and location and method in ("GET", "HEAD"):
                    next_url = urljoin(current_url, location)
                    if next_url in visited or len(visited) > MAX_REDIRECTS:
                        raise _redirect_loop(method, [*visited, next_url])
                    visited.append(next_url)
                    if origin(next_url) != origin(current_url):
                        current_headers = {k: v for k, v in current_headers.items() if k not in credentials}
                    current_url = next_url
                    continue
                break
            exchange.status, exchange.response_headers, exchange.body = status, resp_headers, body
            if current_url != url:
                exchange.response_headers["x-evodiag-final-url"] = current_url
            return exchange
        except errors.TargetError as exc:
            exchange.error = str(exc)
            raise
        except asyncio.TimeoutError:
            exc2 = errors.RequestTimeout(f"timed out after {limit:g} s waiting for {urlsplit(url).hostname} ({url})")
            exchange.error = str(exc2)
            raise exc2 from None
        except Exception as exc:
            target_error = _classify(exc, url, limit)
            exchange.error = str(target_error)
            raise target_error from None
        finally:
            exchange.elapsed_ms = (time.perf_counter() - started) * 1000

    async def _once(self, method: str, url: str, headers: dict[str, str], json: Any, has_json: bool,
                    timeout: float) -> tuple[int, dict[str, str], bytes]:
        extensions: dict[str, Any] = {}
        send_url = url
        if self.dns is not None:
            parts = urlsplit(url)
            host = parts.hostname or ""
            address = await self.dns.resolve(host)
            if address != host:
                netloc = address + (f":{parts.port}" if parts.port else "")
                send_url = urlunsplit(parts._replace(netloc=netloc))
                headers = {**headers, "Host": parts.netloc.rsplit("@", 1)[-1]}
                if parts.scheme == "https":
                    extensions["sni_hostname"] = host
        kwargs: dict[str, Any] = {"headers": headers, "timeout": timeout, "extensions": extensions}
        if has_json:
            kwargs["json"] = json
        request = self._client.build_request(method, send_url, **kwargs)
        response = await self._client.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > self.max_body:
                    raise errors.BodyTooLarge(
                        f"{method} {url} sent more than {self.max_body // 1024} KiB; stopped reading"
                    )
                chunks.append(chunk)
        finally:
            await response.aclose()
        body = b"".join(chunks)
        encoding = response.headers.get("content-encoding", "")
        if encoding in ("gzip", "deflate", "br") and body:
            body = _decode(body, encoding, self.max_body, method, url)
        return response.status_code, {k.lower(): v for k, v in response.headers.items()}, body


def _decode(body: bytes, encoding: str, limit: int, method: str, url: str) -> bytes:
    """Decompress with the same cap, so a small gzip bomb cannot expand past it."""
    import zlib

    if encoding == "br":
        return body
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    out = decoder.decompress(body, limit + 1)
    if len(out) > limit:
        raise errors.BodyTooLarge(f"{method} {url} decompressed past {limit // 1024} KiB; stopped reading")
    return out
