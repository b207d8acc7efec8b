"""Host classification, resolved through the real loopback DNS server (never the system resolver)."""

from __future__ import annotations

import asyncio

import pytest

from evodiag.lab.dns import DnsServer
from evodiag.netinfo import DOCKER_BRIDGE_NOTE, DnsResolver, DnsStatus, HostKind, classify_host, parse_nameserver


def classify(host: str, resolver: DnsResolver, **kwargs):
    return asyncio.run(classify_host(host, resolver, **kwargs))


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", HostKind.LOOPBACK),
        ("127.8.9.10", HostKind.LOOPBACK),
        ("[::1]", HostKind.LOOPBACK),
        ("0.0.0.0", HostKind.UNSPECIFIED),
        ("::", HostKind.UNSPECIFIED),
        ("10.1.2.3", HostKind.PRIVATE),
        ("192.168.0.10", HostKind.PRIVATE),
        ("172.20.0.3", HostKind.PRIVATE),
        ("fd12:3456::1", HostKind.PRIVATE),  # ULA
        ("100.64.1.1", HostKind.PRIVATE),  # CGNAT: not global
        ("::ffff:10.0.0.1", HostKind.PRIVATE),  # IPv4-mapped
        ("169.254.169.254", HostKind.LINK_LOCAL),
        ("fe80::1", HostKind.LINK_LOCAL),
        ("224.0.0.251", HostKind.RESERVED),
        ("240.0.0.1", HostKind.RESERVED),
        ("8.8.8.8", HostKind.PUBLIC),
        ("203.0.113.7", HostKind.PUBLIC),  # TEST-NET-3 treated as public (documented decision)
        ("2001:db8::1", HostKind.PUBLIC),
        ("localhost", HostKind.LOCALHOST),
        ("LOCALHOST.", HostKind.LOCALHOST),
        ("api.localhost", HostKind.LOCALHOST),
        ("", HostKind.INVALID),
        ("bad host", HostKind.INVALID),
    ],
)
def test_literals_and_special_names_need_no_dns(host: str, kind: HostKind, dns_server: DnsServer) -> None:
    before = len(dns_server.queries)
    resolver = DnsResolver(dns_server.address, timeout=0.3)
    info = classify(host, resolver)
    assert info.kind is kind
    assert len(dns_server.queries) == before and resolver.log == []


def test_literal_flags(resolver: DnsResolver) -> None:
    info = classify("172.17.0.2", resolver)
    assert info.ip_literal and info.addresses[0].docker_bridge_likely
    assert DOCKER_BRIDGE_NOTE in info.notes
    assert classify("203.0.113.7", resolver).addresses[0].documentation
    assert classify("0.0.0.0", resolver).is_local
    assert classify("localhost", resolver).is_local


def test_public_name(resolver: DnsResolver) -> None:
    info = classify("evo.example.com", resolver)
    assert info.kind is HostKind.PUBLIC and info.is_public and not info.ip_literal
    assert [a.address for a in info.addresses] == ["203.0.113.10", "2001:db8::10"]
    assert info.resolution is not None and info.resolution.status is DnsStatus.OK
    data = info.to_dict()
    assert data["kind"] == "public" and [d["status"] for d in data["dns"]] == ["ok", "ok"]


def test_aaaa_only_name(resolver: DnsResolver) -> None:
    info = classify("v6only.example.com", resolver)
    assert info.kind is HostKind.PUBLIC
    assert [(a.address, a.version) for a in info.addresses] == [("2001:db8::77", 6)]


def test_private_address_behind_public_looking_name(resolver: DnsResolver) -> None:
    info = classify("chatwoot.internal.example", resolver)
    assert info.kind is HostKind.PRIVATE
    assert any("looks public" in n for n in info.notes)
    assert classify("looks-public.example.com", resolver).kind is HostKind.PRIVATE
    assert classify("loop.example.com", resolver).kind is HostKind.LOOPBACK
    bridge = classify("bridge.example.com", resolver)
    assert bridge.kind is HostKind.PRIVATE and DOCKER_BRIDGE_NOTE in bridge.notes


def test_mixed_answers_take_the_most_restrictive_kind(resolver: DnsResolver) -> None:
    info = classify("mixed.example.com", resolver)
    assert info.kind is HostKind.PRIVATE
    assert {a.kind for a in info.addresses} == {HostKind.PUBLIC, HostKind.PRIVATE}
    assert any(n.startswith("answers mix kinds") for n in info.notes)


def test_nxdomain(resolver: DnsResolver) -> None:
    info = classify("nope.example.com", resolver)
    assert info.kind is HostKind.NXDOMAIN and info.unresolvable and not info.resolved


def test_no_answer(resolver: DnsResolver) -> None:
    assert classify("noaddr.example.com", resolver).kind is HostKind.NO_ANSWER


def test_servfail(resolver: DnsResolver) -> None:
    assert classify("broken.example.com", resolver).kind is HostKind.DNS_ERROR


def test_timeout(dns_server: DnsServer) -> None:
    resolver = DnsResolver(dns_server.address, timeout=0.2)
    info = classify("slow.example.com", resolver)
    # TIMEOUT (not the public address the server sends after 2 s) proves the delay was not waited for.
    assert info.kind is HostKind.TIMEOUT
    assert all(a.status is DnsStatus.TIMEOUT for a in resolver.log)


def test_single_label_names(resolver: DnsResolver) -> None:
    # Not resolvable outside compose: still an internal name, not "nxdomain".
    info = classify("chatwoot", resolver)
    assert info.kind is HostKind.INTERNAL_NAME and info.single_label and not info.resolved
    # Resolvable (as Docker's embedded DNS would): still internal, with the address recorded.
    evo = classify("evolution_api", resolver)
    assert evo.kind is HostKind.INTERNAL_NAME
    assert [(a.address, a.kind) for a in evo.addresses] == [("172.18.0.5", HostKind.PRIVATE)]


def test_compose_names_given_by_caller(resolver: DnsResolver) -> None:
    info = classify("evo.example.com", resolver, internal_names={"evo.example.com"})
    assert info.kind is HostKind.INTERNAL_NAME


def test_resolver_log_and_loopback_only(dns_server: DnsServer) -> None:
    resolver = DnsResolver(dns_server.address, timeout=0.3)
    before = len(dns_server.queries)
    classify("evo.example.com", resolver)
    classify("nope.example.com", resolver)
    assert resolver.nameserver == dns_server.address
    assert [(a.name, a.rdtype, a.status.value) for a in resolver.log] == [
        ("evo.example.com", "A", "ok"),
        ("evo.example.com", "AAAA", "ok"),
        ("nope.example.com", "A", "nxdomain"),
        ("nope.example.com", "AAAA", "nxdomain"),
    ]
    # every query reached the lab server on 127.0.0.1
    assert len(dns_server.queries) - before == 4
    record = resolver.records()[0]
    assert record["addresses"] == ["203.0.113.10"] and record["ttl"] == 60
    assert record["nameserver"] == dns_server.address


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_nameserver(spec: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(spec) == expected


@pytest.mark.parametrize("spec", ["dns.example.com", "127.0.0.1:99999", "127.0.0.1:x", "[::1"])
def test_parse_nameserver_rejects(spec: str) -> None:
    with pytest.raises(ValueError, match="DNS server"):
        parse_nameserver(spec)
