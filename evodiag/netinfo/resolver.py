"""Name resolution through dnspython, with every answer recorded.

Why dnspython instead of ``socket.getaddrinfo``: evodiag must tell NXDOMAIN from "the name exists but has no
address" from a timeout (each has a different fix), must honour ``--dns-server HOST[:PORT]`` (to resolve the
way a container or a public client would), and must record the answers for a support bundle. getaddrinfo
collapses all failures into one error and always uses the system configuration.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import asdict, dataclass, field
from enum import Enum

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver


class DnsStatus(str, Enum):
    OK = "ok"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NO_ANSWER = "no-answer"  # the name exists (NOERROR) but has no record of this type
    TIMEOUT = "timeout"
    ERROR = "error"  # SERVFAIL, REFUSED, malformed reply, ...


@dataclass(frozen=True)
class DnsAnswer:
    """The outcome of one query (one name, one record type), as kept for the support bundle."""

    name: str
    rdtype: str
    status: DnsStatus
    addresses: tuple[str, ...] = ()
    ttl: int | None = None
    nameserver: str = ""
    elapsed_ms: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["status"] = self.status.value
        d["addresses"] = list(self.addresses)
        return d


@dataclass(frozen=True)
class Resolution:
    """A and AAAA answers for one name."""

    name: str
    answers: tuple[DnsAnswer, ...] = field(default_factory=tuple)

    @property
    def addresses(self) -> tuple[str, ...]:
        """All addresses, A before AAAA, without duplicates."""
        seen: dict[str, None] = {}
        for a in self.answers:
            for addr in a.addresses:
                seen.setdefault(addr, None)
        return tuple(seen)

    @property
    def status(self) -> DnsStatus:
        """OK if any address came back; otherwise NXDOMAIN > TIMEOUT > ERROR > NO_ANSWER."""
        statuses = {a.status for a in self.answers}
        for s in (DnsStatus.OK, DnsStatus.NXDOMAIN, DnsStatus.TIMEOUT, DnsStatus.ERROR):
            if s in statuses:
                return s
        return DnsStatus.NO_ANSWER


def parse_nameserver(spec: str) -> tuple[str, int]:
    """``"127.0.0.1:5353"`` / ``"[::1]:5353"`` / ``"::1"`` / ``"10.0.0.2"`` → (ip, port).

    Only IP addresses are accepted: resolving the DNS server's own name would need another resolver.
    """
    text = spec.strip()
    host, port = text, 53
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"DNS server {spec!r}: missing ']'")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"DNS server {spec!r}: expected ':PORT' after ']'")
            port = _port(rest[1:], spec)
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = _port(p, spec)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"DNS server {spec!r}: must be an IP address, optionally with :PORT") from None
    return host, port


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"DNS server {spec!r}: invalid port {text!r}")
    return int(text)


class DnsResolver:
    """An async resolver for A and AAAA, optionally pinned to one nameserver, that logs every answer.

    ``DnsResolver()`` uses the system configuration (``/etc/resolv.conf``); tests must always pass the
    loopback lab server, e.g. ``DnsResolver("127.0.0.1:40053", timeout=0.5)``.
    """

    def __init__(self, nameserver: str | None = None, *, timeout: float = 3.0) -> None:
        self.timeout = timeout
        self.log: list[DnsAnswer] = []
        if nameserver:
            ip, port = parse_nameserver(nameserver)
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port)]
            self.nameserver = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
        else:
            self._resolver = dns.asyncresolver.Resolver()
            self.nameserver = "system"
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self._resolver.cache = None

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """One query; never raises for DNS failures (they become the answer's ``status``)."""
        start = time.monotonic()
        status, addresses, ttl, error = DnsStatus.OK, (), None, None
        try:
            answer = await self._resolver.resolve(
                name,
                dns.rdatatype.from_text(rdtype),
                search=False,
                raise_on_no_answer=False,
                lifetime=self.timeout,
            )
            if answer.rrset is None:
                status = DnsStatus.NO_ANSWER
            else:
                addresses = tuple(r.to_text() for r in answer.rrset)
                ttl = answer.rrset.ttl
        except dns.resolver.NXDOMAIN:
            status = DnsStatus.NXDOMAIN
        except dns.exception.Timeout as exc:
            status, error = DnsStatus.TIMEOUT, str(exc)
        except dns.resolver.NoAnswer:
            status = DnsStatus.NO_ANSWER
        except dns.exception.DNSException as exc:
            status, error = DnsStatus.ERROR, f"{type(exc).__name__}: {exc}"
        result = DnsAnswer(
            name, rdtype, status, addresses, ttl, self.nameserver, round((time.monotonic() - start) * 1000, 1), error
        )
        self.log.append(result)
        return result

    async def resolve(self, name: str) -> Resolution:
        """A and AAAA, queried concurrently."""
        a, aaaa = await asyncio.gather(self.query(name, "A"), self.query(name, "AAAA"))
        return Resolution(name, (a, aaaa))

    def records(self) -> list[dict[str, object]]:
        """Every answer so far, JSON-ready, for the support bundle."""
        return [a.to_dict() for a in self.log]
