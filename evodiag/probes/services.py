"""``network.services`` (stage ``api``): from where evodiag runs, can Evolution's database, Redis and RabbitMQ be
reached? A TCP connect to each host the given .env / compose files name, plus a Redis ``PING`` (no login, no
write). The hosts come from the same variables the config checks judge (:mod:`evodiag.probes.configservices`).

What evodiag cannot judge from its own machine is a note, never a failure: a compose service name that only
resolves on the Docker network, and ``localhost`` in a containerised Evolution's environment (config.database /
config.redis / config.rabbitmq report that one).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome, Status
from evodiag.netinfo import DnsResolver, HostInfo, HostKind, classify_host
from evodiag.netinfo.tcpprobe import Probe, redis_ping, tcp_connect
from evodiag.probes.configfiles import ConfigSources, sources_from_settings
from evodiag.probes.configservices import Endpoint, endpoint, in_container, is_local_host
from evodiag.probes.declare import probe
from evodiag.probes.findings import Finding, combine

MAX_TIMEOUT_S = 5.0  # a backing service on the same network answers a connect in milliseconds
_LABELS = {"database": "database", "redis": "Redis", "rabbitmq": "RabbitMQ"}


@dataclass(frozen=True)
class Target:
    endpoint: Endpoint
    container: bool  # Evolution runs in a container: localhost there is not this machine

    @property
    def label(self) -> str:
        return _LABELS[self.endpoint.service]


def _targets(sources: ConfigSources) -> list[Target]:
    found: dict[tuple[str, str, int], Target] = {}
    for scope in sources.evolution:
        for service, var_name, switch in (("database", "DATABASE_CONNECTION_URI", None),
                                          ("redis", "CACHE_REDIS_URI", "CACHE_REDIS_ENABLED"),
                                          ("rabbitmq", "RABBITMQ_URI", "RABBITMQ_ENABLED")):
            if switch is not None and scope.value(switch) != "true":
                continue  # Evolution never connects to a service it has switched off
            ep = endpoint(service, scope.get(var_name))
            if ep is not None and ep.port:
                found.setdefault((service, ep.host, ep.port), Target(ep, in_container(scope, sources)))
    return list(found.values())


def _tls(ctx: ProbeContext, ep: Endpoint) -> ssl.SSLContext | None:
    if ep.scheme not in ("rediss", "amqps"):
        return None
    context = ssl.create_default_context()
    if ctx.state.options.insecure:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def _judge_redis(target: Target, probe: Probe) -> Finding | None:
    ep, reply = target.endpoint, probe.reply or ""
    values = {"origin": ep.var.origin, "url": ep.shown, "address": probe.address, "reply": reply[:120]}
    if reply == "+PONG":
        return None
    if reply.startswith("-NOAUTH") and not ep.has_password:
        return Finding("redis_auth", values, [f"{ep.var.origin}: {ep.var.name} has no password; "
                                              f"Redis at {probe.address} answered PING with {reply}"])
    if reply.startswith("-NOAUTH"):
        return None  # it wants the password the URI carries; evodiag does not log in
    if probe.reply is None:
        return Finding("not_redis", {**values, "reply": probe.error},
                       [f"{ep.var.origin}: {probe.address} accepted the connection but {probe.error}"])
    if reply.startswith("-"):
        return Finding("redis_error", values, [f"{ep.var.origin}: Redis at {probe.address} answered PING with "
                                               f"{reply[:120]}"])
    return Finding("not_redis", values, [f"{ep.var.origin}: {probe.address} answered PING with {reply[:60]!r}, "
                                         "not a Redis reply"])


async def _check(ctx: ProbeContext, target: Target, info: HostInfo, timeout: float
                 ) -> tuple[Finding | None, str, dict[str, object]]:
    """One target: (finding or None, a note, details)."""
    ep = target.endpoint
    detail: dict[str, object] = {"service": ep.service, "variable": ep.var.name, "source": ep.var.origin,
                                 "url": ep.shown, "host": info.to_dict()}
    prefix = f"{ep.var.origin}: {target.label} {ep.address}"
    if is_local_host(ep.host) and target.container:
        return None, f"{prefix}: {ep.host} inside Evolution's container is the container itself, not this " \
                     "machine; not tested from here (config checks judge it)", detail
    if info.kind is HostKind.INVALID:
        return None, f"{prefix}: not a valid host name (config checks judge it)", detail
    addresses = [a.address for a in info.addresses] or (["127.0.0.1"] if info.kind is HostKind.LOCALHOST else [])
    if not addresses:
        if info.kind is HostKind.INTERNAL_NAME:
            return None, f"{prefix}: {ep.host} only resolves inside the Docker network; not tested from here", \
                detail
        return Finding("unresolvable", {"origin": ep.var.origin, "label": target.label, "host": ep.host,
                                        "kind": info.kind.value, "var": ep.var.name},
                       [f"{prefix}: {ep.host} does not resolve ({info.kind.value})"]), "", detail
    ip = sorted(addresses, key=lambda a: ":" in a)[0]  # IPv4 first: what most containers use
    tls, name = _tls(ctx, ep), ep.host
    if ep.service == "redis":
        probe = await redis_ping(ip, ep.port, timeout=timeout, tls=tls, server_hostname=name)
    else:
        probe = await tcp_connect(ip, ep.port, timeout=timeout, tls=tls, server_hostname=name)
    detail["probe"] = {"address": probe.address, "ok": probe.ok, "error_kind": probe.error_kind,
                       "error": probe.error, "reply": probe.reply, "elapsed_ms": probe.elapsed_ms}
    values = {"origin": ep.var.origin, "label": target.label, "address": probe.address, "error": probe.error,
              "var": ep.var.name, "url": ep.shown}
    if not probe.ok:
        name = "tls_failed" if probe.error_kind == "tls" else "unreachable"
        return Finding(name, values, [f"{prefix}: {probe.error} after {probe.elapsed_ms} ms"]), "", detail
    finding = _judge_redis(target, probe) if ep.service == "redis" else None
    said = f"{target.label} {probe.address} answered in {probe.elapsed_ms} ms"
    if ep.service == "redis" and probe.reply:
        said += f" ({probe.reply[:40]})"
    return finding, said, detail


@probe("network.services",
       diagnoses={"none", "not_redis", "nothing_testable", "ok", "redis_auth", "redis_error", "tls_failed",
                  "unreachable", "unresolvable"},
       values={"address", "count", "error", "host", "kind", "label", "origin", "reply", "summary", "url", "var"},
       reads={"dns.server", "files.compose", "files.env"})
async def reach(ctx: ProbeContext) -> Outcome:
    """TCP connect to every database / Redis / RabbitMQ host in Evolution's environment, and Redis PING."""
    sources = sources_from_settings(ctx.value("files.env"), ctx.value("files.compose"))
    targets = _targets(sources)
    if not targets:
        return ctx.diagnose("none")
    timeout = min(ctx.timeout, MAX_TIMEOUT_S)
    try:
        resolver = DnsResolver(ctx.value("dns.server"), timeout=timeout)
    except ValueError as exc:
        return ctx.outcome(Status.ERROR, f"dns.server: {exc}", error_kind="config")
    internal = sources.internal_names()
    try:
        infos = await asyncio.gather(*(classify_host(t.endpoint.host, resolver, internal_names=internal)
                                       for t in targets))
        checked = await asyncio.gather(*(_check(ctx, t, i, timeout) for t, i in zip(targets, infos, strict=True)))
    finally:
        ctx.state.dns_answers.extend(resolver.records())
    findings = [f for f, _, _ in checked if f is not None]
    reached = [said for f, said, _ in checked if f is None and " answered " in said]
    notes = [said for f, said, _ in checked if f is None and " answered " not in said and said]
    details = {"targets": [d for _, _, d in checked]}
    if not findings and not reached:
        outcome = ctx.diagnose("nothing_testable", count=len(targets))
        outcome.notes, outcome.details = notes, details
        return outcome
    fallback = Finding("ok", {"count": len(reached), "summary": "; ".join(reached)})
    notes = notes + (reached if findings else [])  # what did answer stays visible next to what did not
    return combine(ctx, findings, fallback=fallback, notes=notes, details=details)

