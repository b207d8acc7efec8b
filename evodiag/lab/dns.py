"""A tiny authoritative DNS server on 127.0.0.1 for tests and the lab.

Why a real server instead of mocking dnspython: evodiag's host classification must be proven through the same
code path it uses in production (``dns.asyncresolver`` over UDP/TCP), including NXDOMAIN, empty answers,
SERVFAIL and timeouts. The server only ever binds a loopback address, so no test sends DNS traffic elsewhere.

Zones are a dict from name to addresses or to a spec::

    {"evo.example.com": ["203.0.113.10", "2001:db8::10"],       # A and AAAA, split by IP version
     "chatwoot.internal.example": ["10.0.0.5"],
     "noaddr.example.com": [],                                  # exists, no A/AAAA → NOERROR, empty
     "slow.example.com": {"delay": 2.0, "a": ["203.0.113.11"]},  # answers after 2 s (timeout tests)
     "broken.example.com": {"rcode": "SERVFAIL"}}

Any name not in the dict is NXDOMAIN. Names are case-insensitive and may carry a trailing dot.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

ZoneSpec = Sequence[str] | str | Mapping[str, Any]


@dataclass
class ZoneEntry:
    """What the server answers for one name."""

    a: list[str] = field(default_factory=list)
    aaaa: list[str] = field(default_factory=list)
    delay: float = 0.0
    ttl: int = 60
    rcode: str | None = None  # e.g. "SERVFAIL", "REFUSED": answer with this rcode and no records

    @classmethod
    def from_spec(cls, spec: ZoneSpec) -> ZoneEntry:
        if isinstance(spec, str):
            spec = [spec]
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"a", "aaaa", "addresses", "delay", "ttl", "rcode"}
            if unknown:
                raise ValueError(f"unknown zone keys: {sorted(unknown)}")
            entry = cls(delay=float(spec.get("delay", 0.0)), ttl=int(spec.get("ttl", 60)), rcode=spec.get("rcode"))
            entry._add(spec.get("addresses", []))
            entry._add(spec.get("a", []), version=4)
            entry._add(spec.get("aaaa", []), version=6)
            if entry.rcode is not None:
                dns.rcode.from_text(entry.rcode)  # validate early
            return entry
        entry = cls()
        entry._add(spec)
        return entry

    def _add(self, addresses: Sequence[str], version: int | None = None) -> None:
        for text in addresses:
            ip = ipaddress.ip_address(text)
            if version is not None and ip.version != version:
                raise ValueError(f"{text} is not an IPv{version} address")
            (self.a if ip.version == 4 else self.aaaa).append(str(ip))


@dataclass(frozen=True)
class DnsQuery:
    """One query the server received (the lab's equivalent of the HTTP request log)."""

    name: str
    rdtype: str
    transport: str
    rcode: str
    peer: str
    received_at: float


def _key(name: str) -> str:
    return name.strip().rstrip(".").lower()


class DnsServer:
    """Authoritative answers for ``zones`` on ``host:port`` (UDP, plus TCP on the same port).

    Thread mode: ``with DnsServer(zones) as srv: DnsResolver(srv.address)``. Inside a running event loop use
    ``await srv.open()`` / ``await srv.close()`` instead.
    """

    def __init__(
        self, zones: Mapping[str, ZoneSpec] | None = None, *, host: str = "127.0.0.1", port: int = 0, tcp: bool = True
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the lab DNS server only binds loopback addresses, not {host}")
        self.host = host
        self.port = port
        self.tcp = tcp
        self.zones: dict[str, ZoneEntry] = {}
        self.queries: list[DnsQuery] = []
        for name, spec in (zones or {}).items():
            self.set(name, spec)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.AbstractServer | None = None
        self._pending: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- zone edits (lab scenarios)
    def set(self, name: str, spec: ZoneSpec) -> None:
        self.zones[_key(name)] = ZoneEntry.from_spec(spec)

    def remove(self, name: str) -> None:
        self.zones.pop(_key(name), None)

    @property
    def address(self) -> str:
        """``HOST:PORT``, the form ``--dns-server`` and :class:`~evodiag.netinfo.DnsResolver` take."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    # ---------------------------------------------------------------- answering
    def answer(self, wire: bytes, transport: str = "udp", peer: str = "") -> tuple[bytes | None, float]:
        """Reply bytes (``None`` to drop the packet) and the delay before sending them."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None, 0.0
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        delay = 0.0
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire(), 0.0
        question = query.question[0]
        name = _key(question.name.to_text())
        entry = self.zones.get(name)
        if entry is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            delay = entry.delay
            if entry.rcode:
                response.set_rcode(dns.rcode.from_text(entry.rcode))
            else:
                records = {dns.rdatatype.A: entry.a, dns.rdatatype.AAAA: entry.aaaa}.get(question.rdtype, [])
                if records:
                    response.answer.append(
                        dns.rrset.from_text_list(question.name, entry.ttl, dns.rdataclass.IN, question.rdtype, records)
                    )
        with self._lock:
            self.queries.append(
                DnsQuery(
                    name,
                    dns.rdatatype.to_text(question.rdtype),
                    transport,
                    dns.rcode.to_text(response.rcode()),
                    peer,
                    time.time(),
                )
            )
        return response.to_wire(), delay

    # ---------------------------------------------------------------- asyncio plumbing
    async def open(self) -> DnsServer:
        loop = asyncio.get_running_loop()
        self._loop = loop
        last_error: OSError | None = None
        for _ in range(20):  # UDP port 0 may pick a port whose TCP twin is taken: retry
            udp, _proto = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, self.port)
            )
            port = udp.get_extra_info("sockname")[1]
            if not self.tcp:
                self._udp, self.port = udp, port
                return self
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError as exc:
                udp.close()
                last_error = exc
                if self.port:
                    raise
                continue
            self._udp, self.port = udp, port
            return self
        raise last_error or OSError("could not bind the lab DNS server")

    async def close(self) -> None:
        for handle in list(self._pending):
            handle.cancel()
        self._pending.clear()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._tcp.wait_closed()
            self._tcp = None

    def _send_later(self, delay: float, send: Any, *args: Any) -> None:
        assert self._loop is not None
        if delay <= 0:
            send(*args)
            return

        def fire() -> None:
            self._pending.discard(handle)
            with contextlib.suppress(Exception):
                send(*args)

        handle = self._loop.call_later(delay, fire)
        self._pending.add(handle)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = str(writer.get_extra_info("peername"))
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(2), "big")
                reply, delay = self.answer(await reader.readexactly(size), "tcp", peer)
                if reply is None:
                    break
                if delay:
                    await asyncio.sleep(delay)
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    # ---------------------------------------------------------------- thread mode
    def start(self) -> DnsServer:
        """Serve from a background thread with its own event loop; returns once the port is bound."""
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="lab-dns", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.open(), loop).result(timeout=10)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=5)
            loop.close()
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector transport does not subclass DatagramTransport (3.11), hence the cast.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        reply, delay = self.server.answer(data, "udp", f"{addr[0]}:{addr[1]}")
        if reply is not None and self.transport is not None:
            self.server._send_later(delay, self.transport.sendto, reply, addr)
