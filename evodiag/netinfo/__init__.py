"""Host and URL classification: who can reach a configured URL, and what is wrong with it as written.

* :func:`classify_host` (async) / :func:`classify_host_sync` → :class:`HostInfo` (:class:`HostKind`)
* :class:`DnsResolver` (dnspython, ``--dns-server HOST[:PORT]``, answers logged) → :class:`Resolution`
* :func:`lint_url` → list of :class:`UrlProblem`; :func:`mask_url`
"""

from evodiag.netinfo.classify import (
    DOCKER_BRIDGE_NOTE,
    DOCUMENTATION_NETWORKS,
    AddressInfo,
    HostInfo,
    HostKind,
    classify_address,
    classify_host,
    classify_host_sync,
)
from evodiag.netinfo.resolver import DnsAnswer, DnsResolver, DnsStatus, Resolution, parse_nameserver
from evodiag.netinfo.urls import UrlProblem, lint_url, mask_url

__all__ = [
    "DOCKER_BRIDGE_NOTE",
    "DOCUMENTATION_NETWORKS",
    "AddressInfo",
    "DnsAnswer",
    "DnsResolver",
    "DnsStatus",
    "HostInfo",
    "HostKind",
    "Resolution",
    "UrlProblem",
    "classify_address",
    "classify_host",
    "classify_host_sync",
    "lint_url",
    "mask_url",
    "parse_nameserver",
]
