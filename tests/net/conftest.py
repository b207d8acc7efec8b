"""Fixtures for the net tests: a real loopback DNS server and a resolver pinned to it.

No test here may reach a resolver other than the lab server on 127.0.0.1: the autouse guard makes reading the
system resolver configuration fail loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evodiag.lab.dns import DnsServer
from evodiag.netinfo import DnsResolver

FIXTURES = Path(__file__).parent / "fixtures"

ZONES = {
    "evo.example.com": ["203.0.113.10", "2001:db8::10"],
    "chatwoot.example.com": ["198.51.100.20"],
    "chatwoot.internal.example": ["10.0.0.5"],
    "looks-public.example.com": ["192.168.1.50"],
    "v6only.example.com": {"aaaa": ["2001:db8::77"]},
    "noaddr.example.com": [],
    "slow.example.com": {"delay": 2.0, "a": ["203.0.113.11"]},
    "broken.example.com": {"rcode": "SERVFAIL"},
    "loop.example.com": ["127.0.0.1"],
    "bridge.example.com": ["172.18.0.4"],
    "mixed.example.com": ["203.0.113.12", "10.9.9.9"],
    "evolution_api": ["172.18.0.5"],
}


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    with DnsServer(ZONES) as server:
        yield server


@pytest.fixture
def resolver(dns_server: DnsServer) -> DnsResolver:
    return DnsResolver(dns_server.address, timeout=0.3)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
