"""What kind of host a URL points at, and therefore who can reach it.

Why it matters: Evolution API builds the Chatwoot webhook URL from ``SERVER_URL``
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L119-L123),
and Evolution downloads Chatwoot attachments from ``FRONTEND_URL`` (Chatwoot's default is
``http://0.0.0.0:3000``). A loopback, ``0.0.0.0``, private or compose-only name there works from one vantage
point and fails from another (https://github.com/evolution-foundation/evolution-api/issues/1308,
https://github.com/chatwoot/chatwoot/issues/11474). Classification uses
the standard library :mod:`ipaddress` properties, never hand-written private ranges.

Decisions a check author must know:

* The documentation ranges (TEST-NET-1/2/3 ``192.0.2.0/24``, ``198.51.100.0/24``, ``203.0.113.0/24`` and
  ``2001:db8::/32``) are classified **public** (with ``documentation=True``), although :mod:`ipaddress` calls
  them private: tests and the lab use them to stand for public addresses.
* ``localhost`` and ``*.localhost`` (RFC 6761) are ``localhost`` without any DNS query.
* A single-label name (``evolution_api``, ``chatwoot``) is ``internal-name`` whatever it resolves to: it only
  resolves through Docker's embedded DNS inside a compose network. Resolved addresses are still recorded.
* For a resolved name the headline kind is the most restrictive of its addresses (loopback > unspecified >
  link-local > private > reserved > public); per-address kinds are in ``addresses``.
* Unresolvable names get distinct kinds: ``nxdomain``, ``no-answer`` (NOERROR, no A/AAAA), ``timeout``,
  ``dns-error``.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from enum import Enum

import dns.exception
import dns.name

from evodiag.netinfo.resolver import DnsResolver, DnsStatus, Resolution

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 5737 / RFC 3849 documentation ranges, treated as public-like (see the module docstring).
DOCUMENTATION_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("192.0.2.0/24"),
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("203.0.113.0/24"),
    ipaddress.ip_network("2001:db8::/32"),
)
# Docker's default bridge pools; a note only (172.16.0.0/12 is already "private").
DOCKER_BRIDGE_NOTE = "Docker bridge networks usually live in 172.17.0.0/16–172.31.0.0/16"
_DOCKER_POOL = ipaddress.ip_network("172.16.0.0/12")


class HostKind(str, Enum):
    LOCALHOST = "localhost"  # the name localhost / *.localhost
    LOOPBACK = "loopback"  # 127.0.0.0/8, ::1
    UNSPECIFIED = "unspecified"  # 0.0.0.0, :: — a bind address, never a destination
    LINK_LOCAL = "link-local"  # 169.254.0.0/16, fe80::/10
    PRIVATE = "private"  # RFC 1918, ULA, CGNAT and other non-global unicast
    RESERVED = "reserved"  # multicast, 240.0.0.0/4, broadcast
    PUBLIC = "public"  # globally routable (and the documentation ranges, see above)
    INTERNAL_NAME = "internal-name"  # single-label name: compose service / container name
    NXDOMAIN = "nxdomain"
    NO_ANSWER = "no-answer"
    TIMEOUT = "timeout"
    DNS_ERROR = "dns-error"
    INVALID = "invalid"  # empty or not a valid host name


# Most restrictive first: the headline kind of a multi-address name.
_RESTRICTIVENESS = (
    HostKind.LOOPBACK,
    HostKind.UNSPECIFIED,
    HostKind.LINK_LOCAL,
    HostKind.PRIVATE,
    HostKind.RESERVED,
    HostKind.PUBLIC,
)
_DNS_KINDS = {
    DnsStatus.NXDOMAIN: HostKind.NXDOMAIN,
    DnsStatus.NO_ANSWER: HostKind.NO_ANSWER,
    DnsStatus.TIMEOUT: HostKind.TIMEOUT,
    DnsStatus.ERROR: HostKind.DNS_ERROR,
}


@dataclass(frozen=True)
class AddressInfo:
    address: str
    version: int
    kind: HostKind
    documentation: bool = False
    docker_bridge_likely: bool = False


@dataclass(frozen=True)
class HostInfo:
    """Classification of one host. ``resolution`` is ``None`` when no DNS query was made."""

    host: str
    kind: HostKind
    ip_literal: bool = False
    single_label: bool = False
    addresses: tuple[AddressInfo, ...] = ()
    resolution: Resolution | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def resolved(self) -> bool:
        return bool(self.addresses)

    @property
    def is_local(self) -> bool:
        """Only this machine (or container) can use it: localhost, loopback, 0.0.0.0."""
        return self.kind in (HostKind.LOCALHOST, HostKind.LOOPBACK, HostKind.UNSPECIFIED)

    @property
    def is_public(self) -> bool:
        return self.kind is HostKind.PUBLIC

    @property
    def unresolvable(self) -> bool:
        return self.kind in (HostKind.NXDOMAIN, HostKind.NO_ANSWER, HostKind.TIMEOUT, HostKind.DNS_ERROR)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for reports and the support bundle."""
        return {
            "host": self.host,
            "kind": self.kind.value,
            "ip_literal": self.ip_literal,
            "single_label": self.single_label,
            "addresses": [{"address": a.address, "kind": a.kind.value} for a in self.addresses],
            "dns": [answer.to_dict() for answer in self.resolution.answers] if self.resolution else [],
            "notes": list(self.notes),
        }


def classify_address(ip: IPAddress | str) -> AddressInfo:
    """Classify one IP address with :mod:`ipaddress` (IPv4-mapped IPv6 is classified as its IPv4)."""
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    base: IPAddress = addr
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        base = addr.ipv4_mapped
    doc = any(base in net for net in DOCUMENTATION_NETWORKS if net.version == base.version)
    if base.is_unspecified:
        kind = HostKind.UNSPECIFIED
    elif base.is_loopback:
        kind = HostKind.LOOPBACK
    elif base.is_link_local:
        kind = HostKind.LINK_LOCAL
    elif base.is_multicast or base.is_reserved:
        kind = HostKind.RESERVED
    elif doc or base.is_global:
        kind = HostKind.PUBLIC
    else:
        # is_private (RFC 1918, ULA, benchmarking...) or neither private nor global (CGNAT 100.64.0.0/10).
        kind = HostKind.PRIVATE
    docker = isinstance(base, ipaddress.IPv4Address) and base in _DOCKER_POOL
    return AddressInfo(str(addr), addr.version, kind, doc, docker)


def _normalise(host: str) -> str:
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    return h.rstrip(".").lower() if h not in (".",) else h


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _address_notes(infos: tuple[AddressInfo, ...], name_looks_public: bool) -> list[str]:
    notes: list[str] = []
    kinds = {i.kind for i in infos}
    if any(i.docker_bridge_likely for i in infos):
        notes.append(DOCKER_BRIDGE_NOTE)
    if any(i.documentation for i in infos):
        notes.append("documentation range (TEST-NET / 2001:db8::/32), treated as public")
    if kinds & {HostKind.UNSPECIFIED}:
        notes.append("0.0.0.0 / :: is a listen address, not a destination other hosts can use")
    if name_looks_public and kinds - {HostKind.PUBLIC}:
        notes.append("the name looks public but resolves to a non-public address: reachable only from inside")
    if len(kinds) > 1:
        notes.append("answers mix kinds: " + ", ".join(sorted(k.value for k in kinds)))
    return notes


async def classify_host(
    host: str,
    resolver: DnsResolver,
    *,
    internal_names: frozenset[str] | set[str] = frozenset(),
) -> HostInfo:
    """Classify ``host`` (a name or IP literal, brackets allowed), resolving names through ``resolver``.

    ``internal_names`` (e.g. ``ComposeFile.internal_hostnames()``) marks dotted names that are compose
    container names / aliases as ``internal-name`` too.
    """
    h = _normalise(host)
    if not h:
        return HostInfo(host, HostKind.INVALID, notes=("empty host",))
    ip = _literal(h.split("%", 1)[0]) if "%" in h else _literal(h)
    if ip is not None:
        info = classify_address(ip)
        return HostInfo(
            host, info.kind, ip_literal=True, addresses=(info,), notes=tuple(_address_notes((info,), False))
        )
    if h == "localhost" or h.endswith(".localhost"):
        return HostInfo(host, HostKind.LOCALHOST, notes=("localhost means the machine or container itself",))
    try:
        dns.name.from_text(h)
    except dns.exception.DNSException as exc:
        return HostInfo(host, HostKind.INVALID, notes=(f"not a valid host name: {exc}",))
    if any(c.isspace() or c in "/\\@:?#" for c in h):
        return HostInfo(host, HostKind.INVALID, notes=("not a valid host name",))
    single = "." not in h
    internal = single or h in internal_names
    resolution = await resolver.resolve(h)
    infos = tuple(classify_address(a) for a in resolution.addresses)
    notes: list[str] = []
    if internal:
        notes.append("only resolves inside a Docker compose network (service or container name)")
    if infos:
        notes.extend(_address_notes(infos, name_looks_public=not internal))
        headline = next(k for k in _RESTRICTIVENESS if any(i.kind is k for i in infos))
        kind = HostKind.INTERNAL_NAME if internal else headline
    else:
        kind = HostKind.INTERNAL_NAME if internal else _DNS_KINDS[resolution.status]
        notes.append(f"not resolvable via {resolver.nameserver} ({resolution.status.value})")
    return HostInfo(host, kind, single_label=single, addresses=infos, resolution=resolution, notes=tuple(notes))


def classify_host_sync(host: str, resolver: DnsResolver, **kwargs: frozenset[str] | set[str]) -> HostInfo:
    """:func:`classify_host` for callers without an event loop."""
    return asyncio.run(classify_host(host, resolver, **kwargs))
