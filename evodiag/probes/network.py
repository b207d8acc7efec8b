"""URLs and DNS (stage ``functional``, so the Evolution and Chatwoot checks have published what they read):
``network.urls`` lints every URL evodiag knows, ``network.domains`` resolves every host and judges the call
graph (:mod:`evodiag.probes.callgraph`).

Facts read when present (never required, so a run with only some targets configured is not blocked):
``evolution.chatwoot.url`` and ``evolution.chatwoot.webhook_url`` (``evolution.chatwoot.config``),
``chatwoot.inbox.webhook_url`` (``chatwoot.inbox``), ``evolution.webhook.configured_url`` / ``.target`` and
``evolution.webhook.enabled`` (``evolution.webhook.url``), ``evolution.chatwoot.enabled``.
A URL that one of those checks (or ``config.server_url``) already judges is only mentioned in a note here:
one defect, one finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from evodiag.catalog.model import STAGES
from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome, Status
from evodiag.netinfo import DnsResolver, lint_url, mask_url
from evodiag.probes import callgraph
from evodiag.probes.callgraph import CHATWOOT, EVODIAG, EVOLUTION, Edge
from evodiag.probes.configfiles import ConfigSources, s3_url, sources_from_settings
from evodiag.probes.declare import probe
from evodiag.probes.findings import Finding, combine

SETTING_URLS = ("evolution.url", "chatwoot.url", "webhook.url", "openim.url", "s3.endpoint")
_RISKY_CODES = frozenset({"credentials"})  # works, but leaks: warn, not fail
DNS_TIMEOUT_S = 3.0
ATTACHMENTS = "Chatwoot attachments"  # the callee of the FRONTEND_URL edge


@dataclass(frozen=True)
class KnownUrl:
    """A URL evodiag knows, where it read it, and which check (if another) judges it."""

    label: str
    url: str
    source: str
    appends_path: bool = False
    owner: str | None = None


def _sources(ctx: ProbeContext) -> ConfigSources:
    return sources_from_settings(ctx.value("files.env"), ctx.value("files.compose"))


def _fact_urls(ctx: ProbeContext) -> list[KnownUrl]:
    facts = (
        ("evolution.chatwoot.url", "Evolution's Chatwoot url", True, "evolution.chatwoot.config"),
        ("evolution.chatwoot.webhook_url", "Evolution's webhook_url for Chatwoot", True, "evolution.chatwoot.config"),
        ("chatwoot.inbox.webhook_url", "the Chatwoot inbox webhook_url", False, "chatwoot.inbox.webhook"),
        ("evolution.webhook.configured_url", "Evolution's instance webhook", False, "evolution.webhook.url"),
    )
    return [KnownUrl(label, str(ctx.value(key)), f"fact {key}", appends, owner)
            for key, label, appends, owner in facts if ctx.value(key)]


def _env_urls(sources: ConfigSources) -> list[KnownUrl]:
    out: list[KnownUrl] = []
    for scope in sources.evolution:
        for name, appends, owner in (("SERVER_URL", True, "config.server_url"), ("WEBHOOK_GLOBAL_URL", False, None)):
            var = scope.get(name)
            if var is not None and var.value.strip():
                out.append(KnownUrl(name, var.value, var.origin, appends, owner))
        s3 = scope.get("S3_ENDPOINT")
        if s3 is not None and "://" in s3.value:
            out.append(KnownUrl("S3_ENDPOINT", s3.value, s3.origin))
    for scope in sources.chatwoot:
        var = scope.get("FRONTEND_URL")
        if var is not None and var.value.strip():
            out.append(KnownUrl("FRONTEND_URL", var.value, var.origin))
    return out


def known_urls(ctx: ProbeContext, sources: ConfigSources) -> list[KnownUrl]:
    urls = [KnownUrl(key, str(ctx.value(key)), f"setting {key}") for key in SETTING_URLS if ctx.value(key)]
    urls += _env_urls(sources) + _fact_urls(ctx)
    return list(dict.fromkeys(urls))


def owner_judges(ctx: ProbeContext, owner: str | None) -> bool:
    """True when ``owner`` ran (or will run later in this run) and was not skipped or blocked."""
    if owner is None or owner not in ctx.state.catalog.checks or owner in ctx.state.options.skip:
        return False
    result = ctx.result_of(owner)
    if result is not None:
        return result.status not in (Status.SKIP, Status.BLOCKED)
    stage = ctx.state.catalog.checks[owner].stage
    later = STAGES.index(stage) >= STAGES.index(ctx.check.stage)
    return later and (not ctx.state.options.only or owner in ctx.state.options.only)


@probe("network.urls", diagnoses={"broken", "none", "ok", "risky"},
       values={"count", "label", "problem", "source", "url"},
       reads={"chatwoot.inbox.webhook_url", "chatwoot.url", "evolution.chatwoot.url", "evolution.chatwoot.webhook_url",
              "evolution.url", "evolution.webhook.configured_url", "files.compose", "files.env", "openim.url",
              "s3.endpoint", "webhook.url"})
async def urls(ctx: ProbeContext) -> Outcome:
    """Scheme, doubled slashes, trailing slash where a path is appended, ``undefined``, credentials (masked)."""
    known = known_urls(ctx, _sources(ctx))
    if not known:
        return ctx.diagnose("none")
    findings: list[Finding] = []
    notes: list[str] = []
    for item in known:
        for problem in lint_url(item.url, receiver_appends_path=item.appends_path):
            line = f"{item.source}: {item.label}: {problem.message}"
            if owner_judges(ctx, item.owner):
                notes.append(f"{line} (judged by {item.owner})")
                continue
            name = "risky" if problem.code in _RISKY_CODES else "broken"
            findings.append(Finding(name, {"label": item.label, "source": item.source, "problem": problem.message,
                                           "url": mask_url(item.url)}, [line]))
    details = {"urls": [{"label": u.label, "url": mask_url(u.url), "source": u.source, "owner": u.owner}
                        for u in known]}
    return combine(ctx, findings, fallback=Finding("ok", {"count": len(known)}), notes=notes, details=details)


# --------------------------------------------------------------------------------------------- call graph


def _chatwoot_involved(ctx: ProbeContext, sources: ConfigSources) -> bool:
    return bool(ctx.value("evolution.chatwoot.url") or ctx.value("chatwoot.url")
                or any(s.value("CHATWOOT_ENABLED") == "true" for s in sources.evolution))


def _scope_edges(ctx: ProbeContext, sources: ConfigSources, have_callback: bool) -> list[Edge]:
    edges: list[Edge] = []
    instance = ctx.value("evolution.instance") or "<instance>"
    for scope in sources.evolution:
        server = scope.get("SERVER_URL")
        if not have_callback and server is not None and server.value.strip() and _chatwoot_involved(ctx, sources):
            url = f"{server.value.strip().rstrip('/')}/chatwoot/webhook/{instance}"
            edges.append(Edge(CHATWOOT, EVOLUTION, url, f"{server.origin} SERVER_URL"))
        hook = scope.get("WEBHOOK_GLOBAL_URL")
        if scope.value("WEBHOOK_GLOBAL_ENABLED") == "true" and hook is not None and hook.value.strip():
            edges.append(Edge(EVOLUTION, "global webhook receiver", hook.value, f"{hook.origin} WEBHOOK_GLOBAL_URL"))
        s3 = s3_url(scope)
        if s3:
            var = scope.get("S3_ENDPOINT")
            edges.append(Edge(EVOLUTION, "S3", s3, f"{var.origin if var else scope.anchor} S3_ENDPOINT"))
    for scope in sources.chatwoot:
        front = scope.get("FRONTEND_URL")
        if front is not None and front.value.strip():
            edges.append(Edge(EVOLUTION, ATTACHMENTS, front.value, f"{front.origin} FRONTEND_URL"))
    return edges


def collect_edges(ctx: ProbeContext, sources: ConfigSources) -> list[Edge]:
    """Every call evodiag can see, from settings, facts and the given files."""
    edges: list[Edge] = []
    for key, callee in (("evolution.url", EVOLUTION), ("chatwoot.url", CHATWOOT)):
        if ctx.value(key):
            edges.append(Edge(EVODIAG, callee, str(ctx.value(key)), f"setting {key}"))
    chatwoot_on = ctx.value("evolution.chatwoot.enabled") is not False  # absent: the Evolution checks did not run
    if ctx.value("evolution.chatwoot.url") and chatwoot_on:
        edges.append(Edge(EVOLUTION, CHATWOOT, str(ctx.value("evolution.chatwoot.url")),
                          "Evolution's Chatwoot url (fact evolution.chatwoot.url)"))
    callback = next(((key, text) for key, text in (
        ("chatwoot.inbox.webhook_url", "the Chatwoot inbox webhook_url"),
        ("evolution.chatwoot.webhook_url", "Evolution's webhook_url for Chatwoot"),
    ) if ctx.value(key)), None)
    if callback:
        edges.append(Edge(CHATWOOT, EVOLUTION, str(ctx.value(callback[0])), f"{callback[1]} (fact {callback[0]})"))
    hook_key = next((k for k in ("evolution.webhook.configured_url", "evolution.webhook.target") if ctx.value(k)), None)
    if hook_key and ctx.value("evolution.webhook.enabled") is not False:
        edges.append(Edge(EVOLUTION, "webhook receiver", str(ctx.value(hook_key)),
                          f"Evolution's instance webhook (fact {hook_key})"))
    edges += _scope_edges(ctx, sources, have_callback=callback is not None)
    return list(dict.fromkeys(edges))


def _evolution_internal(sources: ConfigSources) -> str:
    """An example internal URL for Evolution, from the compose file when there is one."""
    for scope in sources.evolution:
        if scope.service is not None:
            port = scope.service.ports[0].target if scope.service.ports else "8080"
            return f"http://{scope.service.name}:{port}"
    return "http://<evolution-service>:8080"


@probe("network.domains",
       diagnoses={"dns_timeout", "mixed_back_internal", "mixed_back_public", "none", "ok", "public_private",
                  "server_loopback", "server_loopback_host", "unresolvable"},
       values={"addresses", "callee", "caller", "containers", "count", "edge", "edge_a", "edge_b",
               "evolution_internal", "host", "kind", "resolver", "source", "style_a", "style_b", "summary", "url",
               "url_a", "url_b"},
       reads={"chatwoot.inbox.webhook_url", "chatwoot.url", "dns.server", "evolution.chatwoot.enabled",
              "evolution.chatwoot.url", "evolution.chatwoot.webhook_url", "evolution.instance", "evolution.url",
              "evolution.webhook.configured_url", "evolution.webhook.enabled", "evolution.webhook.target",
              "files.compose", "files.env"})
async def domains(ctx: ProbeContext) -> Outcome:
    """Resolve and classify every host of the call graph; fail on the edges and mixes that cannot work."""
    sources = _sources(ctx)
    edges = collect_edges(ctx, sources)
    if not edges:
        return ctx.diagnose("none")
    try:
        resolver = DnsResolver(ctx.value("dns.server"), timeout=min(ctx.state.options.timeout, DNS_TIMEOUT_S))
    except ValueError as exc:
        return ctx.outcome(Status.ERROR, f"dns.server: {exc}", error_kind="config")
    try:
        hosts = await callgraph.classify_all(edges, resolver, sources.internal_names())
    finally:
        ctx.state.dns_answers.extend(resolver.records())
    findings: list[Finding] = []
    notes: list[str] = []
    containers = callgraph.container_evidence([c.path for c in sources.compose_files], edges, hosts)
    for edge in edges:
        info = hosts.get(edge.host)
        if info is None:
            notes.append(f"{edge.source}: {edge.name} {mask_url(edge.url)} has no host to resolve "
                         "(a URL defect, reported by the URL checks)")
            continue
        found, said = callgraph.judge_edge(edge, info, resolver.nameserver, containers)
        if found and edge.callee == ATTACHMENTS and owner_judges(ctx, "chatwoot.media"):
            # chatwoot.media judges the host attachments really use (data_url, else this FRONTEND_URL)
            notes.append(f"{edge.source}: {edge.name} {mask_url(edge.url)}: judged by chatwoot.media")
            continue
        findings += found
        notes += said
    forward = [e for e in edges if e.caller == EVOLUTION and e.callee == CHATWOOT]
    back = [e for e in edges if e.caller == CHATWOOT and e.callee == EVOLUTION]
    findings += callgraph.judge_pair(forward, back, hosts, _evolution_internal(sources))
    summary = "; ".join(f"{e.name} {e.host} ({callgraph.style(hosts[e.host])})" for e in edges if e.host in hosts)
    details = {"resolver": resolver.nameserver, "edges": callgraph.edge_details(edges, hosts),
               "hosts": {host: info.to_dict() for host, info in hosts.items()}, "dns": resolver.records()}
    fallback = Finding("ok", {"count": len(edges), "summary": summary})
    return combine(ctx, findings, fallback=fallback, notes=notes, details=details)
