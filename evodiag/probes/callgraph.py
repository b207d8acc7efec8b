"""Who calls whom with which URL, and which edges cannot work from where the caller runs.

Why a graph: most "Chatwoot does not answer" reports are one edge whose URL only works from another vantage
point (https://github.com/evolution-foundation/evolution-api/issues/1133): Evolution reaching Chatwoot by its
compose service name while Chatwoot calls Evolution back through a public domain that does not hairpin, or a
server told to call ``localhost``, which inside a container is the container itself. Judging each edge alone
misses the first case, so the Evolution ↔ Chatwoot pair is also judged together.

Decisions: evodiag runs on the host, so its own edges (evodiag → X) never fail here, whatever they resolve to;
server-side edges fail on loopback/0.0.0.0, on a public-looking name that resolves to a private address, on
names that do not resolve (a DNS timeout only warns), and the pair fails when one direction is internal and
the other public. Classification is :mod:`evodiag.netinfo` (``ipaddress``-based), never hand-written ranges.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from evodiag.netinfo import DnsResolver, HostInfo, HostKind, classify_host, mask_url
from evodiag.probes.findings import Finding

EVODIAG, EVOLUTION, CHATWOOT = "evodiag", "Evolution API", "Chatwoot"

# Suffixes of names that are private by convention (RFC 6762 .local, RFC 8375 .home.arpa, ICANN .internal, ...):
# such a name resolving to a private address is expected, not split-horizon DNS.
INTERNAL_SUFFIXES = (".internal", ".local", ".lan", ".home.arpa", ".localdomain", ".intranet", ".corp", ".home",
                     ".private", ".docker")
_LOCAL = frozenset({HostKind.LOCALHOST, HostKind.LOOPBACK, HostKind.UNSPECIFIED})
_INTERNAL = frozenset({HostKind.INTERNAL_NAME, HostKind.PRIVATE, HostKind.LINK_LOCAL})
_UNRESOLVED = frozenset({HostKind.NXDOMAIN, HostKind.NO_ANSWER, HostKind.DNS_ERROR, HostKind.INVALID})


@dataclass(frozen=True)
class Edge:
    """One call: ``caller`` uses ``url`` to reach ``callee``; ``source`` says where evodiag read the URL."""

    caller: str
    callee: str
    url: str
    source: str

    @property
    def name(self) -> str:
        return f"{self.caller} → {self.callee}"

    @property
    def server_side(self) -> bool:
        return self.caller != EVODIAG

    @property
    def host(self) -> str:
        try:
            return (urlsplit(self.url.strip()).hostname or "").lower()
        except ValueError:
            return ""


def style(info: HostInfo) -> str:
    """How a URL reaches its target: ``local``, ``internal`` (compose name, private network), ``public``, or
    ``unresolved``."""
    if info.kind in _LOCAL:
        return "local"
    if info.kind in _INTERNAL:
        return "internal"
    if info.kind is HostKind.PUBLIC:
        return "public"
    return "unresolved"


def looks_public(host: str) -> bool:
    """A dotted name not under a private-by-convention suffix."""
    return "." in host and not host.endswith(INTERNAL_SUFFIXES)


async def classify_all(edges: list[Edge], resolver: DnsResolver, internal_names: set[str]) -> dict[str, HostInfo]:
    hosts = sorted({e.host for e in edges if e.host})
    infos = await asyncio.gather(*(classify_host(h, resolver, internal_names=internal_names) for h in hosts))
    return dict(zip(hosts, infos, strict=True))


def _addresses(info: HostInfo) -> str:
    return ", ".join(a.address for a in info.addresses) or "no address"


def _values(edge: Edge, info: HostInfo, resolver: str) -> dict[str, str]:
    return {"edge": edge.name, "url": mask_url(edge.url), "host": edge.host, "kind": info.kind.value,
            "source": edge.source, "caller": edge.caller, "callee": edge.callee, "addresses": _addresses(info),
            "resolver": resolver}


def container_evidence(compose_files: list[str], edges: list[Edge], hosts: dict[str, HostInfo]) -> str:
    """What shows that the servers run in containers ("" when nothing does): a compose file, or a URL that
    calls a service by its compose-style name (http://chatwoot:3000). evodiag itself reaching Evolution on
    loopback fits a same-host install without containers as well."""
    if compose_files:
        return f"the compose file {compose_files[0]}"
    for edge in edges:
        info = hosts.get(edge.host)
        if edge.server_side and info is not None and info.kind is HostKind.INTERNAL_NAME:
            return f"the service-name URL {mask_url(edge.url)}"
    return ""


def judge_edge(edge: Edge, info: HostInfo, resolver: str, containers: str = "") -> tuple[list[Finding], list[str]]:
    """Findings for a server-side edge; notes for evodiag's own edges. A server told to call loopback fails
    only when ``containers`` names what shows a container; otherwise it may be a same-host install: warn."""
    values = {**_values(edge, info, resolver), "containers": containers}
    line = f"{edge.source}: {edge.name} {values['url']} → {edge.host} is {info.kind.value}"
    if not edge.server_side:
        if info.kind is HostKind.INTERNAL_NAME or info.kind in _UNRESOLVED or info.kind is HostKind.TIMEOUT:
            return [], [f"{edge.name}: evodiag cannot resolve {edge.host} from here ({info.kind.value}); run evodiag "
                        "where that name resolves, or use the published URL"]
        return [], []
    if info.kind in _LOCAL:
        return [Finding("server_loopback" if containers else "server_loopback_host", values, [line])], []
    if info.kind is HostKind.TIMEOUT:
        return [Finding("dns_timeout", values, [line])], []
    if info.kind in _UNRESOLVED:
        return [Finding("unresolvable", values, [line])], []
    if info.kind in (HostKind.PRIVATE, HostKind.LINK_LOCAL) and not info.ip_literal and looks_public(edge.host):
        return [Finding("public_private", values, [f"{line} ({values['addresses']} via {resolver})"])], []
    return [], []


def _describe(access: str, info: HostInfo) -> str:
    return access if access == info.kind.value else f"{access}: {info.kind.value}"


def judge_pair(forward: list[Edge], back: list[Edge], hosts: dict[str, HostInfo],
               evolution_internal: str) -> list[Finding]:
    """Evolution → Chatwoot against Chatwoot → Evolution: both internal or both public."""
    findings: list[Finding] = []
    for a in forward:
        for b in back:
            ia, ib = hosts.get(a.host), hosts.get(b.host)
            if ia is None or ib is None:
                continue
            sa, sb = style(ia), style(ib)
            if {sa, sb} != {"internal", "public"}:
                continue
            values = {"edge_a": a.name, "url_a": mask_url(a.url), "style_a": _describe(sa, ia), "source_a": a.source,
                      "edge_b": b.name, "url_b": mask_url(b.url), "style_b": _describe(sb, ib), "source_b": b.source,
                      "evolution_internal": evolution_internal}
            name = "mixed_back_public" if sb == "public" else "mixed_back_internal"
            findings.append(Finding(name, values, [f"{a.source}: {a.name} {values['url_a']} ({values['style_a']})",
                                                   f"{b.source}: {b.name} {values['url_b']} ({values['style_b']})"]))
    return findings


def edge_details(edges: list[Edge], hosts: dict[str, HostInfo]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for e in edges:
        info = hosts.get(e.host)
        out.append({"caller": e.caller, "callee": e.callee, "url": mask_url(e.url), "source": e.source,
                    "host": e.host, "kind": info.kind.value if info else "invalid",
                    "style": style(info) if info else "unresolved", "server_side": e.server_side})
    return out
