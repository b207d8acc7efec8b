"""The lab DNS server itself: UDP and TCP answers, zone forms, edits, loopback-only binding."""

from __future__ import annotations

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

from evodiag.lab.dns import DnsServer, ZoneEntry


def test_udp_and_tcp_answers() -> None:
    with DnsServer({"evo.example.com": ["203.0.113.10", "2001:db8::10"]}) as server:
        q = dns.message.make_query("EVO.example.com.", "A")
        udp = dns.query.udp(q, server.host, port=server.port, timeout=2)
        tcp = dns.query.tcp(dns.message.make_query("evo.example.com", "AAAA"), server.host, port=server.port, timeout=2)
        nx = dns.query.udp(dns.message.make_query("other.example.com", "A"), server.host, port=server.port, timeout=2)
    assert [r.to_text() for r in udp.answer[0]] == ["203.0.113.10"]
    assert [r.to_text() for r in tcp.answer[0]] == ["2001:db8::10"]
    assert nx.rcode() == dns.rcode.NXDOMAIN
    assert [(q.name, q.rdtype, q.transport) for q in server.queries] == [
        ("evo.example.com", "A", "udp"),
        ("evo.example.com", "AAAA", "tcp"),
        ("other.example.com", "A", "udp"),
    ]


def test_zone_edits_apply_immediately() -> None:
    with DnsServer() as server:
        server.set("late.example.com", "203.0.113.99")
        r = dns.query.udp(dns.message.make_query("late.example.com", "A"), server.host, port=server.port, timeout=2)
        assert [x.to_text() for x in r.answer[0]] == ["203.0.113.99"]
        server.remove("late.example.com")
        r = dns.query.udp(dns.message.make_query("late.example.com", "A"), server.host, port=server.port, timeout=2)
        assert r.rcode() == dns.rcode.NXDOMAIN


def test_zone_specs() -> None:
    e = ZoneEntry.from_spec({"a": ["203.0.113.1"], "aaaa": ["2001:db8::1"], "delay": 0.5, "ttl": 5})
    assert (e.a, e.aaaa, e.delay, e.ttl) == (["203.0.113.1"], ["2001:db8::1"], 0.5, 5)
    with pytest.raises(ValueError):
        ZoneEntry.from_spec({"a": ["2001:db8::1"]})
    with pytest.raises(ValueError):
        ZoneEntry.from_spec({"bogus": 1})
    with pytest.raises(ValueError):
        ZoneEntry.from_spec(["not-an-ip"])


def test_only_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        DnsServer(host="0.0.0.0")


def test_stop_with_pending_delayed_answer() -> None:
    server = DnsServer({"slow.example.com": {"delay": 5, "a": ["203.0.113.1"]}}).start()
    with pytest.raises(dns.exception.Timeout):
        dns.query.udp(dns.message.make_query("slow.example.com", "A"), server.host, port=server.port, timeout=0.2)
    server.stop()  # must not hang on the pending 5 s answer
    server.stop()  # idempotent
